// Leeching with our own client library (webtorrent), as the install client will.
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'

export interface LeechResult {
  file: string
  downloaded: number
  webseedBytes: number
  peerBytes: number
}

export async function leech(
  torrent: Buffer,
  dir: string,
  opts: { webSeeds: boolean; timeoutMs?: number },
): Promise<LeechResult> {
  const out = await mkdtemp(join(dir, 'leech-'))
  // biome-ignore lint/suspicious/noExplicitAny: webtorrent ships no types
  const client: any = new WebTorrent({
    dht: false,
    lsd: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: opts.webSeeds,
  })
  try {
    return await new Promise<LeechResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('leech timed out')), opts.timeoutMs ?? 90_000)
      const t = client.add(torrent, { path: out, strategy: 'rarest' })
      let webseedBytes = 0
      let peerBytes = 0
      t.on('wire', (wire: { type: string; on: (e: string, cb: (n: number) => void) => void }) => {
        wire.on('download', (n: number) => {
          if (wire.type === 'webSeed') webseedBytes += n
          else peerBytes += n
        })
      })
      t.on('error', (e: Error) => reject(e))
      t.on('done', () => {
        clearTimeout(timer)
        resolve({ file: join(out, t.files[0].path), downloaded: t.downloaded, webseedBytes, peerBytes })
      })
    })
  } finally {
    await new Promise((r) => client.destroy(r))
  }
}
