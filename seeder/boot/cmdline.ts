// The installer's kernel command line, for the iPXE reimage script, boot
// info (node reimage --local) and boot media: the server, the node's MAC,
// the pinned key when the initramfs has none, the consoles, build.json's
// extra parameters.
import { createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PUBLIC_KEY_FILE } from '../store/keys.ts'
import { safeArgs } from './script.ts'

/** Console on the screen and on the first serial port, so both a crash cart and a serial console see the install. */
export const CONSOLE_ARGS = 'console=tty0 console=ttyS0,115200'

export interface CmdlineInit {
  publicUrl: string
  mac?: string | undefined
  /** build.json, if any. */
  build: Record<string, unknown> | undefined
  keysDir: string
  extra?: string
  /** Told when build.json's cmdline is not passed on. */
  warn?: (cmdline: string) => void
}

export async function installerCmdline(c: CmdlineInit): Promise<string> {
  const parts = [`imgswarm.server=${c.publicUrl}`]
  if (c.mac !== undefined) parts.push(`imgswarm.mac=${c.mac}`)
  if (!pinsKey(c.build)) {
    const key = await rawPublicKey(c.keysDir)
    if (key) parts.push(`imgswarm.pubkey=${key}`)
  }
  parts.push(CONSOLE_ARGS)
  const fromBuild = typeof c.build?.cmdline === 'string' ? c.build.cmdline.trim() : ''
  if (fromBuild && safeArgs(fromBuild)) parts.push(fromBuild)
  else if (fromBuild) c.warn?.(fromBuild)
  if (c.extra) parts.push(c.extra)
  return parts.join(' ')
}

/** True when build.json says the initramfs carries the server's public key (`boot build` writes pubkey: KEY or null). */
export function pinsKey(build: Record<string, unknown> | undefined): boolean {
  if (!build) return false
  const k = build.pubkey ?? build.publicKey ?? build.keyId
  return typeof k === 'string' ? k.length > 0 : k !== undefined && k !== null && k !== false
}

/** The raw 32-byte ed25519 key, base64 (the imgswarm.pubkey= form), or undefined without a key. */
export async function rawPublicKey(keysDir: string): Promise<string | undefined> {
  const pem = await readFile(join(keysDir, PUBLIC_KEY_FILE), 'utf8').catch(() => undefined)
  if (pem === undefined) return undefined
  const der = createPublicKey(pem).export({ format: 'der', type: 'spki' })
  return der.subarray(der.length - 32).toString('base64')
}
