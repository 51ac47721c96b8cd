// The CLI as a person uses it: the real launcher, a store in a temp dir.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, cliJson } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

async function sampleTree(dir: string): Promise<string> {
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), 'golden\n')
  await writeFile(join(tree, 'big'), Buffer.alloc(1 << 20, 3))
  return tree
}

interface Summary {
  ref: string
  packed: null | { sha256: string; infoHash: string; compression: string }
}

describe('imgswarm CLI', () => {
  it('prints help that teaches, for the program and for subcommands', () => {
    const top = cli(['--help'])
    expect(top.status).toBe(0)
    expect(top.stdout).toContain('image')
    expect(top.stdout).toContain('First steps')
    const pack = cli(['image', 'pack', '--help'])
    expect(pack.status).toBe(0)
    expect(pack.stdout).toContain('--compress')
    expect(pack.stdout).toContain('deterministic')
    expect(cli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('imports, lists, shows, packs, verifies, copies, moves and removes', async () => {
    const dir = await tempDir()
    const tree = await sampleTree(dir)
    const store = ['--store', join(dir, 'store')]
    const imported = cliJson<Summary>(['image', 'import', tree, 'base', ...store])
    expect(imported.ref).toBe('base@1')
    expect(cliJson<Summary>(['image', 'import', tree, 'base', ...store]).ref).toBe('base@2')

    const packed = cliJson<{ infoHash: string; archive: string }>([
      'image',
      'pack',
      'base@1',
      '--compress',
      'zstd',
      ...store,
    ])
    expect(packed.archive).toMatch(/base@1\.tar\.zst$/)
    const again = cliJson<{ infoHash: string; alreadyPacked: boolean }>(['image', 'pack', 'base@1', ...store])
    expect(again).toMatchObject({ infoHash: packed.infoHash, alreadyPacked: true })

    const list = cliJson<Summary[]>(['image', 'list', ...store])
    expect(list.map((v) => v.ref)).toEqual(['base@1', 'base@2'])
    expect(list[0]?.packed?.compression).toBe('zstd')
    expect(list[1]?.packed).toBeNull()
    const table = cli(['image', 'list', ...store])
    expect(table.stdout).toMatch(/^NAME\s+VERSION\s+PACKED/)

    const shown = cliJson<Summary>(['image', 'show', 'base', ...store])
    expect(shown.ref).toBe('base@2')

    const verified = cli(['image', 'verify', 'base@1', ...store])
    expect(verified.status).toBe(0)
    expect(verified.stdout).toContain('signature ok')

    // Packed versions are immutable: mv refuses, cp makes a new version.
    const mv = cli(['image', 'mv', 'base@1', 'other@1', ...store])
    expect(mv.status).not.toBe(0)
    expect(mv.stderr).toContain('IMGSWARM_ERR_IMMUTABLE')
    expect(cliJson<Summary>(['image', 'cp', 'base@1', 'copy', ...store]).ref).toBe('copy@1')
    expect(cliJson<Summary>(['image', 'mv', 'base@2', 'renamed@7', ...store]).ref).toBe('renamed@7')

    const rmAll = cli(['image', 'rm', 'base', ...store])
    expect(rmAll.status).toBe(2)
    expect(rmAll.stderr).toContain('--all')
    expect(cli(['image', 'rm', 'base@1', ...store]).status).toBe(0)
    expect(cliJson<Summary[]>(['image', 'list', ...store]).map((v) => v.ref)).toEqual(['copy@1', 'renamed@7'])
  })

  it('manages overrides with the same verbs', async () => {
    const dir = await tempDir()
    const tree = await sampleTree(dir)
    const store = ['--store', join(dir, 'store')]
    expect(cliJson<Summary>(['override', 'import', tree, 'site-keys', ...store]).ref).toBe('site-keys@1')
    const p = cliJson<{ archive: string }>(['override', 'pack', 'site-keys', ...store])
    expect(p.archive).toContain('/packed/overrides/site-keys@1.tar')
    expect(cliJson<Summary[]>(['image', 'list', ...store])).toEqual([])
  })

  it('takes the store from --store, then IMGSWARM_STORE, then the config file', async () => {
    const dir = await tempDir()
    const tree = await sampleTree(dir)
    const conf = join(dir, 'imgswarm.toml')
    await writeFile(conf, `store = "${join(dir, 'from-config')}"\n[pack]\ncompression = "zstd"\n`)
    const fromConfig = cliJson<{ path: string }>(['image', 'import', tree, 'a'], { IMGSWARM_CONFIG: conf })
    expect(fromConfig.path).toContain('/from-config/')
    const fromEnv = cliJson<{ path: string }>(['image', 'import', tree, 'a'], {
      IMGSWARM_CONFIG: conf,
      IMGSWARM_STORE: join(dir, 'from-env'),
    })
    expect(fromEnv.path).toContain('/from-env/')
    const fromFlag = cliJson<{ path: string }>(['image', 'import', tree, 'a', '--store', join(dir, 'from-flag')], {
      IMGSWARM_CONFIG: conf,
      IMGSWARM_STORE: join(dir, 'from-env'),
    })
    expect(fromFlag.path).toContain('/from-flag/')
    // The config's pack.compression applies when no flag is given.
    expect(cliJson<{ compression: string }>(['image', 'pack', 'a'], { IMGSWARM_CONFIG: conf }).compression).toBe('zstd')
  })

  it('gives clear, coded errors on bad input and changes nothing', async () => {
    const dir = await tempDir()
    const tree = await sampleTree(dir)
    const store = ['--store', join(dir, 'store')]
    const badName = cli(['image', 'import', tree, '../evil', ...store])
    expect(badName.status).toBe(2)
    expect(badName.stderr).toContain('IMGSWARM_ERR_INVALID_NAME')
    const missing = cli(['image', 'import', join(dir, 'nope'), 'x', ...store])
    expect(missing.stderr).toContain('IMGSWARM_ERR_SOURCE')
    const unknown = cli(['image', 'show', 'ghost', ...store])
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain('IMGSWARM_ERR_NOT_FOUND')
    expect(unknown.stderr).toContain('what to do')
    const notPacked = cli(['image', 'import', tree, 'x', ...store])
    expect(notPacked.status).toBe(0)
    expect(cli(['image', 'verify', 'x', ...store]).stderr).toContain('IMGSWARM_ERR_NOT_PACKED')
    const badConf = join(dir, 'bad.toml')
    await writeFile(badConf, 'store = [\n')
    const conf = cli(['image', 'list'], { IMGSWARM_CONFIG: badConf })
    expect(conf.status).toBe(2)
    expect(conf.stderr).toContain('IMGSWARM_ERR_CONFIG')
    expect(cliJson<Summary[]>(['image', 'list', ...store]).map((v) => v.ref)).toEqual(['x@1'])
  })
})
