// The dashboard password: an scrypt hash in STORE/keys/dashboard.pass (0600),
// set by `imgswarm dashboard password`, read with the same care as the admin
// token (private mode, strict format, bounded cost so a hostile file cannot
// make every login burn a gigabyte of memory).
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'

export const PASSWORD_FILE = 'dashboard.pass'
export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 1024
const KEY_LEN = 32
const DEFAULT_COST = { N: 1 << 15, r: 8, p: 1 }
const MAX_N = 1 << 20

export interface PasswordHash {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

function derive(password: string, salt: Buffer, c: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: c.N, r: c.r, p: c.p, maxmem: 256 * c.N * c.r + 1024 * 1024 }
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

export function checkPasswordRules(password: string): void {
  if (password.length < PASSWORD_MIN) throw errors.password(`at least ${PASSWORD_MIN} characters, please`)
  if (password.length > PASSWORD_MAX) throw errors.password(`at most ${PASSWORD_MAX} characters`)
  if (/[\0\r\n]/.test(password)) throw errors.password('no line breaks or NUL characters')
}

/** `scrypt$N$r$p$SALT$HASH` (base64url), one line. */
export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  checkPasswordRules(password)
  const salt = randomBytes(16)
  const hash = await derive(password, salt, cost)
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`
}

export function parsePasswordHash(text: string, file: string): PasswordHash {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/.exec(text.trim())
  if (!m) throw errors.config(file, 'not a dashboard password hash; set it again with imgswarm dashboard password')
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // N a power of two, and a memory cost (128 N r bytes) this server can afford per login.
  if (N < 1024 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > 16 || p < 1 || p > 4) {
    throw errors.config(file, `scrypt cost N=${N} r=${r} p=${p} is out of range; set the password again`)
  }
  return { N, r, p, salt: Buffer.from(m[4] as string, 'base64url'), hash: Buffer.from(m[5] as string, 'base64url') }
}

/** The stored hash, or undefined when no password is set. Refuses a file other users can read. */
export async function readPasswordHash(storeRoot: string): Promise<PasswordHash | undefined> {
  const file = join(storeRoot, 'keys', PASSWORD_FILE)
  let text: string
  try {
    const st = await stat(file)
    if (!st.isFile() || st.size > 4096) throw errors.config(file, 'not a dashboard password hash file')
    if ((st.mode & 0o077) !== 0) {
      throw errors.config(
        file,
        `other users can read the dashboard password hash (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      )
    }
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  return parsePasswordHash(text, file)
}

export async function verifyPassword(password: string, h: PasswordHash): Promise<boolean> {
  if (password.length === 0 || password.length > PASSWORD_MAX) return false
  const got = await derive(password, h.salt, h)
  return got.length === h.hash.length && timingSafeEqual(got, h.hash)
}

/** Writes STORE/keys/dashboard.pass (0600) atomically; returns its path. */
export async function setPassword(storeRoot: string, password: string): Promise<string> {
  const dir = join(storeRoot, 'keys')
  const file = join(dir, PASSWORD_FILE)
  const line = `${await hashPassword(password)}\n`
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, line, { mode: 0o600, flag: 'wx' })
  try {
    await rename(tmp, file)
  } catch (e) {
    await unlink(tmp).catch(() => undefined)
    throw e
  }
  return file
}

/** Removes the password: only the admin token logs in then. True if there was one. */
export async function clearPassword(storeRoot: string): Promise<boolean> {
  try {
    await unlink(join(storeRoot, 'keys', PASSWORD_FILE))
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}
