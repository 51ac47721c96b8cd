// `imgswarm cluster` as a person runs it: the real launcher, real files, and
// for `edit` a real editor process (a shell script standing in for vi).
// Never spawnSync: one test runs serve in this process, which must keep serving.
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packedStore, startServe } from '../serve/harness.ts'
import { cliAsync } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

const GOOD = `[global]
image = "base"
overrides = ["site"]

[[group]]
name = "compute"
priority = 10
hosts = ["node[001-004]"]
overrides = ["compute"]

[[group]]
name = "gpu"
priority = 20
image = "gpu@3"
hosts = ["node[003-004]", "gpu[01-02].farm.example"]
overrides = ["cuda"]

[[host]]
hostname = "node004"
mac = "52:54:00:00:00:04"
overrides = ["node004-keys"]
post = "poweroff"
`

/** An $EDITOR that writes the n-th of the given texts on its n-th run (the last one again after that). */
async function editorScript(dir: string, texts: string[]): Promise<string> {
  for (const [i, t] of texts.entries()) await writeFile(join(dir, `text${i}`), t)
  const script = join(dir, 'editor.sh')
  await writeFile(
    script,
    `#!/bin/sh
n=$(cat "${dir}/count" 2>/dev/null || echo 0)
echo $((n + 1)) > "${dir}/count"
f="${dir}/text$n"; [ -f "$f" ] || f="${dir}/text${texts.length - 1}"
cat "$f" > "$1"
`,
  )
  await chmod(script, 0o755)
  return script
}

/** `cluster edit` with this $EDITOR and these answers on its standard input (none: closed at once). */
function edit(file: string, editor: string, input: string | undefined, extra: string[] = []) {
  return cliAsync(['cluster', 'edit', '--file', file, ...extra], { EDITOR: editor, VISUAL: '' }, { input })
}

