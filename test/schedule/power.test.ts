// The power drivers on real parts where they can run here:
// - Wake-on-LAN: a real broadcast out of a veth in one network namespace,
//   received by a UDP socket in another; the bytes are checked against the
//   magic packet built independently here (6 x 0xFF, then the MAC 16 times).
// - ssh: a real sshd in a network namespace (test/capture's helper), whose
//   session PATH leads to a recording `systemctl` (a real one would reboot).
// - IPMI and AMT: there is no BMC and no AMT machine here, so `ipmitool` and
//   `amttool` are FAKES on PATH that record their arguments: these tests
//   check the command lines the drivers run, not a BMC's behaviour.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PowerConfig } from '../../common/config-schedule.ts'
import { createPower, magicPacket, type PowerTarget, parsePowerHosts } from '../../seeder/power/index.ts'
import { type Sshd, startSshd } from '../capture/sshd.ts'
import { tempDir } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const NODE = process.execPath
const isRoot = process.getuid?.() === 0
const canNetns = isRoot && haveTool('ip')

const config = (p: Partial<PowerConfig> = {}): PowerConfig => ({
  driver: 'wol',
  file: undefined,
  wol: { port: 9, broadcast: undefined, interface: undefined },
  ipmi: { user: 'admin', passwordFile: undefined, bmc: '{host}-bmc', interface: 'lanplus' },
  ssh: { user: 'root', identity: undefined, port: 22, knownHosts: undefined },
  amt: { passwordFile: undefined, host: '{host}' },
  timeoutSec: 20,
  ...p,
})

const node = (over: Partial<PowerTarget> = {}): PowerTarget => ({
  id: 'node001',
  hostname: 'node001',
  mac: '52:54:00:12:34:56',
  ip: '10.0.0.11',
  ...over,
})

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
}

describe('the magic packet', () => {
  it('is 6 x 0xFF and the MAC 16 times, whatever the separators and case', () => {
    const mac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]
    const expected = Buffer.from([...Array(6).fill(0xff), ...Array.from({ length: 16 }, () => mac).flat()])
    expect(magicPacket('52:54:00:AB:CD:EF')).toEqual(expected)
    expect(magicPacket('52-54-00-ab-cd-ef')).toEqual(expected)
    expect(expected.length).toBe(102)
  })

  it('refuses what is not a MAC with a coded error', () => {
    for (const bad of ['52:54:00:ab:cd', 'zz:54:00:ab:cd:ef', '', '52:54:00:ab:cd:ef:01', '../etc'])
      expect(() => magicPacket(bad)).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_POWER' }))
  })

  it('Wake-on-LAN cannot power off: a coded error says which drivers can', async () => {
    const p = createPower({ config: config() })
    await expect(p.run('off', node())).rejects.toMatchObject({ code: 'IMGSWARM_ERR_POWER' })
    await expect(p.run('on', node({ mac: null }))).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_POWER',
      message: expect.stringContaining('no MAC'),
    })
  })
})

