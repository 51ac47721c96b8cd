// Sending one file (or the byte range a request asks for) with the right
// status, Content-Range and Content-Length: shared by the web seed and the
// boot-file routes. The caller sets ETag, Last-Modified, caching and type.
import { createReadStream } from 'node:fs'
import type { Transform } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import { ifRangeMatches, parseRange } from './range.ts'

export interface RangedFile {
  path: string
  size: number
  /** The quoted ETag sent, for If-Range. */
  etag: string
  lastModified: Date
  /**
   * Makes the stream that paces the body (an upload budget); called only when a body is sent,
   * since a pacer joins its budget's group when made. None: as fast as the socket takes it.
   */
  pace?: (() => Transform | undefined) | undefined
}

export function sendRanged(req: FastifyRequest, reply: FastifyReply, f: RangedFile): FastifyReply {
  let range = parseRange(req.headers.range, f.size)
  const ifRange = req.headers['if-range']
  if (
    range.kind !== 'full' &&
    !ifRangeMatches(typeof ifRange === 'string' ? ifRange : undefined, f.etag, f.lastModified)
  )
    range = { kind: 'full' }
  if (range.kind === 'unsatisfiable') {
    const e = errors.rangeNotSatisfiable(String(req.headers.range), f.size)
    return reply
      .code(416)
      .header('content-range', `bytes */${f.size}`)
      .type('application/json; charset=utf-8')
      .send({ error: { code: e.code, message: e.message } })
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, f.size - 1]
  const length = end - start + 1
  if (range.kind === 'partial') reply.code(206).header('content-range', `bytes ${start}-${end}/${f.size}`)
  else reply.code(200)
  reply.header('content-length', String(length))
  if (req.method === 'HEAD' || length === 0) return reply.send()
  const body = createReadStream(f.path, { start, end })
  const pace = f.pace?.()
  if (pace === undefined) return reply.send(body)
  body.on('error', (e) => pace.destroy(e))
  return reply.send(body.pipe(pace))
}
