// `imgswarm cluster edit`: $EDITOR on a copy next to the file, validation,
// re-editing until valid (or the person gives up), then an atomic rename
// over the original, so a watching server never reads a half-written file.
import { spawnSync } from 'node:child_process'
import { readSync } from 'node:fs'
import { chmod, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { CLUSTER_EXAMPLE, parseCluster } from '../../seeder/cluster/index.ts'

/** One line from stdin, read directly so the editor keeps the terminal to itself in between; undefined at end of input. */
function readLine(): string | undefined {
  const buf = Buffer.alloc(1)
  let line = ''
  for (;;) {
    let n: number
    try {
      n = readSync(0, buf, 0, 1, null)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
        continue
      }
      if (code === 'EOF') return line === '' ? undefined : line
      throw e
    }
    if (n === 0) return line === '' ? undefined : line
    const c = buf.toString('utf8', 0, 1)
    if (c === '\n') return line
    line += c
  }
}

function runEditor(editor: string, file: string): void {
  // Through the shell, so EDITOR='code --wait' works as people expect.
  const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' })
  if (r.error) throw errors.clusterEdit(`cannot run the editor ${JSON.stringify(editor)}: ${r.error.message}`)
  if (r.status !== 0) {
    throw errors.clusterEdit(
      `the editor ${JSON.stringify(editor)} exited with ${r.status ?? r.signal}`,
      `nothing was changed; your copy is ${file}`,
    )
  }
}

/** Returns true when the file was replaced, false when nothing changed. */
export async function editCluster(file: string, opts: { editor: string }): Promise<boolean> {
  let original: string
  let mode = 0o644
  try {
    original = await readFile(file, 'utf8')
    mode = (await stat(file)).mode & 0o7777
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    original = CLUSTER_EXAMPLE
    process.stderr.write(`${file} does not exist yet: starting from the example\n`)
  }
  // Next to the file: same file system for the rename, same directory for relative layout paths.
  const copy = join(dirname(file), `.${basename(file)}.edit-${process.pid}.toml`)
  await writeFile(copy, original, { mode: 0o600 })
  for (;;) {
    runEditor(opts.editor, copy)
    const text = await readFile(copy, 'utf8')
    const r = parseCluster(text, file)
    if (r.diagnostics.length === 0) {
      if (text === original && (await exists(file))) {
        await rm(copy, { force: true })
        process.stdout.write(`${file}: no changes\n`)
        return false
      }
      const fh = await open(copy, 'r+')
      await fh.sync()
      await fh.close()
      await chmod(copy, mode)
      await rename(copy, file)
      process.stdout.write(
        `${file}: valid, saved. A running serve rereads it by itself; another server: POST /api/v1/plans/reload\n`,
      )
      return true
    }
    for (const d of r.diagnostics) process.stderr.write(`${d.file}:${d.line}:${d.col}: ${d.message}\n`)
    process.stderr.write(`${file}: ${r.diagnostics.length} problem(s). Edit again? [Y/n] `)
    const answer = readLine()
    if (answer === undefined || /^\s*n/i.test(answer)) {
      process.stderr.write('\n')
      throw errors.clusterEdit('the edited file has problems; nothing was changed', `your edited copy is ${copy}`)
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}
