// The dashboard's static files (seeder/dashboard/static/), read once at
// start and served from memory with their types, an ETag (revalidated on
// every load: the names carry no hash) and a strict Content-Security-Policy.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
}

/** No inline script or style, nothing from elsewhere, no framing. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

interface StaticFile {
  body: Buffer
  type: string
  etag: string
}

/** Where the files are: beside this module when run from source, or under the package root from the CLI bundle (dist/). */
export function staticDir(): string {
  const candidates = [
    fileURLToPath(new URL('./static/', import.meta.url)),
    fileURLToPath(new URL('../seeder/dashboard/static/', import.meta.url)),
  ]
  for (const d of candidates) if (existsSync(join(d, 'index.html'))) return d
  return candidates[0] as string
}

async function load(dir: string): Promise<Map<string, StaticFile>> {
  const out = new Map<string, StaticFile>()
  // A package without the files (a trimmed install) still serves the API.
  if (!existsSync(dir)) return out
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const full = join(e.parentPath, e.name)
    const type = TYPES[extname(e.name)]
    if (type === undefined) continue
    const body = await readFile(full)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    out.set(relative(dir, full).split(sep).join('/'), { body, type, etag })
  }
  return out
}

export async function registerStatic(app: FastifyInstance, dir = staticDir()): Promise<void> {
  const files = await load(dir)
  const send = (reply: FastifyReply, f: StaticFile, ifNoneMatch: string | undefined) => {
    reply.headers(SECURITY_HEADERS)
    reply.header('etag', f.etag)
    reply.header('cache-control', 'no-cache')
    if (ifNoneMatch?.split(/\s*,\s*/).includes(f.etag)) return reply.code(304).send()
    return reply.type(f.type).send(f.body)
  }
  const hidden = { hide: true, tags: ['dashboard'] }
  app.get('/', { schema: { ...hidden, summary: 'Redirects to the dashboard' } }, async (_req, reply) =>
    reply.redirect('/ui/', 302),
  )
  app.get('/ui', { schema: { ...hidden, summary: 'Redirects to the dashboard' } }, async (_req, reply) =>
    reply.redirect('/ui/', 302),
  )
  app.get<{ Params: { '*': string } }>(
    '/ui/*',
    { schema: { ...hidden, summary: 'The dashboard (static files)' } },
    async (req, reply) => {
      const path = req.params['*'] === '' ? 'index.html' : req.params['*']
      const f = files.get(path)
      if (!f) {
        return reply
          .code(404)
          .headers(SECURITY_HEADERS)
          .type('application/json; charset=utf-8')
          .send({ error: { code: 'IMGSWARM_ERR_NOT_FOUND', message: `no dashboard file ${path.slice(0, 200)}` } })
      }
      const inm = req.headers['if-none-match']
      return send(reply, f, typeof inm === 'string' ? inm : undefined)
    },
  )
}