describe.skipIf(!canNetns)('Wake-on-LAN between two network namespaces', () => {
  const tag = randomBytes(3).toString('hex')
  const tx = `iswwol-${tag}-a`
  const rx = `iswwol-${tag}-b`
  const net = `10.232.${Number.parseInt(tag, 16) % 250}`
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', tx])
    spawnSync('ip', ['netns', 'del', rx])
  })

  it('serve.power.wol.interface sends a broadcast out of that interface; the receiver gets the exact bytes', async () => {
    sh('ip', ['netns', 'add', tx])
    sh('ip', ['netns', 'add', rx])
    sh('ip', ['-n', tx, 'link', 'add', 'wol0', 'type', 'veth', 'peer', 'name', 'wol1', 'netns', rx])
    sh('ip', ['-n', tx, 'addr', 'add', `${net}.1/24`, 'dev', 'wol0'])
    sh('ip', ['-n', rx, 'addr', 'add', `${net}.2/24`, 'dev', 'wol1'])
    sh('ip', ['-n', tx, 'link', 'set', 'wol0', 'up'])
    sh('ip', ['-n', rx, 'link', 'set', 'wol1', 'up'])
    const port = 40009
    // The receiver: a plain UDP socket on the port, in the other namespace; prints the first datagram.
    const recv = spawn(
      'ip',
      [
        'netns',
        'exec',
        rx,
        NODE,
        '-e',
        `const s=require('node:dgram').createSocket('udp4');s.on('message',(m,r)=>{console.log(JSON.stringify({hex:m.toString('hex'),from:r.address}));process.exit(0)});s.bind(${port},'0.0.0.0',()=>console.log('ready'));setTimeout(()=>process.exit(3),20000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    const ready = new Promise<void>((resolve) =>
      recv.stdout.on('data', (d) => {
        out += String(d)
        if (out.includes('ready')) resolve()
      }),
    )
    const exited = new Promise<number>((resolve) => recv.on('exit', (c) => resolve(c ?? -1)))
    await ready
    // The sender: the driver itself, run from source inside the first namespace, so that
    // os.networkInterfaces() sees wol0 and nothing else.
    const script = `import { createPower } from ${JSON.stringify(join(ROOT, 'seeder/power/index.ts'))}
const p = createPower({ config: ${JSON.stringify(config({ wol: { port, broadcast: undefined, interface: 'wol0' } }))} })
console.log(JSON.stringify(await p.run('pxe', ${JSON.stringify(node({ mac: '52:54:00:AB:CD:EF' }))})))`
    const send = spawnSync('ip', ['netns', 'exec', tx, NODE, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(send.stderr).toBe('')
    expect(JSON.parse(send.stdout)).toEqual({
      node: 'node001',
      driver: 'wol',
      op: 'pxe',
      done: [`magic packet to ${net}.255:${port}`],
    })
    expect(await exited).toBe(0)
    const got = JSON.parse(out.split('\n').find((l) => l.startsWith('{')) as string) as { hex: string; from: string }
    expect(got.from).toBe(`${net}.1`)
    expect(got.hex).toBe(`${'ff'.repeat(6)}${'525400abcdef'.repeat(16)}`)
  })

  it('an interface that does not exist is a coded error naming the ones there are', async () => {
    const p = createPower({ config: config({ wol: { port: 9, broadcast: undefined, interface: 'nosuch0' } }) })
    await expect(p.run('on', node())).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_POWER',
      message: expect.stringContaining('no interface nosuch0'),
    })
  })
})

/** A fake tool that appends its arguments (one per line, then a blank line) and its stdin/env to LOG. */
async function fakeTool(dir: string, name: string, body = ''): Promise<string> {
  const log = join(dir, `${name}.log`)
  const file = join(dir, name)
  await writeFile(
    file,
    `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a" >> ${log}; done
echo >> ${log}
${body}
`,
  )
  await chmod(file, 0o755)
  return log
}

const calls = async (log: string) =>
  (await readFile(log, 'utf8'))
    .split('\n\n')
    .filter((c) => c !== '')
    .map((c) => c.split('\n').filter((l) => l !== ''))

describe('IPMI and AMT command lines (fake ipmitool and amttool on PATH: no BMC here)', () => {
  let dir: string
  const savedPath = process.env.PATH
  // A fresh directory per test (tempDir removes it after each one).
  beforeEach(async () => {
    dir = await tempDir('imgswarm-power-')
    await mkdir(join(dir, 'bin'))
    await writeFile(join(dir, 'bmc.pw'), 'secret\n', { mode: 0o600 })
    process.env.PATH = `${join(dir, 'bin')}:${savedPath}`
  })
  afterEach(() => {
    process.env.PATH = savedPath
  })

  it('pxe: boot device pxe, then power status, then on for a node that is off; the password stays in a file', async () => {
    const log = await fakeTool(
      join(dir, 'bin'),
      'ipmitool',
      `case "$*" in *"power status"*) echo "Chassis Power is off";; esac`,
    )
    const pw = join(dir, 'bmc.pw')
    const file = join(dir, 'power.toml')
    await writeFile(
      file,
      `[[host]]\nhosts = "node[001-004]"\ndriver = "ipmi"\nbmc = "{host}.bmc.example"\nuser = "ops"\npassword_file = "${pw}"\n`,
    )
    const p = createPower({ config: config({ file }) })
    expect(p.driverFor(node())).toBe('ipmi')
    expect(p.driverFor(node({ id: 'node009', hostname: 'node009' }))).toBe('wol')
    const r = await p.run('pxe', node({ id: 'node003', hostname: 'node003' }))
    expect(r).toMatchObject({
      driver: 'ipmi',
      done: ['chassis bootdev pxe', 'chassis power status', 'chassis power on'],
    })
    const base = ['-I', 'lanplus', '-H', 'node003.bmc.example', '-U', 'ops', '-f', pw]
    expect(await calls(log)).toEqual([
      [...base, 'chassis', 'bootdev', 'pxe'],
      [...base, 'chassis', 'power', 'status'],
      [...base, 'chassis', 'power', 'on'],
    ])
    expect(await readFile(log, 'utf8')).not.toContain('secret')
  })

  it('an edited power file is used on the next call, without a restart; a broken edit fails with its error until fixed', async () => {
    const file = join(dir, 'power.toml')
    await writeFile(file, `[[host]]\nhosts = "node[001-004]"\ndriver = "none"\n`)
    const p = createPower({ config: config({ file }) })
    expect(p.driverFor(node())).toBe('none')
    // A replacement by rename, as editors do: a new inode even if size and mtime matched.
    await writeFile(`${file}.new`, `[[host]]\nhosts = "node[001-004]"\ndriver = "ssh"\n`)
    await rename(`${file}.new`, file)
    expect(p.driverFor(node())).toBe('ssh')
    await writeFile(file, `[[host]]\nhosts = "node[001-004]"\ndriverr = "ssh"\n`)
    expect(() => p.driverFor(node())).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_POWER_CONFIG' }))
    await writeFile(file, `[[host]]\nhosts = "node[001-004]"\ndriver = "ipmi"\n`)
    expect(p.driverFor(node())).toBe('ipmi')
    await rm(file)
    expect(p.driverFor(node())).toBe('wol')
  })

  it('a running node is power-cycled; a failing ipmitool is IMGSWARM_ERR_POWER with its message', async () => {
    const pw = join(dir, 'bmc.pw')
    const on = await fakeTool(
      join(dir, 'bin'),
      'ipmitool',
      `case "$*" in *"power status"*) echo "Chassis Power is on";; esac`,
    )
    await writeFile(on, '')
    const p = createPower({ config: config({ driver: 'ipmi', ipmi: { ...config().ipmi, passwordFile: pw } }) })
    expect((await p.run('pxe', node())).done.at(-1)).toBe('chassis power cycle')
    expect((await calls(on)).at(-1)).toEqual([
      '-I',
      'lanplus',
      '-H',
      'node001-bmc',
      '-U',
      'admin',
      '-f',
      pw,
      'chassis',
      'power',
      'cycle',
    ])
    await fakeTool(
      join(dir, 'bin'),
      'ipmitool',
      'echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2; exit 1',
    )
    await expect(p.run('off', node())).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_POWER',
      message: expect.stringContaining('Unable to establish IPMI v2'),
    })
  })

  it('ipmi without a password is refused before anything runs', async () => {
    const p = createPower({ config: config({ driver: 'ipmi' }) })
    const saved = process.env.IPMI_PASSWORD
    delete process.env.IPMI_PASSWORD
    await expect(p.run('on', node())).rejects.toMatchObject({ code: 'IMGSWARM_ERR_POWER' })
    if (saved !== undefined) process.env.IPMI_PASSWORD = saved
  })

  it('amt: reset pxe, falling back to powerup pxe; the password goes in AMT_PASSWORD, y on stdin', async () => {
    const log = await fakeTool(
      join(dir, 'bin'),
      'amttool',
      `read answer; echo "env=$AMT_PASSWORD stdin=$answer" >> ${join(dir, 'bin', 'amttool.env')}
[ "$2" = reset ] && exit 1
exit 0`,
    )
    const pw = join(dir, 'amt.pw')
    await writeFile(pw, 'amt-secret\n', { mode: 0o600 })
    const p = createPower({ config: config({ driver: 'amt', amt: { passwordFile: pw, host: '{host}.amt' } }) })
    const r = await p.run('pxe', node())
    expect(r.done).toEqual(['powerup pxe'])
    expect(await calls(log)).toEqual([
      ['node001.amt', 'reset', 'pxe'],
      ['node001.amt', 'powerup', 'pxe'],
    ])
    expect(await readFile(join(dir, 'bin', 'amttool.env'), 'utf8')).toBe(
      'env=amt-secret stdin=y\nenv=amt-secret stdin=y\n',
    )
  })

  it('a missing tool says it is not installed', async () => {
    const p = createPower({ config: config({ driver: 'amt', amt: { passwordFile: undefined, host: '{host}' } }) })
    const saved = process.env.PATH
    process.env.PATH = join(dir, 'empty')
    process.env.AMT_PASSWORD = 'x'
    try {
      await expect(p.run('on', node())).rejects.toMatchObject({
        code: 'IMGSWARM_ERR_POWER',
        message: expect.stringContaining('amttool is not installed'),
      })
    } finally {
      process.env.PATH = saved
      delete process.env.AMT_PASSWORD
    }
  })
})

describe.skipIf(!canNetns || !haveTool('ssh') || !haveTool('ssh-keygen'))('the ssh driver against a real sshd', () => {
  let sshd: Sshd | undefined
  let dir: string
  afterEach(async () => {
    await sshd?.stop()
    sshd = undefined
  })

  it('runs systemctl reboot and poweroff on the node, with the pinned host key; cannot power on', async () => {
    dir = await tempDir('imgswarm-power-ssh-')
    const bin = join(dir, 'fakebin')
    await mkdir(bin)
    // Never the real systemctl: the session's PATH starts with this recording one.
    const log = await fakeTool(bin, 'systemctl')
    sshd = await startSshd(dir, { setEnvPath: `${bin}:/usr/bin:/bin` })
    const probe = spawnSync(
      'ssh',
      [
        ...['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes'],
        ...['-i', sshd.key, '-p', String(sshd.port), `root@${sshd.ip}`, 'command -v systemctl'],
      ],
      { encoding: 'utf8', timeout: 20_000 },
    )
    expect(probe.stdout.trim()).toBe(join(bin, 'systemctl'))
    const p = createPower({
      config: config({
        driver: 'ssh',
        ssh: { user: 'root', identity: sshd.key, port: sshd.port, knownHosts: sshd.knownHosts },
      }),
    })
    const target = node({ hostname: null, ip: sshd.ip })
    expect(await p.run('cycle', target)).toMatchObject({ driver: 'ssh', done: ['systemctl reboot'] })
    expect(await p.run('off', target)).toMatchObject({ done: ['systemctl poweroff'] })
    expect(await calls(log)).toEqual([['reboot'], ['poweroff']])
    await expect(p.run('on', target)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_POWER' })
  })

  it('a host key that is not the pinned one is refused', async () => {
    dir = await tempDir('imgswarm-power-ssh-')
    sshd = await startSshd(dir, { setEnvPath: '/nonexistent' })
    const wrong = join(dir, 'wrong_known_hosts')
    const pub = (await readFile(`${sshd.wrongKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')
    await writeFile(wrong, `[${sshd.ip}]:${sshd.port} ${pub}\n`)
    const p = createPower({
      config: config({ driver: 'ssh', ssh: { user: 'root', identity: sshd.key, port: sshd.port, knownHosts: wrong } }),
    })
    await expect(p.run('cycle', node({ hostname: null, ip: sshd.ip }))).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_POWER',
      message: expect.stringMatching(/ssh .*failed/),
    })
  })
})

