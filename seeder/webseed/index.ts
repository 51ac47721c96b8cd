// BEP 19 web seed: the packed archives over plain HTTP, with byte ranges.
// Clients that find no peers (the first node of a swarm, or a lone node)
// still get the image, and peers fill in from it.
//   GET|HEAD /webseed/images/NAME@VER.tar[.zst]
//   GET|HEAD /webseed/overrides/NAME@VER.tar[.zst]
//   GET|HEAD /webseed/content/NAME@VER.tar[.zst]
import { stat } from 'node:fs/promises'
import type { Transform } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import { checkName, formatRef } from '../../common/names.ts'
import type { Kind, PackedInfo } from '../store/store.ts'
import { sendRanged } from './send.ts'

export { ifRangeMatches, parseRange, type RangeResult } from './range.ts'
export { type RangedFile, sendRanged } from './send.ts'

export interface WebseedInit {
  /** The packed files of a version, or undefined. */
  packed(kind: Kind, name: string, version: string): Promise<PackedInfo | undefined>
  /** Throws (a 404) when this request may not have this version. */
  authorize(kind: Kind, name: string, version: string, req: FastifyRequest): Promise<void>
  /** Error responses for OpenAPI: status -> schema. */
  errorResponses?: Record<number, unknown>
  /** Paces the bytes sent (the server's upload limit); none when it returns undefined. */
  throttle?: () => Transform | undefined
}

const FILE = /^([A-Za-z0-9][A-Za-z0-9._+-]{0,63})@([A-Za-z0-9][A-Za-z0-9._+-]{0,63})\.tar(\.zst)?$/

/** Splits `NAME@VER.tar[.zst]`; undefined for anything else. Never joined to a path: names only. */
export function parseArchiveName(file: string): { name: string; version: string; zstd: boolean } | undefined {
  let rest: string
  let zstd: boolean
  if (file.endsWith('.tar.zst')) {
    rest = file.slice(0, -'.tar.zst'.length)
    zstd = true
  } else if (file.endsWith('.tar')) {
    rest = file.slice(0, -'.tar'.length)
    zstd = false
  } else return undefined
  const at = rest.indexOf('@')
  if (at < 0) return undefined
  const name = rest.slice(0, at)
  const version = rest.slice(at + 1)
  try {
    checkName('name', name)
    checkName('version', version)
  } catch {
    return undefined
  }
  return { name, version, zstd }
}

export function registerWebseed(app: FastifyInstance, init: WebseedInit): void {
  for (const [segment, kind] of [
    ['images', 'image'],
    ['overrides', 'override'],
    ['content', 'content'],
    ['deltas', 'delta'],
  ] as const) {
    app.route({
      method: ['GET', 'HEAD'],
      url: `/webseed/${segment}/:file`,
      schema: {
        summary: `BEP 19 web seed: a packed ${kind} archive, with byte ranges`,
        tags: ['webseed'],
        params: {
          type: 'object',
          required: ['file'],
          properties: { file: { type: 'string', pattern: FILE.source, description: 'NAME@VERSION.tar or .tar.zst' } },
        },
        headers: {
          type: 'object',
          properties: {
            range: { type: 'string', description: 'bytes=a-b, bytes=a- or bytes=-n (first range only)' },
            'if-range': { type: 'string', description: 'ETag or Last-Modified of the archive' },
          },
        },
        response: {
          200: { description: 'the whole archive', content: { 'application/octet-stream': { schema: {} } } },
          206: { description: 'one byte range', content: { 'application/octet-stream': { schema: {} } } },
          ...(init.errorResponses ?? {}),
        },
      },
      handler: (req, reply) => serve(init, kind, req, reply),
    })
  }
}

async function serve(init: WebseedInit, kind: Kind, req: FastifyRequest, reply: FastifyReply) {
  const { file } = req.params as { file: string }
  const parsed = parseArchiveName(file)
  if (!parsed) throw errors.invalidRequest(`params.file: not NAME@VERSION.tar or NAME@VERSION.tar.zst`)
  const { name, version } = parsed
  const ref = formatRef(name, version)
  const packed = await init.packed(kind, name, version)
  // The archive name must be exactly the manifest's: a .tar request for a zstd archive is a 404.
  if (!packed || packed.manifest.archive.file !== file) {
    throw errors.notFound(
      kind,
      file,
      packed ? `this version is served as ${packed.manifest.archive.file}` : 'only packed versions are served',
    )
  }
  await init.authorize(kind, name, version, req)

  const st = await stat(packed.archive).catch(() => undefined)
  if (!st?.isFile()) throw errors.notFound(kind, ref, 'its archive is missing from the store; re-pack it')
  const size = st.size
  const etag = `"${packed.manifest.archive.sha256}"`
  const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000)
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('last-modified', lastModified.toUTCString())
    .header('cache-control', 'public, max-age=31536000, immutable')
    .type(parsed.zstd ? 'application/zstd' : 'application/x-tar')

  return sendRanged(req, reply, { path: packed.archive, size, etag, lastModified, pace: init.throttle })
}
