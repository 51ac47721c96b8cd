// The admin bearer token: made on the server's first start, kept in
// STORE/keys/admin.token (0600), compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'

export const ADMIN_TOKEN_FILE = 'admin.token'
const MIN_TOKEN = 16

async function readToken(file: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  const st = await stat(file)
  if ((st.mode & 0o077) !== 0) {
    throw errors.config(
      file,
      `other users can read the admin token (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  }
  const token = text.trim()
  if (token.length < MIN_TOKEN || /\s/.test(token)) {
    throw errors.config(file, `the admin token must be at least ${MIN_TOKEN} characters without spaces`)
  }
  return token
}

/** Reads STORE/keys/admin.token, creating it (32 random bytes, base64url, mode 0600) on first use. */
export async function loadOrCreateAdminToken(storeRoot: string): Promise<string> {
  const dir = join(storeRoot, 'keys')
  const file = join(dir, ADMIN_TOKEN_FILE)
  const existing = await readToken(file)
  if (existing !== undefined) return existing
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  try {
    // link() fails if the file exists: two servers starting at once agree on one token.
    await link(tmp, file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  } finally {
    await unlink(tmp)
  }
  return (await readToken(file)) as string
}

export class AdminAuth {
  readonly #digest: Buffer

  constructor(token: string) {
    if (token.length < MIN_TOKEN) throw errors.usage(`the admin token must be at least ${MIN_TOKEN} characters`)
    this.#digest = createHash('sha256').update(token).digest()
  }

  /** True when the request carries the right `Authorization: Bearer` token. */
  check(req: FastifyRequest): boolean {
    const h = req.headers.authorization
    if (typeof h !== 'string') return false
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(h)
    if (!m) return false
    // Comparing digests keeps the comparison constant-time whatever the length.
    return timingSafeEqual(
      createHash('sha256')
        .update(m[1] as string)
        .digest(),
      this.#digest,
    )
  }

  /** A preHandler that refuses requests without the token. */
  require = async (req: FastifyRequest): Promise<void> => {
    const h = req.headers.authorization
    if (h === undefined) throw errors.unauthorized('missing')
    if (!this.check(req)) throw errors.unauthorized('not accepted')
  }
}
