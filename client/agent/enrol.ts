// The install's enrol step (docs/agent.md, "Enrolment"): after the image
// verified, the client makes the node's ed25519 key pair, registers the
// public key with the server using the one-time enrol token of its signed
// plan (the request signed with the new key), and writes the agent's files
// into the installed system (0600); when the image has systemd it also
// installs imgswarm-agent.service with the runtime it needs
// (/opt/imgswarm/{node,imgswarm.mjs}).

import type { KeyObject } from 'node:crypto'
import { chmod, copyFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { isImgswarmError } from '../../common/errors.ts'
import { generateNodeKey, loadNodeKey } from '../../common/node-auth.ts'
import {
  isFileInTarget,
  removeTargetFile,
  targetDirectory,
  targetExecutable,
  writeTargetFile,
} from '../identity/index.ts'
import { AGENT_FILE, KEY_FILE, saveAgentFile } from './config.ts'
import { signedPost } from './http.ts'

export const UNIT_NAME = 'imgswarm-agent.service'
export const DISABLE_FILE = '/etc/imgswarm/agent.disable'
export const RUNTIME_DIR = '/opt/imgswarm'

export const UNIT = `[Unit]
Description=imgswarm node agent: delta updates and overrides from the image server (docs/agent.md)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=${RUNTIME_DIR}/node ${RUNTIME_DIR}/imgswarm.mjs agent
Restart=always
RestartSec=30

[Install]
WantedBy=multi-user.target
`

export interface EnrolInit {
  server: string
  /** The enrol token of the verified plan; undefined: the server issued none (no fleet database). */
  token: string | undefined
  pubkey: KeyObject
  /** The pinned CA of an https:// server (PEM). */
  ca?: string | undefined
  fetchImpl?: typeof fetch | undefined
  mac?: string | undefined
  hostname?: string | undefined
  /** NAME@VER just installed. */
  image: string
  say: (line: string) => void
  warn: (line: string) => void
  /**
   * The node binary and the imgswarm bundle to copy into the image for the unit.
   * Default: IMGSWARM_AGENT_NODE / IMGSWARM_AGENT_BUNDLE, else this process's own when it runs from
   * a bundle (the initramfs runs `node /imgswarm.mjs`); null: install no unit.
   */
  runtime?: { node: string; bundle: string } | null
}

export interface EnrolResult {
  enrolled: boolean
  node?: string
  keyId?: string
  /** The systemd unit was installed. */
  unit: boolean
  reason?: string
}

function defaultRuntime(): { node: string; bundle: string } | null {
  const node = process.env.IMGSWARM_AGENT_NODE || process.execPath
  const bundle = process.env.IMGSWARM_AGENT_BUNDLE || (process.argv[1]?.endsWith('.mjs') ? process.argv[1] : undefined)
  return bundle === undefined ? null : { node, bundle }
}

async function installUnit(target: string, init: EnrolInit): Promise<string | undefined> {
  const systemd =
    (await isFileInTarget(target, '/lib/systemd/systemd')) || (await isFileInTarget(target, '/usr/lib/systemd/systemd'))
  if (!systemd) return 'the image has no systemd'
  if (await isFileInTarget(target, DISABLE_FILE)) return `the image has ${DISABLE_FILE}`
  const rt = init.runtime === undefined ? defaultRuntime() : init.runtime
  if (rt === null) return 'no imgswarm bundle to copy (not running from dist/imgswarm.mjs)'
  const dir = await targetDirectory(target, RUNTIME_DIR)
  if ((await targetExecutable(target, `${RUNTIME_DIR}/node`)) === undefined) {
    await copyFile(rt.node, join(dir, 'node'))
    await chmod(join(dir, 'node'), 0o755)
  }
  await removeTargetFile(target, `${RUNTIME_DIR}/imgswarm.mjs`)
  await copyFile(rt.bundle, join(dir, 'imgswarm.mjs'))
  await chmod(join(dir, 'imgswarm.mjs'), 0o644)
  await targetDirectory(target, '/etc/systemd/system/multi-user.target.wants')
  await writeTargetFile(target, `/etc/systemd/system/${UNIT_NAME}`, UNIT, 0o644)
  const wants = join(await targetDirectory(target, '/etc/systemd/system/multi-user.target.wants'), UNIT_NAME)
  await removeTargetFile(target, `/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`)
  await symlink(`../${UNIT_NAME}`, wants)
  return undefined
}

/** Never fails the install: a refused or failed enrolment is a warning, and the node simply has no agent. */
export async function enrolNode(target: string, init: EnrolInit): Promise<EnrolResult> {
  if (init.token === undefined) {
    const reason = 'the plan carries no enrol token (a local plan, or a server without a fleet database)'
    init.warn(`not enrolled, so no agent on this node: ${reason}`)
    return { enrolled: false, unit: false, reason }
  }
  const k = generateNodeKey()
  let answer: { node: string; keyId: string }
  try {
    const r = await signedPost(
      init.server,
      '/api/v1/agent/enrol',
      {
        token: init.token,
        ...(init.mac ? { mac: init.mac } : {}),
        ...(init.hostname ? { hostname: init.hostname } : {}),
        publicKey: k.publicRaw,
        image: init.image,
      },
      loadNodeKey(k.privatePem),
      init.fetchImpl,
    )
    answer = r.json as { node: string; keyId: string }
  } catch (e) {
    const reason = `${isImgswarmError(e) ? `${e.code}: ` : ''}${(e as Error).message}`
    init.warn(`not enrolled, so no agent on this node: ${reason}`)
    return { enrolled: false, unit: false, reason }
  }
  let skipped: string | undefined
  try {
    await targetDirectory(target, '/etc/imgswarm')
    // Files the image shipped must not lend us their mode or owner.
    await removeTargetFile(target, KEY_FILE)
    await writeTargetFile(target, KEY_FILE, k.privatePem, 0o600)
    await removeTargetFile(target, AGENT_FILE)
    await saveAgentFile(target, {
      schema: 'imgswarm/agent@1',
      server: init.server.replace(/\/+$/, ''),
      pubkey: init.pubkey.export({ format: 'pem', type: 'spki' }).toString(),
      node: answer.node,
      mac: init.mac ?? null,
      hostname: init.hostname ?? null,
      image: init.image,
      ca: init.ca ?? null,
    })
    skipped = await installUnit(target, init)
  } catch (e) {
    const reason = `cannot write the credential into the installed system: ${(e as Error).message}`
    init.warn(`enrolled, but no agent on this node: ${reason}`)
    return { enrolled: false, unit: false, reason }
  }
  init.say(
    `enrolled as ${answer.node} (key ${answer.keyId})` +
      (skipped === undefined ? `; ${UNIT_NAME} installed` : `; no agent unit: ${skipped}`),
  )
  return { enrolled: true, node: answer.node, keyId: answer.keyId, unit: skipped === undefined }
}
