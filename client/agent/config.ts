// The agent's files in the installed system (docs/agent.md):
//   /etc/imgswarm/agent.json   server, pinned key (and CA), node name, image version (0600)
//   /etc/imgswarm/node.key     the node's ed25519 private key, PKCS#8 PEM (0600, root)
// Both are written by the install's enrol step; the agent rewrites the image
// version after each update.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { loadNodeKey } from '../../common/node-auth.ts'
import { writeTargetFile } from '../identity/index.ts'

export const AGENT_FILE = '/etc/imgswarm/agent.json'
export const KEY_FILE = '/etc/imgswarm/node.key'
export const EXCLUDE_FILE = '/etc/imgswarm/update.exclude'
/** The agent's work folder (downloads, extraction), excluded from updates. */
export const WORK = '/var/lib/imgswarm-agent'

export interface AgentFile {
  schema: 'imgswarm/agent@1'
  /** The image server, e.g. http://10.0.0.1:8470. */
  server: string
  /** The server's manifest-signing public key, SPKI PEM. */
  pubkey: string
  node: string
  mac: string | null
  hostname: string | null
  /** NAME@VER this system runs. */
  image: string
  /** The pinned CA of an https:// server (PEM), as the install had it; null for http://. */
  ca?: string | null
}

export interface AgentConfig {
  root: string
  file: AgentFile
  pubkey: KeyObject
  key: { key: KeyObject; keyId: string }
}

const REF = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/

function check(file: string, v: unknown): AgentFile {
  const bad = (d: string) => errors.agentConfig(file, d)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object')
  const o = v as Record<string, unknown>
  const known = ['schema', 'server', 'pubkey', 'node', 'mac', 'hostname', 'image', 'ca']
  for (const k of Object.keys(o)) if (!known.includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`)
  if (o.schema !== 'imgswarm/agent@1') throw bad('schema must be "imgswarm/agent@1"')
  if (typeof o.server !== 'string' || !/^https?:\/\/[^/\s]+$/.test(o.server))
    throw bad('server must be http(s)://HOST[:PORT]')
  if (typeof o.pubkey !== 'string' || !o.pubkey.includes('PUBLIC KEY')) throw bad('pubkey must be a PEM public key')
  if (typeof o.node !== 'string' || o.node.length === 0 || o.node.length > 253) throw bad('node must be a name')
  for (const k of ['mac', 'hostname'] as const) {
    if (o[k] !== null && typeof o[k] !== 'string') throw bad(`${k} must be a string or null`)
  }
  if (typeof o.image !== 'string' || !REF.test(o.image)) throw bad('image must be NAME@VER')
  if (o.ca !== undefined && o.ca !== null && (typeof o.ca !== 'string' || !o.ca.includes('CERTIFICATE'))) {
    throw bad('ca must be a PEM certificate or null')
  }
  return o as unknown as AgentFile
}

/** Reads agent.json and node.key under `root` (/ on a running node; a mount point with --root). */
export async function loadAgentConfig(root: string): Promise<AgentConfig> {
  const file = join(root, AGENT_FILE)
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw errors.agentConfig(file, `cannot read it (${e.code ?? e.message}); this node was not enrolled`)
  })
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw errors.agentConfig(file, 'not valid JSON')
  }
  const f = check(file, parsed)
  const keyFile = join(root, KEY_FILE)
  const st = await lstat(keyFile).catch(() => undefined)
  if (!st?.isFile()) throw errors.agentConfig(keyFile, 'missing (or not a regular file)')
  if ((st.mode & 0o077) !== 0) {
    throw errors.agentConfig(keyFile, `other users can read it (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`)
  }
  let key: AgentConfig['key']
  let pubkey: KeyObject
  try {
    key = loadNodeKey(await readFile(keyFile, 'utf8'))
  } catch (e) {
    throw errors.agentConfig(keyFile, `not an ed25519 private key (${(e as Error).message})`)
  }
  try {
    pubkey = createPublicKey(f.pubkey)
  } catch {
    throw errors.agentConfig(file, 'pubkey is not a valid public key')
  }
  return { root, file: f, pubkey, key }
}

export async function saveAgentFile(root: string, f: AgentFile): Promise<void> {
  await writeTargetFile(root, AGENT_FILE, `${JSON.stringify(f, null, 2)}\n`, 0o600)
}
