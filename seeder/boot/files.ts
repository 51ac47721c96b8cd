// The installer's boot files in the store (STORE/boot/kernel, initramfs,
// build.json, written by `imgswarm boot build`): their size and SHA-256,
// hashed once per file version, and served over HTTP with byte ranges.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import { sendRanged } from '../webseed/index.ts'

export const BOOT_FILES = ['kernel', 'initramfs'] as const
export type BootFileName = (typeof BOOT_FILES)[number]
export const BUILD_FILE = 'build.json'
/** build.json is ours, but read as input: a bounded size. */
const MAX_BUILD_JSON = 1024 * 1024

export interface BootFileInfo {
  size: number
  sha256: string
  mtimeMs: number
}

interface Cached extends BootFileInfo {
  ino: number
}

export class BootFiles {
  readonly dir: string
  #cache = new Map<BootFileName, Cached>()
  #hashing = new Map<BootFileName, Promise<Cached>>()

  constructor(dir: string) {
    this.dir = dir
  }

  path(name: BootFileName): string {
    return join(this.dir, name)
  }

  /** Size and SHA-256 of one boot file, or undefined when it is missing. A rebuilt file (new inode, size or mtime) is hashed again. */
  async info(name: BootFileName): Promise<BootFileInfo | undefined> {
    const st = await stat(this.path(name)).catch(() => undefined)
    if (!st?.isFile()) return undefined
    const hit = this.#cache.get(name)
    if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit
    let p = this.#hashing.get(name)
    if (!p) {
      p = hashFile(this.path(name), st.ino, st.size, st.mtimeMs).finally(() => this.#hashing.delete(name))
      this.#hashing.set(name, p)
    }
    const c = await p
    this.#cache.set(name, c)
    return c
  }

  /** build.json as written by `boot build`, or undefined when missing or not a JSON object. */
  async build(): Promise<Record<string, unknown> | undefined> {
    const file = join(this.dir, BUILD_FILE)
    const st = await stat(file).catch(() => undefined)
    if (!st?.isFile() || st.size > MAX_BUILD_JSON) return undefined
    try {
      const v: unknown = JSON.parse(await readFile(file, 'utf8'))
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }

  /** Sends one boot file: 200, 206 for a Range, 416 outside it; HEAD sends the headers only. */
  async send(name: BootFileName, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const info = await this.info(name)
    if (!info) throw errors.notFound('boot file', name, 'build the kernel and initramfs first: imgswarm boot build')
    const size = info.size
    const etag = `"${info.sha256}"`
    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000)
    reply
      .header('accept-ranges', 'bytes')
      .header('etag', etag)
      .header('last-modified', lastModified.toUTCString())
      .header('cache-control', 'no-cache')
      .header('x-imgswarm-sha256', info.sha256)
      .type('application/octet-stream')
    return sendRanged(req, reply, { path: this.path(name), size, etag, lastModified })
  }
}

async function hashFile(file: string, ino: number, size: number, mtimeMs: number): Promise<Cached> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return { ino, size, mtimeMs, sha256: h.digest('hex') }
}
