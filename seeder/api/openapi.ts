// OpenAPI 3.1 from the routes' own JSON schemas: the schemas that validate
// requests are the documentation, so the two cannot drift apart.
import type { FastifyInstance, RouteOptions } from 'fastify'
import { errorSchema } from './http-errors.ts'

const ERROR_JSON = JSON.stringify(errorSchema)

interface Collected {
  method: string
  url: string
  schema: Record<string, unknown>
}

const routes = new WeakMap<FastifyInstance, Collected[]>()

/** Call before registering routes: remembers every route's schema. */
export function collectRoutes(app: FastifyInstance): void {
  const list: Collected[] = []
  routes.set(app, list)
  app.addHook('onRoute', (r: RouteOptions) => {
    const schema = (r.schema ?? {}) as Record<string, unknown>
    if (schema.hide === true) return
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
      // HEAD only where we declared it ourselves (the web seed), not fastify's automatic copies.
      if (m === 'HEAD' && !r.url.startsWith('/webseed/')) continue
      list.push({ method: m.toLowerCase(), url: r.url, schema })
    }
  })
}

type Obj = Record<string, unknown>

function parameters(schema: Obj | undefined, where: 'path' | 'query' | 'header'): Obj[] {
  if (!schema) return []
  const props = (schema.properties ?? {}) as Record<string, Obj>
  const required = new Set((schema.required ?? []) as string[])
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    }
  })
}

function responses(resp: Obj | undefined): Obj {
  const out: Obj = {}
  for (const [code, raw] of Object.entries(resp ?? {})) {
    const { description, content, ...schema } = raw as Obj
    const desc = typeof description === 'string' ? description : 'response'
    if (content !== undefined) {
      const c: Obj = {}
      for (const [type, v] of Object.entries(content as Obj)) {
        const s = (v as Obj).schema as Obj | undefined
        c[type] = { schema: s && Object.keys(s).length > 0 ? s : { type: 'string', contentMediaType: type } }
      }
      out[code] = { description: desc, content: c }
    } else {
      const ref = JSON.stringify(schema) === ERROR_JSON ? { $ref: '#/components/schemas/Error' } : schema
      out[code] = { description: desc, content: { 'application/json': { schema: ref } } }
    }
  }
  return out
}

export function openApiDocument(app: FastifyInstance, info: { version: string; serverUrl?: string }): Obj {
  const paths: Record<string, Obj> = {}
  for (const r of routes.get(app) ?? []) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    const s = r.schema
    const op: Obj = {
      summary: s.summary,
      ...(s.description ? { description: s.description } : {}),
      ...(s.tags ? { tags: s.tags } : {}),
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      parameters: [
        ...parameters(s.params as Obj | undefined, 'path'),
        ...parameters(s.querystring as Obj | undefined, 'query'),
        ...parameters(s.headers as Obj | undefined, 'header'),
      ],
      responses: responses(s.response as Obj | undefined),
      ...(s.security ? { security: s.security } : { security: [] }),
    }
    if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: s.body } } }
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op }
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)))
  return {
    openapi: '3.1.0',
    info: {
      title: 'imgswarm image server API',
      version: info.version,
      description: 'See docs/api.md for the auth model, the plan schema and web seed behaviour.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'the admin token from STORE/keys/admin.token' },
        nodeSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'Imgswarm-Node key=KEYID, ts=UNIX_MS, nonce=RANDOM, sig=BASE64: an ed25519 signature by the node credential (docs/agent.md)',
        },
      },
    },
    paths: sorted,
  }
}