describe('the power file is parsed defensively', () => {
  it('refuses unknown keys, bad drivers, bad ranges, multi-line values and too many hosts with its code', () => {
    const bad = [
      'driver = "ipmi"',
      '[[host]]\nhosts = "n1"\nbmcc = "x"',
      '[[host]]\nhosts = "n1"\ndriver = "telnet"',
      '[[host]]\nhosts = "n[5-1]"',
      '[[host]]\nhosts = []',
      '[[host]]\nhosts = "n1"\nbmc = """a\nb"""',
      `[[host]]\nhosts = [${Array.from({ length: 11 }, (_, i) => `"r${i}n[000001-100000]"`).join(', ')}]`,
      '[[host]\nhosts = "n1"',
    ]
    for (const text of bad)
      expect(() => parsePowerHosts(text, 'power.toml'), text.slice(0, 60)).toThrow(
        expect.objectContaining({ code: 'IMGSWARM_ERR_POWER_CONFIG' }),
      )
  })

  it('property: any text either parses or fails with IMGSWARM_ERR_POWER_CONFIG', () => {
    const piece = fc.constantFrom(
      '[[host]]\n',
      'hosts = "node[01-04]"\n',
      'hosts = ["a", "b"]\n',
      'driver = "ipmi"\n',
      'driver = 3\n',
      'bmc = "{host}-bmc"\n',
      '[host]\n',
      'x = 1\n',
      '"\n',
      '\0',
    )
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 20 })), { maxLength: 12 }), (parts) => {
        try {
          const hosts = parsePowerHosts(parts.join(''), 'p.toml')
          expect(Array.isArray(hosts)).toBe(true)
        } catch (e) {
          expect((e as { code?: string }).code).toBe('IMGSWARM_ERR_POWER_CONFIG')
        }
      }),
      { numRuns: 300 },
    )
  })
})
