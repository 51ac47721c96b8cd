// Copies a tree with everything a system image needs: owners, modes
// (setuid included), times, symlinks, hard links, device nodes, fifos,
// extended attributes and holes. GNU cp does all of it; Node has no xattr or
// mknod API. Progress is estimated from the filesystem's used space, which
// costs one statfs call per tick.
import { spawn } from 'node:child_process'
import { statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import { errors } from '../../common/errors.ts'

export async function copyTree(
  src: string,
  dest: string,
  onProgress?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const fsOf = dirname(dest)
  const used = async () => {
    const s = await statfs(fsOf)
    return (s.blocks - s.bfree) * s.bsize
  }
  const start = onProgress ? await used() : 0
  const child = spawn('cp', ['-a', '--preserve=all', '--sparse=auto', '--no-target-directory', src, dest], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const onAbort = () => child.kill('SIGTERM')
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d
  })
  const timer = onProgress
    ? setInterval(() => {
        used().then(
          (u) => onProgress(Math.max(0, u - start)),
          () => undefined,
        )
      }, 250)
    : undefined
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (c) => resolve(c ?? 1))
    })
    if (code !== 0) throw errors.tool('cp', stderr.trim().split('\n').slice(0, 5).join('; ') || `exit ${code}`)
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (timer) clearInterval(timer)
  }
}
