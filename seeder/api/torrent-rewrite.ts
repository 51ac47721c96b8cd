// Served .torrent files point at this server: the announce URL and the web
// seed are rewritten to the public URL, whatever the packer wrote. The info
// dictionary is copied byte for byte, so the info hash cannot change.
import { type BDecoded, type BValue, bdecode, bencode } from '../../common/bencode.ts'
import { errors } from '../../common/errors.ts'

function toBValue(d: BDecoded): BValue {
  if (typeof d === 'number' || Buffer.isBuffer(d)) return d
  if (Array.isArray(d)) return d.map(toBValue)
  const o: Record<string, BValue> = {}
  for (const [k, v] of d) o[k] = toBValue(v)
  return o
}

export interface TorrentUrls {
  announce: string
  /** BEP 19 base URL ending in `/`: clients append the file name. */
  webseed: string
}

export function rewriteTorrent(buf: Buffer, urls: TorrentUrls, file: string): Buffer {
  let decoded: ReturnType<typeof bdecode>
  try {
    decoded = bdecode(buf)
  } catch (e) {
    throw errors.checksum(file, `not a valid .torrent (${(e as Error).message})`)
  }
  const top = decoded.value
  const span = decoded.spans.get('info')
  if (!(top instanceof Map) || !span) throw errors.checksum(file, 'not a valid .torrent (no info dictionary)')
  const rawInfo = buf.subarray(span[0], span[1])
  const fields = new Map<string, Buffer>()
  for (const [k, v] of top) {
    if (k === 'info' || k === 'announce' || k === 'announce-list' || k === 'url-list') continue
    fields.set(k, bencode(toBValue(v)))
  }
  // One tracker: announce-list would only repeat it (BEP 12 clients prefer announce-list).
  fields.set('announce', bencode(urls.announce))
  fields.set('url-list', bencode([urls.webseed]))
  fields.set('info', rawInfo)
  // Keys in raw byte order, as bencoding requires.
  const keys = [...fields.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const parts: Buffer[] = [Buffer.from('d')]
  for (const k of keys) {
    const kb = Buffer.from(k, 'utf8')
    parts.push(Buffer.from(`${kb.length}:`), kb, fields.get(k) as Buffer)
  }
  parts.push(Buffer.from('e'))
  return Buffer.concat(parts)
}