describe('imgswarm cluster', () => {
  it('validate prints FILE:LINE:COL: message for each problem and exits 2', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, GOOD.replace('priority = 10', 'priority = "ten"').replace('node[003-004]', 'node[004-003]'))
    const r = await cliAsync(['cluster', 'validate', file])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`${file}:7:1: priority must be a whole number`)
    expect(r.stderr).toContain(`${file}:15:10: bad host range: node[004-003]: range 004-003 runs backwards`)
    const j = JSON.parse((await cliAsync(['cluster', 'validate', file, '--json'])).stdout) as {
      ok: boolean
      problems: unknown[]
    }
    expect(j.ok).toBe(false)
    expect(j.problems).toHaveLength(2)

    await writeFile(file, GOOD)
    const ok = await cliAsync(['cluster', 'validate', file])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('valid: 2 group(s), 1 host entry, 6 node(s) named')
    expect(ok.stderr).toBe('')
    await writeFile(
      file,
      GOOD.replace('priority = 20', 'priority = 10').replace('priority = 10\n', 'priority = 10\nimage = "other"\n'),
    )
    const tie = await cliAsync(['cluster', 'validate', file])
    expect(tie.status).toBe(0)
    expect(tie.stderr).toContain(
      `${file}:15:1: warning: groups compute (line 5) and gpu both have priority 10 and set a different image for node003`,
    )
    expect((await cliAsync(['cluster', 'validate', join(dir, 'nope.toml')])).stderr).toMatch(/does not exist/)
  })

  it('finds STORE/cluster.toml by default', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'cluster.toml'), GOOD)
    const r = await cliAsync(['cluster', 'validate', '--store', dir])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain(join(dir, 'cluster.toml'))
  })

  it("show expands a range and gives each node's plan with where each part came from", async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, GOOD)
    const r = await cliAsync(['cluster', 'show', 'node[003-004]', '--file', file])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('node004  (groups compute < gpu; host entry line 18)')
    expect(r.stdout).toMatch(/image {5}gpu@3 +group gpu \(.*cluster\.toml:14\)/)
    expect(r.stdout).toMatch(
      /overrides site +\[global\] \(.*:3\)\n +compute +group compute \(.*:9\)\n +cuda +group gpu \(.*:16\)\n +node004-keys +host node004 \(.*:21\)/,
    )
    expect(r.stdout).toMatch(/post {6}poweroff +host node004/)

    const j = JSON.parse((await cliAsync(['cluster', 'show', 'compute', '--file', file, '--json'])).stdout) as {
      nodes: {
        node: string
        image: { value: string }
        overrides: { value: string }[]
        post: { value: string; from: string }
      }[]
    }
    expect(j.nodes.map((n) => n.node)).toEqual(['node001', 'node002', 'node003', 'node004'])
    expect((await cliAsync(['cluster', 'show', 'gpu', '--file', file])).stdout).toContain(
      `group gpu (priority 20; ${file}:11): 4 member(s): node[003-004] gpu[01-02].farm.example`,
    )
    expect(j.nodes.map((n) => n.image.value)).toEqual(['base', 'base', 'gpu@3', 'gpu@3'])
    expect(j.nodes[0]?.overrides.map((o) => o.value)).toEqual(['site', 'compute'])
    expect(j.nodes[0]?.post).toEqual({ value: 'reboot', from: 'default' })

    const one = JSON.parse(
      (await cliAsync(['cluster', 'show', '52:54:00:00:00:04', '--file', file, '--json'])).stdout,
    ) as {
      nodes: { identity: { hostname: string } }[]
    }
    expect(one.nodes[0]?.identity.hostname).toBe('node004')
    expect((await cliAsync(['cluster', 'show', 'stranger', '--file', file])).stdout).toContain('stranger: no plan')
    const bad = await cliAsync(['cluster', 'show', 'n[2-1]', '--file', file])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/runs backwards/)
  })

  it('init writes an example that validates, and refuses to overwrite', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    expect((await cliAsync(['cluster', 'init', file])).status).toBe(0)
    expect((await cliAsync(['cluster', 'validate', file])).status).toBe(0)
    const again = await cliAsync(['cluster', 'init', file])
    expect(again.status).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
  })

  it('edit reopens the editor with the problems shown until the file is valid, then replaces it atomically', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, GOOD)
    const before = await stat(file)
    const fixed = GOOD.replace('node[001-004]', 'node[001-008]')
    const editor = await editorScript(dir, [GOOD.replace('image = "base"', 'image = "base"\ncolour = 1'), fixed])
    const r = await edit(file, editor, 'y\n')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain(`${file}:3:1: unknown key "colour" in [global]`)
    expect(r.stderr).toContain('Edit again? [Y/n]')
    expect(r.stdout).toContain('valid, saved')
    expect(await readFile(file, 'utf8')).toBe(fixed)
    expect(await readFile(join(dir, 'count'), 'utf8')).toBe('2\n')
    // Renamed over, not rewritten in place: a watching server never sees half a file.
    expect((await stat(file)).ino).not.toBe(before.ino)
    expect((await stat(file)).mode & 0o777).toBe(before.mode & 0o777)
    expect((await readdir(dir)).filter((f) => f.includes('.edit-'))).toEqual([])
  })

  it('edit leaves the file alone when the person gives up, or the editor fails', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, GOOD)
    const editor = await editorScript(dir, [GOOD.replace('post = "poweroff"', 'post = "explode"')])
    const r = await edit(file, editor, 'n\n')
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(`${file}:22:1: unknown post-action "explode"`)
    expect(r.stderr).toContain('IMGSWARM_ERR_CLUSTER_EDIT')
    expect(await readFile(file, 'utf8')).toBe(GOOD)
    const kept = (await readdir(dir)).filter((f) => f.includes('.edit-'))
    expect(kept).toHaveLength(1)
    expect(r.stderr).toContain(kept[0])

    // No answer at all (end of input) counts as giving up too.
    expect((await edit(file, editor, '')).status).toBe(1)
    expect(await readFile(file, 'utf8')).toBe(GOOD)

    const failing = await edit(file, 'false', '')
    expect(failing.status).toBe(1)
    expect(failing.stderr).toMatch(/the editor "false" exited with 1/)
    expect(await readFile(file, 'utf8')).toBe(GOOD)
  })

  it('edit --reload tells a running server to reread the file', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const file = join(store.root, 'cluster.toml')
    await writeFile(file, '[global]\nimage = "img"\n[[group]]\nname = "a"\nhosts = ["n1"]\n')
    const server = await startServe(store)
    try {
      const token = (await readFile(server.server.adminTokenFile, 'utf8')).trim()
      const editor = await editorScript(dir, ['[global]\nimage = "img"\n[[group]]\nname = "a"\nhosts = ["n[1-2]"]\n'])
      const r = await edit(file, editor, undefined, ['--reload', server.url, '--token', token])
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toContain(`${server.url}: reloaded`)
      expect((await fetch(`${server.url}/api/v1/plan?hostname=n2`)).status).toBe(200)
      const refused = await edit(
        file,
        await editorScript(join(dir, 'store'), ['[global]\nimage = "img"\n']),
        undefined,
        ['--reload', server.url, '--token', 'wrong'],
      )
      expect(refused.status).toBe(1)
      expect(refused.stderr).toMatch(/the file is saved, but the server refused to reload it \(401\)/)
    } finally {
      await server.stop()
    }
  })

  it('edit with no change says so and leaves no copy', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, GOOD)
    const r = await edit(file, 'true', '')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('no changes')
    expect((await readdir(dir)).filter((f) => f.includes('.edit-'))).toEqual([])
  })
})
