// Kernel command line: one example per key, the kernel's tokenising rules,
// the hostile-input limits, and property tests (fast-check).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type CmdlineParams, formatCmdline, parseCmdline } from '../../common/cmdline.ts'
import { ImgswarmError, isImgswarmError } from '../../common/errors.ts'
import { RUNS } from '../support/fuzz.ts'

const RAW = Buffer.alloc(32, 7).toString('base64')

function code(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return isImgswarmError(e) ? e.code : `not coded: ${String(e)}`
  }
  return undefined
}

describe('parseCmdline: each key', () => {
  it('reads every documented parameter from a realistic line', () => {
    const p = parseCmdline(
      `BOOT_IMAGE=/vmlinuz root=/dev/ram0 quiet imgswarm.server=http://10.0.0.1:8470/ imgswarm.image=base@3 ` +
        `imgswarm.hostname=Node001.lab imgswarm.post=poweroff imgswarm.monitor=https://mon.lab/x imgswarm.debug ` +
        `imgswarm.pubkey=${RAW} imgswarm.ip=10.0.0.11/24,10.0.0.1,10.0.0.2 imgswarm.disk=/dev/nvme0n1 ` +
        `imgswarm.mac=52-54-00-AB-CD-EF console=ttyS0\n`,
    )
    expect(p).toEqual({
      server: 'http://10.0.0.1:8470',
      image: 'base@3',
      hostname: 'node001.lab',
      post: 'poweroff',
      monitor: 'https://mon.lab/x',
      debug: true,
      pubkey: { kind: 'raw', base64: RAW },
      ip: { mode: 'static', address: '10.0.0.11', prefix: 24, gateway: '10.0.0.1', dns: ['10.0.0.2'] },
      disk: '/dev/nvme0n1',
      mac: '52:54:00:ab:cd:ef',
      warnings: [],
    })
  })

  it('accepts the other forms', () => {
    expect(parseCmdline('imgswarm.image=base').image).toBe('base')
    expect(parseCmdline('imgswarm.debug=0').debug).toBe(false)
    expect(parseCmdline('imgswarm.debug=1').debug).toBe(true)
    expect(parseCmdline('imgswarm.pubkey=/etc/imgswarm/server.pub').pubkey).toEqual({
      kind: 'file',
      path: '/etc/imgswarm/server.pub',
    })
    expect(parseCmdline('imgswarm.ip=dhcp').ip).toEqual({ mode: 'dhcp' })
    expect(parseCmdline('imgswarm.ip=fd00::5/64,fd00::1').ip).toEqual({
      mode: 'static',
      address: 'fd00::5',
      prefix: 64,
      gateway: 'fd00::1',
      dns: [],
    })
    expect(parseCmdline('imgswarm.mac=525400abcdef').mac).toBe('52:54:00:ab:cd:ef')
    expect(parseCmdline('imgswarm.disk=/dev/disk/by-path/pci-0000:00:1f.2-ata-1').disk).toBe(
      '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
    )
    for (const post of ['reboot', 'poweroff', 'kexec', 'shell', 'none']) {
      expect(parseCmdline(`imgswarm.post=${post}`).post).toBe(post)
    }
  })

  it.each([
    ['imgswarm.server=ftp://x/'],
    ['imgswarm.server=http://user:pw@x/'],
    ['imgswarm.server=http://x/?a=1'],
    ['imgswarm.server'],
    ['imgswarm.server='],
    ['imgswarm.image=../etc'],
    ['imgswarm.image=a@'],
    ['imgswarm.hostname=-bad'],
    ['imgswarm.hostname=a_b'],
    ['imgswarm.post=halt'],
    ['imgswarm.monitor=javascript:alert(1)'],
    ['imgswarm.debug=yes'],
    ['imgswarm.pubkey=relative/key.pem'],
    ['imgswarm.pubkey=/etc/../key.pem'],
    ['imgswarm.pubkey=AAAA='],
    ['imgswarm.ip=10.0.0.1'],
    ['imgswarm.ip=10.0.0.1/33,10.0.0.254'],
    ['imgswarm.ip=10.0.0.1/24,fd00::1'],
    ['imgswarm.ip=10.0.0.1/24,10.0.0.254,notadns'],
    ['imgswarm.disk=/etc/passwd'],
    ['imgswarm.disk=/dev/../etc/passwd'],
    ['imgswarm.mac=52:54:00:ab:cd'],
    ['imgswarm.mac=52:54-00:ab:cd:ef'],
  ])('refuses %s with IMGSWARM_ERR_CMDLINE', (line) => {
    expect(code(() => parseCmdline(line))).toBe('IMGSWARM_ERR_CMDLINE')
  })
})

