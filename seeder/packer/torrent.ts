// The .torrent for a packed archive: single file, private (BEP 27), our own
// announce URLs only (never public trackers), a BEP 19 web seed, and no
// creation date, so the same archive always gives the same file.
import { createHash } from 'node:crypto'
import { bencode } from '../../common/bencode.ts'

export interface TorrentInit {
  /** File name in the torrent, e.g. `base@3.tar.zst`. */
  name: string
  length: number
  pieceLength: number
  /** Concatenated 20-byte SHA-1 piece hashes. */
  pieces: Buffer
  announce: string[]
  webseeds: string[]
  createdBy: string
  comment?: string
}

export interface BuiltTorrent {
  file: Buffer
  infoHash: string
}

export function buildTorrent(t: TorrentInit): BuiltTorrent {
  if (t.announce.length === 0) throw new Error('a torrent needs at least one announce URL')
  const info = {
    length: t.length,
    name: t.name,
    'piece length': t.pieceLength,
    pieces: t.pieces,
    private: 1,
  }
  const infoHash = createHash('sha1').update(bencode(info)).digest('hex')
  const file = bencode({
    announce: t.announce[0] as string,
    // BEP 12: one tier per URL, tried in order.
    'announce-list': t.announce.length > 1 ? t.announce.map((u) => [u]) : undefined,
    comment: t.comment,
    'created by': t.createdBy,
    info,
    'url-list': t.webseeds.length > 0 ? t.webseeds : undefined,
  })
  return { file, infoHash }
}
