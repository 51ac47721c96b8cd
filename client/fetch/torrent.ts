// Content fetched with the admin token has no web seed it may use (a web
// seed request carries no token): the torrent's url-list is cut out, byte
// exact, so the info dictionary and its hash stay what was verified.
import { bdecode } from '../../common/bencode.ts'
import { parseTorrentInfo } from '../../common/torrent.ts'

const KEY = Buffer.from('8:url-list')

export function withoutWebseeds(torrent: Buffer): Buffer {
  const { spans } = bdecode(torrent)
  const span = spans.get('url-list')
  if (span === undefined) return torrent
  const keyStart = span[0] - KEY.length
  if (keyStart < 0 || !torrent.subarray(keyStart, span[0]).equals(KEY)) return torrent
  const out = Buffer.concat([torrent.subarray(0, keyStart), torrent.subarray(span[1])])
  // Paranoia: the cut must leave the same info hash and no web seed.
  const before = parseTorrentInfo(torrent, 'torrent')
  const after = parseTorrentInfo(out, 'torrent')
  if (after.infoHash !== before.infoHash || after.webseeds.length > 0) return torrent
  return out
}