describe('parseCmdline: tokenising and limits', () => {
  it('groups double-quoted values and drops the quotes, like the kernel', () => {
    expect(parseCmdline('imgswarm.pubkey="/run/my keys/server.pub" quiet').pubkey).toEqual({
      kind: 'file',
      path: '/run/my keys/server.pub',
    })
    expect(parseCmdline('"imgswarm.post=shell"').post).toBe('shell')
  })

  it('keeps only imgswarm.* keys and warns about unknown ones', () => {
    const p = parseCmdline('server=http://evil/ imgswarm.serverx=1 imgswarm.Server=http://a/ ip=dhcp')
    expect(p.server).toBeUndefined()
    expect(p.ip).toBeUndefined()
    expect(p.warnings).toHaveLength(2)
    expect(p.warnings[0]).toContain('imgswarm.serverx')
  })

  it('lets the last of repeated keys win, with a warning', () => {
    const p = parseCmdline('imgswarm.post=reboot imgswarm.post=shell')
    expect(p.post).toBe('shell')
    expect(p.warnings.join()).toContain('more than once')
  })

  it('ignores what follows -- (init arguments)', () => {
    expect(parseCmdline('quiet -- imgswarm.post=shell').post).toBeUndefined()
  })

  it('caps the line and each value, and refuses control characters', () => {
    expect(code(() => parseCmdline(`a=${'x'.repeat(4100)}`))).toBe('IMGSWARM_ERR_CMDLINE')
    expect(code(() => parseCmdline(`imgswarm.monitor=http://x/${'a'.repeat(1100)}`))).toBe('IMGSWARM_ERR_CMDLINE')
    expect(code(() => parseCmdline('imgswarm.hostname="a\u0007b"'))).toBe('IMGSWARM_ERR_CMDLINE')
    expect(code(() => parseCmdline('imgswarm.x\u001b[2J=1'))).toBe('IMGSWARM_ERR_CMDLINE')
    // Tabs and newlines separate, as in the kernel.
    expect(parseCmdline('quiet\timgswarm.post=none\n').post).toBe('none')
  })
})

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/)
const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,10}$/)
const byte = fc.integer({ min: 0, max: 255 })
const ipv4 = fc.tuple(byte, byte, byte, byte).map((b) => b.join('.'))
const url = fc
  .tuple(fc.constantFrom('http', 'https'), label, fc.integer({ min: 1, max: 65535 }), fc.array(label, { maxLength: 3 }))
  .map(([s, h, p, path]) => new URL(`${s}://${h}.lab:${p}/${path.join('/')}`).href.replace(/\/+$/, ''))

const validParams: fc.Arbitrary<CmdlineParams> = fc
  .record(
    {
      server: url,
      image: fc.tuple(name, fc.option(name, { nil: undefined })).map(([n, v]) => (v ? `${n}@${v}` : n)),
      hostname: fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
      post: fc.constantFrom('reboot', 'poweroff', 'kexec', 'shell', 'none' as const),
      monitor: url,
      debug: fc.boolean(),
      pubkey: fc.oneof(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({
          kind: 'raw' as const,
          base64: Buffer.from(b).toString('base64'),
        })),
        fc.array(fc.stringMatching(/^[a-z0-9 ._-]{1,8}$/), { minLength: 1, maxLength: 3 }).map((p) => ({
          kind: 'file' as const,
          path: `/${p.map((s) => (s === '.' || s === '..' ? 'x' : s)).join('/')}.pem`,
        })),
      ),
      ip: fc.oneof(
        fc.constant({ mode: 'dhcp' as const }),
        fc
          .tuple(ipv4, fc.integer({ min: 0, max: 32 }), ipv4, fc.array(ipv4, { maxLength: 3 }))
          .map(([address, prefix, gateway, dns]) => ({ mode: 'static' as const, address, prefix, gateway, dns })),
      ),
      disk: fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/).map((d) => `/dev/${d}`),
      mac: fc
        .array(byte, { minLength: 6, maxLength: 6 })
        .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':')),
    },
    { requiredKeys: [] },
  )
  .map((p) => ({ ...p, warnings: [] }))

describe('parseCmdline: properties', () => {
  it('never throws anything but an ImgswarmError, whatever the line', () => {
    const noise = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(
          fc.tuple(
            fc.constantFrom('imgswarm.', 'imgswarm.server=', 'imgswarm.ip=', 'imgswarm.pubkey=', '"', ''),
            fc.string(),
          ),
        )
        .map((parts) => parts.map(([a, b]) => a + b).join(' ')),
    )
    fc.assert(
      fc.property(noise, (line) => {
        try {
          const p = parseCmdline(line)
          expect(Array.isArray(p.warnings)).toBe(true)
        } catch (e) {
          expect(e).toBeInstanceOf(ImgswarmError)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips valid parameters through formatCmdline', () => {
    fc.assert(
      fc.property(validParams, fc.string({ unit: fc.constantFrom('a', 'b', '=', '.') }), (p, other) => {
        const line = `root=/dev/ram0 ${other.startsWith('imgswarm') ? '' : other} ${formatCmdline(p)} quiet`
        expect(parseCmdline(line)).toEqual(p)
      }),
      { numRuns: RUNS },
    )
  })
})
