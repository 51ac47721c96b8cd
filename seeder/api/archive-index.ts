// GET .../NAME/VER/index: the archive index of a packed version
// (docs/archive-index.md), byte for byte: the signed manifest holds its
// SHA-256. Streamed, since an index of a big tree can be tens of megabytes
// and every node fetches it. Same access rule as the manifest.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { errors } from '../../common/errors.ts'
import { formatRef } from '../../common/names.ts'
import { type ApiContext, authorizeNodeRead, KINDS, packedOr404 } from './context.ts'
import { errorResponses } from './http-errors.ts'
import { versionParams } from './schemas.ts'

type VersionReq = { Params: { name: string; version: string } }

export function registerArchiveIndex(app: FastifyInstance, ctx: ApiContext): void {
  for (const [segment, kind] of KINDS) {
    const summary = `The archive index of a packed ${kind}, byte for byte`
    app.get<VersionReq>(
      `/api/v1/${segment}/:name/:version/index`,
      {
        schema: {
          summary,
          description:
            'Node-facing, no token; the same access rule as the manifest (see docs/api.md). Only uncompressed archives have an index: 404 IMGSWARM_ERR_NO_INDEX otherwise.',
          tags: [segment],
          params: versionParams,
          response: {
            200: { description: summary, content: { 'application/json': { schema: {} } } },
            ...errorResponses(400, 404),
          },
        },
      },
      async (req, reply) => {
        const { name, version } = req.params
        const p = await packedOr404(ctx, kind, name, version)
        await authorizeNodeRead(ctx, kind, name, version, req)
        if (p.index === undefined) throw errors.noIndex(`${kind} ${formatRef(name, version)}`)
        const size = (await stat(p.index)).size
        return reply
          .type('application/json')
          .header('cache-control', 'no-cache')
          .header('content-length', size)
          .send(createReadStream(p.index))
      },
    )
  }
}
