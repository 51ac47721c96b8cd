// Images and overrides: admin listings, node-facing torrent/manifest reads,
// admin pack and remove.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { errors } from '../../common/errors.ts'
import { formatRef } from '../../common/names.ts'
import type { Kind } from '../store/store.ts'
import { type ApiContext, authorizeNodeRead, KINDS, packedOr404, referenced } from './context.ts'
import { errorResponses } from './http-errors.ts'
import { ADMIN, nameParams, nameSummarySchema, versionParams, versionSummarySchema } from './schemas.ts'
import { rewriteTorrent } from './torrent-rewrite.ts'

async function versionSummary(ctx: ApiContext, kind: Kind, name: string, version: string) {
  const info = await ctx.store.info(kind, name, version)
  const m = info.packed?.manifest
  return {
    version,
    ref: info.ref,
    createdAt: info.meta?.createdAt ?? null,
    note: info.meta?.note ?? null,
    packed: m
      ? {
          file: m.archive.file,
          size: m.archive.size,
          sha256: m.archive.sha256,
          infoHash: m.torrent.infoHash,
          compression: m.archive.compression,
          packedAt: m.createdAt,
        }
      : null,
    referenced: await referenced(ctx, kind, name, version),
  }
}

async function nameSummary(ctx: ApiContext, kind: Kind, name: string) {
  const versions = await ctx.store.versions(kind, name)
  return { name, versions: await Promise.all(versions.map((v) => versionSummary(ctx, kind, name, v))) }
}

type VersionReq = { Params: { name: string; version: string } }
type NameReq = { Params: { name: string } }

export function registerArtifacts(app: FastifyInstance, ctx: ApiContext, pack?: ApiPack): void {
  for (const [segment, kind] of KINDS) {
    const base = `/api/v1/${segment}`
    const tags = [segment]
    const admin = { onRequest: ctx.auth.require }

    app.get(
      base,
      {
        ...admin,
        schema: {
          summary: `List ${segment} with their versions and packed files`,
          tags,
          security: ADMIN,
          response: {
            200: {
              type: 'object',
              required: ['items'],
              properties: { items: { type: 'array', items: nameSummarySchema } },
            },
            ...errorResponses(401),
          },
        },
      },
      async () => {
        const names = await ctx.store.names(kind)
        return { items: await Promise.all(names.map((n) => nameSummary(ctx, kind, n))) }
      },
    )

    app.get<NameReq>(
      `${base}/:name`,
      {
        ...admin,
        schema: {
          summary: `The versions of one ${kind}`,
          tags,
          security: ADMIN,
          params: nameParams,
          response: { 200: nameSummarySchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        const s = await nameSummary(ctx, kind, req.params.name)
        if (s.versions.length === 0) throw errors.notFound(kind, req.params.name)
        return s
      },
    )

    app.get<VersionReq>(
      `${base}/:name/:version`,
      {
        ...admin,
        schema: {
          summary: `One ${kind} version`,
          tags,
          security: ADMIN,
          params: versionParams,
          response: { 200: versionSummarySchema, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        const { name, version } = req.params
        if (!(await ctx.store.versions(kind, name)).includes(version)) {
          throw errors.notFound(kind, formatRef(name, version))
        }
        return versionSummary(ctx, kind, name, version)
      },
    )

    const nodeRead = (
      suffix: string,
      summary: string,
      contentType: string,
      body: (p: Awaited<ReturnType<typeof packedOr404>>, name: string, version: string) => Promise<Buffer>,
    ) =>
      app.get<VersionReq>(
        `${base}/:name/:version/${suffix}`,
        {
          schema: {
            summary,
            description:
              'Node-facing, no token. Served only when an install plan points to this version (see docs/api.md).',
            tags,
            params: versionParams,
            response: {
              200: { description: summary, content: { [contentType]: { schema: {} } } },
              ...errorResponses(400, 404),
            },
          },
        },
        async (req, reply) => {
          const { name, version } = req.params
          const p = await packedOr404(ctx, kind, name, version)
          await authorizeNodeRead(ctx, kind, name, version, req)
          const bytes = await body(p, name, version)
          return reply.type(contentType).header('cache-control', 'no-cache').send(bytes)
        },
      )

    nodeRead('torrent', `The .torrent of a packed ${kind}, pointing at this server`, 'application/x-bittorrent', (p) =>
      readFile(p.torrent).then((b) =>
        rewriteTorrent(
          b,
          // The full file URL: webtorrent never appends the name to a single-file
          // web seed ending in '/' (BEP 19 says it should), aria2 does; both
          // accept the complete URL.
          {
            announce: `${ctx.publicUrl}/announce`,
            webseed: `${ctx.publicUrl}/webseed/${segment}/${p.manifest.archive.file}`,
          },
          p.torrent,
        ),
      ),
    )
    // The manifest's exact bytes: its signature covers them.
    nodeRead('manifest', `The signed manifest of a packed ${kind}, byte for byte`, 'application/json', (p) =>
      readFile(p.manifestFile),
    )
    nodeRead('manifest.sig', `The ed25519 signature of the manifest`, 'application/json', (p) =>
      readFile(p.signatureFile),
    )

    const packed = { type: 'object', required: ['ref'], properties: { ref: { type: 'string' }, result: {} } } as const
    const doPack = async (ref: string) => {
      if (!pack) throw errors.notSupported('packing over the API')
      try {
        return { ref, result: await pack(kind, ref) }
      } finally {
        ctx.catalog.invalidate()
      }
    }
    app.post<VersionReq>(
      `${base}/:name/:version/pack`,
      {
        ...admin,
        schema: {
          summary: `Pack one ${kind} version (a no-op if it is packed)`,
          tags,
          security: ADMIN,
          params: versionParams,
          response: { 200: packed, ...errorResponses(400, 401, 404, 501) },
        },
      },
      (req) => doPack(formatRef(req.params.name, req.params.version)),
    )
    app.post<NameReq>(
      `${base}/:name/pack`,
      {
        ...admin,
        schema: {
          summary: `Pack the latest version of a ${kind}`,
          tags,
          security: ADMIN,
          params: nameParams,
          response: { 200: packed, ...errorResponses(400, 401, 404, 501) },
        },
      },
      (req) => doPack(req.params.name),
    )

    app.delete<VersionReq>(
      `${base}/:name/:version`,
      {
        ...admin,
        schema: {
          summary: `Remove one ${kind} version (refused while a plan points to it)`,
          tags,
          security: ADMIN,
          params: versionParams,
          response: {
            200: { type: 'object', required: ['removed'], properties: { removed: { type: 'string' } } },
            ...errorResponses(400, 401, 404, 409),
          },
        },
      },
      async (req) => {
        const { name, version } = req.params
        const ref = formatRef(name, version)
        if (!(await ctx.store.versions(kind, name)).includes(version)) throw errors.notFound(kind, ref)
        if (await referenced(ctx, kind, name, version)) {
          throw errors.inUse(ref, `an install plan in ${ctx.plansOrigin} points to it`)
        }
        try {
          await ctx.store.remove(kind, name, version)
        } finally {
          ctx.catalog.invalidate()
        }
        return { removed: ref }
      },
    )
  }
}

export type ApiPack = (kind: Kind, ref: string) => Promise<unknown>
