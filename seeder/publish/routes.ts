// GET /api/v1/fetch/:name[/:version]: what `imgswarm fetch` asks first. It
// resolves a bare NAME to the latest packed content version and answers the
// same pointer an install plan gives for an image (server-relative URLs of
// the torrent, manifest, signature, index and web seed, plus the hashes).
// The pointer is not trusted by the client: the signed manifest is.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import type { PlanArtifact } from '../../common/plan.ts'
import { type ApiContext, authorizeNodeRead, packedOr404 } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { NAME_PATTERN } from '../api/schemas.ts'
import { artifact } from '../plans/index.ts'
import { isPublic } from './access.ts'

const nameProp = { type: 'string', pattern: NAME_PATTERN } as const

export const contentPointerSchema = {
  type: 'object',
  required: ['name', 'version', 'infoHash', 'torrent', 'manifest', 'signature', 'webseed', 'size', 'sha256'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    infoHash: { type: 'string' },
    torrent: { type: 'string' },
    manifest: { type: 'string' },
    signature: { type: 'string' },
    webseed: { type: 'string' },
    size: { type: 'integer' },
    sha256: { type: 'string' },
    compression: { type: 'string', enum: ['none', 'zstd'] },
    index: { type: ['string', 'null'] },
    public: { type: 'boolean', description: 'readable without a token (published --public)' },
  },
} as const

export type ContentPointer = PlanArtifact & { public: boolean }

type Req = { Params: { name: string; version?: string } }

async function pointer(ctx: ApiContext, req: FastifyRequest, name: string, version: string): Promise<ContentPointer> {
  const p = await packedOr404(ctx, 'content', name, version)
  await authorizeNodeRead(ctx, 'content', name, version, req)
  return { ...artifact('content', name, version, p), public: await isPublic(ctx.store, name, version) }
}

export function registerFetchRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const schema = (withVersion: boolean) => ({
    summary: withVersion ? 'Where to fetch one content version' : 'Where to fetch the latest version of some content',
    description:
      'Node-facing. Answered without a token for content published with --public, otherwise with the admin token (docs/content.md).',
    tags: ['content'],
    params: {
      type: 'object',
      additionalProperties: false,
      required: withVersion ? ['name', 'version'] : ['name'],
      properties: withVersion ? { name: nameProp, version: nameProp } : { name: nameProp },
    },
    response: { 200: contentPointerSchema, ...errorResponses(400, 404) },
  })
  app.get<Req>('/api/v1/fetch/:name', { schema: schema(false) }, async (req) => {
    const { name } = req.params
    const latest = await ctx.catalog.latestPacked('content', name)
    if (latest === undefined) {
      const any = (await ctx.catalog.versions('content', name)).length > 0
      throw errors.notFound(
        'content',
        name,
        any ? 'no version of it is packed yet' : 'publish it: imgswarm publish DIR NAME',
      )
    }
    return pointer(ctx, req, name, latest)
  })
  app.get<Req>('/api/v1/fetch/:name/:version', { schema: schema(true) }, async (req) =>
    pointer(ctx, req, req.params.name, req.params.version as string),
  )
}
