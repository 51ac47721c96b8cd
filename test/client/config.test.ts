// Client configuration: flags > kernel command line > config file > defaults,
// field by field, and the two things the client refuses to run without.
import { generateKeyPairSync } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveClientConfig } from '../../client/index.ts'
import { keyId } from '../../common/manifest.ts'
import { tempDir } from '../support/tmp.ts'

function keyPair() {
  const { publicKey } = generateKeyPairSync('ed25519')
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')
  return { publicKey, raw, pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), id: keyId(publicKey) }
}

function thrown(f: () => unknown): { code?: string; message?: string } {
  try {
    f()
  } catch (e) {
    return e as { code?: string; message?: string }
  }
  return {}
}

describe('resolveClientConfig', () => {
  it('takes each field from the highest source that sets it: flags > cmdline > file > defaults', async () => {
    const dir = await tempDir()
    const fileKey = keyPair()
    const cmdKey = keyPair()
    await writeFile(join(dir, 'server.pub'), fileKey.pem)
    const file = join(dir, 'client.toml')
    await writeFile(
      file,
      [
        'server = "http://file:8470"',
        'image = "file-image"',
        'hostname = "from-file"',
        'post = "reboot"',
        'disk = "/dev/sda"',
        'pubkey = "server.pub"', // relative to the file
        'debug = true',
        '[retry]',
        'max_delay_ms = 5000',
        'attempts = 7',
      ].join('\n'),
    )
    const cmdline = `imgswarm.server=http://cmdline:8470 imgswarm.hostname=from-cmdline imgswarm.pubkey=${cmdKey.raw} imgswarm.post=shell`
    const cfg = resolveClientConfig({ flags: { server: 'http://flag:8470/' }, cmdline, file })
    expect(cfg.server).toBe('http://flag:8470') // flag
    expect(cfg.hostname).toBe('from-cmdline') // cmdline over file
    expect(keyId(cfg.pubkey)).toBe(cmdKey.id) // cmdline over file
    expect(cfg.post).toBe('shell')
    expect(cfg.image).toBe('file-image') // file only
    expect(cfg.disk).toBe('/dev/sda')
    expect(cfg.debug).toBe(true)
    expect(cfg.retry).toEqual({ attempts: 7, maxDelayMs: 5000 })

    const defaults = resolveClientConfig({ flags: { server: 'http://s', pubkey: cmdKey.raw } })
    expect(defaults.debug).toBe(false)
    expect(defaults.retry).toEqual({ attempts: undefined, maxDelayMs: 30_000 })
    expect(defaults.image).toBeUndefined()

    const fileOnly = resolveClientConfig({ flags: {}, file })
    expect(keyId(fileOnly.pubkey)).toBe(fileKey.id)
    expect(fileOnly.server).toBe('http://file:8470')
  })

  it('lets the highest source that names a destination decide disk versus targetDir', () => {
    const k = keyPair()
    const cfg = resolveClientConfig({
      flags: { server: 'http://s', pubkey: k.raw, targetDir: '/mnt/target' },
      cmdline: 'imgswarm.disk=/dev/vda',
    })
    expect(cfg.targetDir).toBe('/mnt/target')
    expect(cfg.disk).toBeUndefined()
  })

  it('refuses to run without a server', () => {
    const e = thrown(() => resolveClientConfig({ flags: { pubkey: keyPair().raw }, cmdline: 'quiet' }))
    expect(e.code).toBe('IMGSWARM_ERR_USAGE')
    expect(e.message).toContain('no image server')
  })

  it('refuses to run without a pinned key', () => {
    const e = thrown(() => resolveClientConfig({ flags: {}, cmdline: 'imgswarm.server=http://10.0.0.1:8470' }))
    expect(e.code).toBe('IMGSWARM_ERR_PUBKEY_MISSING')
    expect(e.message).toContain('refuses to install without a pinned server key')
  })

  it('refuses a key that is not ed25519, and a missing key file', async () => {
    const dir = await tempDir()
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' })
    await writeFile(join(dir, 'rsa.pub'), rsa)
    const base = { server: 'http://s' }
    expect(thrown(() => resolveClientConfig({ flags: { ...base, pubkey: join(dir, 'rsa.pub') } })).code).toBe(
      'IMGSWARM_ERR_CONFIG',
    )
    expect(thrown(() => resolveClientConfig({ flags: base, cmdline: 'imgswarm.pubkey=/nonexistent.pem' })).code).toBe(
      'IMGSWARM_ERR_CONFIG',
    )
  })

  it('checks flags and the file with the kernel parameters rules', async () => {
    const dir = await tempDir()
    const k = keyPair()
    expect(thrown(() => resolveClientConfig({ flags: { server: 'ftp://x', pubkey: k.raw } })).code).toBe(
      'IMGSWARM_ERR_USAGE',
    )
    const file = join(dir, 'c.toml')
    await writeFile(file, 'server = "http://s"\nsevrer = "typo"\n')
    const e = thrown(() => resolveClientConfig({ flags: { pubkey: k.raw }, file }))
    expect(e.code).toBe('IMGSWARM_ERR_CONFIG')
    expect(e.message).toContain('sevrer')
    await writeFile(file, 'server = "http://s"\nmac = "zz"\n')
    expect(thrown(() => resolveClientConfig({ flags: { pubkey: k.raw }, file })).code).toBe('IMGSWARM_ERR_CONFIG')
  })

  it('passes on kernel command line warnings', () => {
    const cfg = resolveClientConfig({
      flags: { pubkey: keyPair().raw },
      cmdline: 'imgswarm.server=http://s imgswarm.colour=blue',
    })
    expect(cfg.warnings).toHaveLength(1)
  })
})
