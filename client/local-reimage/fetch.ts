// Downloads the installer's kernel and initramfs and checks them against
// what the server's /api/v1/boot/info says: exact size and SHA-256. Written
// to a temp name and renamed only once both checks pass.
import { createHash } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { CONTROL } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'

/** Neither file is anywhere near this; a bigger answer is not ours. */
export const MAX_BOOT_FILE = 1024 * 1024 * 1024
const SHA256 = /^[0-9a-f]{64}$/

export interface BootInfo {
  kernel: { size: number; sha256: string }
  initramfs: { size: number; sha256: string }
  cmdline: string
}

export async function fetchBootInfo(server: string, mac: string, signal?: AbortSignal): Promise<BootInfo> {
  const url = `${server}/api/v1/boot/info?mac=${encodeURIComponent(mac)}`
  let res: Response
  try {
    res = await fetch(url, { signal: signal ?? null })
  } catch (e) {
    throw errors.localReimage(
      `cannot reach ${server}: ${(e as Error).message}`,
      'check --server (or server_url) and the network',
    )
  }
  if (!res.ok) throw errors.localReimage(`${url} answered ${res.status}`, 'is it an imgswarm server (imgswarm serve)?')
  const v = (await res.json()) as Record<string, unknown>
  const file = (name: 'kernel' | 'initramfs') => {
    const f = v[name] as { size?: unknown; sha256?: unknown } | null | undefined
    if (f === null || f === undefined) {
      throw errors.localReimage(`the server has no installer ${name}`, 'build it on the server: imgswarm boot build')
    }
    if (!Number.isSafeInteger(f.size) || (f.size as number) <= 0 || (f.size as number) > MAX_BOOT_FILE) {
      throw errors.bootDownload(name, `the server gave an impossible size ${JSON.stringify(f.size)}`)
    }
    if (typeof f.sha256 !== 'string' || !SHA256.test(f.sha256)) {
      throw errors.bootDownload(name, 'the server gave no SHA-256')
    }
    return { size: f.size as number, sha256: f.sha256 }
  }
  if (typeof v.cmdline !== 'string' || v.cmdline.length > 4096 || CONTROL.test(v.cmdline) || v.cmdline.includes('"')) {
    throw errors.bootDownload('command line', 'not plain kernel parameters')
  }
  return { kernel: file('kernel'), initramfs: file('initramfs'), cmdline: v.cmdline }
}

/** GET url into dest; throws unless the bytes are exactly `size` long with this SHA-256. */
export async function download(
  url: string,
  dest: string,
  want: { size: number; sha256: string },
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const tmp = `${dest}.part`
  let res: Response
  try {
    res = await fetch(url, { signal: signal ?? null })
  } catch (e) {
    throw errors.localReimage(`cannot download ${url}: ${(e as Error).message}`)
  }
  if (!res.ok || !res.body) throw errors.localReimage(`${url} answered ${res.status}`)
  const h = createHash('sha256')
  let n = 0
  const fd = await open(tmp, 'w', 0o600)
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      n += chunk.length
      if (n > want.size) throw errors.bootDownload(what, `more than the ${want.size} bytes the server announced`)
      h.update(chunk)
      await fd.write(chunk)
    }
    await fd.sync()
  } catch (e) {
    await fd.close().catch(() => {})
    await rm(tmp, { force: true })
    throw e
  }
  await fd.close()
  const sha = h.digest('hex')
  if (n !== want.size || sha !== want.sha256) {
    await rm(tmp, { force: true })
    throw errors.bootDownload(
      what,
      n !== want.size
        ? `${n} bytes, the server announced ${want.size}`
        : `SHA-256 ${sha}, the server announced ${want.sha256}`,
    )
  }
  await rename(tmp, dest)
}
