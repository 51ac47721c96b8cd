// Test helpers for the safe extractor: sandboxes (a target with an `outside`
// sibling that must never change), in-memory archives built with tar-stream
// or with our own header encoder, and error assertions.
import { createHash } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { expect } from 'vitest'
import { type ExtractOptions, type ExtractResult, extractArchive } from '../../common/archive/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from '../../common/tar/header.ts'
import { tempDir as sharedTempDir } from '../support/tmp.ts'

/** A temporary directory removed after the test, pass or fail. */
export function tempDir(prefix = 'imgswarm-archive-'): Promise<string> {
  return sharedTempDir(prefix)
}

export interface Sandbox {
  base: string
  target: string
  outside: string
  /** Fails the test if anything under `outside` or next to `target` changed. */
  assertUntouched(): Promise<void>
}

async function fingerprint(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string) => {
    for (const n of (await readdir(join(dir, rel))).sort()) {
      const p = join(dir, rel, n)
      const st = await lstat(p)
      let sum = ''
      if (st.isFile())
        sum = createHash('sha256')
          .update(await readFile(p))
          .digest('hex')
      out.push(`${join(rel, n)} ${st.mode.toString(8)} ${st.uid}:${st.gid} nlink=${st.nlink} ${st.mtimeMs} ${sum}`)
      if (st.isDirectory()) await walk(join(rel, n))
    }
  }
  await walk('')
  return out
}

/** base/{target,outside}; outside holds `secret` and `victim` files an attack would touch. */
export async function sandbox(): Promise<Sandbox> {
  const base = await tempDir()
  const target = join(base, 'target')
  const outside = join(base, 'outside')
  await mkdir(target)
  await mkdir(outside)
  await writeFile(join(outside, 'secret'), 'secret\n', { mode: 0o600 })
  await writeFile(join(outside, 'victim'), 'original\n', { mode: 0o644 })
  const before = await fingerprint(outside)
  const siblings = (await readdir(base)).sort()
  return {
    base,
    target,
    outside,
    async assertUntouched() {
      expect(await fingerprint(outside)).toEqual(before)
      expect((await readdir(base)).sort()).toEqual(siblings)
    },
  }
}

/** Bytes as a stream, in chunks of `chunk` bytes (small chunks stress the reader). */
export async function* chunks(b: Buffer, chunk = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk)
}

export function extract(archive: Buffer, target: string, opts?: ExtractOptions): Promise<ExtractResult> {
  return extractArchive(chunks(archive, 777), target, opts)
}

/** Asserts that `p` rejects with an ImgswarmError of `code`; returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err, `expected ${code}`).toBeDefined()
  if (!isImgswarmError(err)) throw err
  expect(err.code).toBe(code)
  return err
}

export type TsEntry = {
  name: string
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'block-device' | 'character-device' | 'fifo'
  linkname?: string
  data?: string | Buffer
  mode?: number
  uid?: number
  gid?: number
  mtime?: Date
  devmajor?: number
  devminor?: number
}

/** An archive built with tar-stream (an independent encoder), in memory. */
export async function tarStream(entries: TsEntry[]): Promise<Buffer> {
  const p = pack()
  for (const { data, ...h } of entries) {
    const header = { mode: h.type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_600_000_000_000), ...h }
    if (data === undefined) p.entry(header)
    else p.entry(header, data)
  }
  p.finalize()
  const out: Buffer[] = []
  for await (const c of p) out.push(Buffer.from(c as Uint8Array))
  return Buffer.concat(out)
}

export type RawEntry = Omit<Partial<TarEntry>, 'path'> & { path: string | Buffer; data?: Buffer }

/** An archive built with our own encoder: binary xattrs, sparse files, hostile fields. */
export function rawTar(entries: RawEntry[], end = true): Buffer {
  const parts: Buffer[] = []
  for (const r of entries) {
    const data = r.data ?? Buffer.alloc(0)
    const e: TarEntry = {
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_600_000_000,
      linkpath: Buffer.alloc(0),
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
      ...r,
      path: Buffer.isBuffer(r.path) ? r.path : Buffer.from(r.path),
      size: data.length,
    }
    parts.push(encodeHeader(e), data, Buffer.alloc(paddingFor(data.length)))
  }
  if (end) parts.push(END_OF_ARCHIVE)
  return Buffer.concat(parts)
}

/** A GNU sparse 1.0 file entry: `segments` of data at offsets in a file of `realsize` bytes. */
export function sparseEntry(path: string, realsize: number, segments: { offset: number; data: Buffer }[]): RawEntry {
  const lines = [String(segments.length), ...segments.flatMap((s) => [String(s.offset), String(s.data.length)])]
  const map = Buffer.from(`${lines.join('\n')}\n`)
  const mapBlock = Buffer.concat([map, Buffer.alloc(paddingFor(map.length))])
  return {
    path,
    sparse: { realsize, map: segments.map((s) => ({ offset: s.offset, size: s.data.length })) },
    data: Buffer.concat([mapBlock, ...segments.map((s) => s.data)]),
  }
}

/** Linux dev_t encoding (glibc gnu_dev_makedev). */
export function makedev(major: number, minor: number): number {
  const lo = (minor & 0xff) + (major & 0xfff) * 2 ** 8 + Math.floor(minor / 2 ** 8) * 2 ** 20
  return lo + Math.floor(major / 2 ** 12) * 2 ** 44
}

/** VFS_CAP_REVISION_2, permitted = cap_net_bind_service (bit 10), effective flag set. */
export const CAP_NET_BIND_V2 = Buffer.from('0100000200040000000000000000000000000000', 'hex')
