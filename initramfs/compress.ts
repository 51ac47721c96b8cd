// Compressors for the initramfs, all deterministic: zstd and gzip from
// Node's zlib (gzip's header carries no time stamp there), xz through the xz
// program with one thread and CRC32 checks, the only check the kernel's xz
// decoder accepts.
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { constants, createGzip, createZstdCompress } from 'node:zlib'
import { errors } from '../common/errors.ts'
import type { Progress } from './apt.ts'

export type Compression = 'zstd' | 'gzip' | 'xz'
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip', 'xz']

export async function compressFile(
  src: string,
  dst: string,
  how: Compression,
  level: number,
  bar?: Progress,
): Promise<void> {
  let seen = 0
  const count = new Transform({
    transform(c: Buffer, _e, cb) {
      seen += c.length
      bar?.update(seen)
      cb(null, c)
    },
  })
  if (how === 'xz') {
    const xz = spawn('xz', ['--format=xz', '--check=crc32', '--threads=1', `-${level}`, '-c'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stderr = ''
    xz.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const exited = new Promise<number>((res, rej) => {
      xz.on('error', (e: NodeJS.ErrnoException) =>
        rej(
          e.code === 'ENOENT'
            ? errors.bootBuild('xz is not installed', 'apt-get install xz-utils, or use --compress zstd')
            : e,
        ),
      )
      xz.on('close', (code) => res(code ?? 1))
    })
    await Promise.all([pipeline(createReadStream(src), count, xz.stdin), pipeline(xz.stdout, createWriteStream(dst))])
    if ((await exited) !== 0) throw errors.bootBuild(`xz failed: ${stderr.trim()}`)
  } else {
    const z =
      how === 'zstd'
        ? createZstdCompress({
            params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 1 },
          })
        : createGzip({ level })
    await pipeline(createReadStream(src), count, z, createWriteStream(dst))
  }
  bar?.finish()
}
