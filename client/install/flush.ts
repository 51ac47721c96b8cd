// Flushes the installed file systems before the install may count as done.
// Everything written so far can still sit in the page cache, and the
// read-back verification reads it from there: a disk that fails the later
// write-back (I/O errors, a thin or overcommitted backing store running out)
// would still end "installed and verified". syncfs(2) writes each file system
// back and reports such an error (Linux >= 4.15 keeps it per file system).
// Node has no binding for it, so `sync -f DIR` from coreutils (>= 8.24), which
// exits non-zero when syncfs fails. Busybox's `sync -f` ignores the result
// (seen: exit 0 on a failed write-back), so the boot image carries coreutils'
// (initramfs/contents.ts). syncfs reports an error once: to the first caller
// after it happened.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'

export interface FlushInit {
  /** The target's root and the relative mount points of its other file systems ("boot", "boot/efi"). */
  target: string
  mountPoints: string[]
  signal?: AbortSignal | undefined
  say: (line: string) => void
}

/** syncfs on every file system of the target; rejects with IMGSWARM_ERR_WRITEBACK when the disk fails it. */
export async function flushTarget(o: FlushInit): Promise<void> {
  const dirs = [o.target, ...o.mountPoints.map((m) => join(o.target, m))]
  const started = Date.now()
  for (const dir of dirs) await syncfs(dir, o.signal)
  o.say(`flushed ${dirs.length} file system(s) to disk in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

function syncfs(dir: string, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted()
  const { POSIXLY_CORRECT: _, ...env } = process.env
  return new Promise((resolve, reject) => {
    execFile(
      'sync',
      ['-f', dir],
      { env: { ...env, LC_ALL: 'C', PATH: `${env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` }, signal },
      (err, _stdout, stderr) => {
        if (err === null) return resolve()
        if (signal?.aborted) return reject(signal.reason)
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(errors.tool('sync', 'not found on PATH', 'coreutils'))
        }
        reject(errors.writeback(dir, stderr.trim() || err.message))
      },
    )
  })
}
