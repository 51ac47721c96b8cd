// Reads back the fields of a single-file .torrent that verification needs.
// Shared: the packer verifies its own output with it, and the install client
// checks a served torrent against the signed manifest.
import { createHash } from 'node:crypto'
import { type BDecoded, bdecode } from './bencode.ts'
import { errors } from './errors.ts'

export interface TorrentInfo {
  infoHash: string
  name: string
  length: number
  pieceLength: number
  pieces: Buffer
  private: boolean
  announce: string[]
  webseeds: string[]
}

function asMap(v: BDecoded | undefined): Map<string, BDecoded> | undefined {
  return v instanceof Map ? v : undefined
}

export function parseTorrentInfo(buf: Buffer, file: string): TorrentInfo {
  let d: ReturnType<typeof bdecode>
  try {
    d = bdecode(buf)
  } catch (e) {
    throw errors.checksum(file, `not a valid .torrent (${(e as Error).message})`)
  }
  const top = asMap(d.value)
  const info = asMap(top?.get('info'))
  const span = d.spans.get('info')
  if (!top || !info || !span) throw errors.checksum(file, 'not a valid .torrent (no info dictionary)')
  const length = info.get('length')
  const pieceLength = info.get('piece length')
  const pieces = info.get('pieces')
  const name = info.get('name')
  if (
    typeof length !== 'number' ||
    typeof pieceLength !== 'number' ||
    !Buffer.isBuffer(pieces) ||
    !Buffer.isBuffer(name)
  ) {
    throw errors.checksum(file, 'not a single-file torrent with length, piece length, pieces and name')
  }
  const str = (v: BDecoded | undefined) => (Buffer.isBuffer(v) ? v.toString('utf8') : undefined)
  const announce: string[] = []
  const a = str(top.get('announce'))
  if (a) announce.push(a)
  const tiers = top.get('announce-list')
  if (Array.isArray(tiers))
    for (const t of tiers)
      if (Array.isArray(t))
        for (const u of t) if (str(u) && !announce.includes(str(u) as string)) announce.push(str(u) as string)
  const ul = top.get('url-list')
  const webseeds = Array.isArray(ul) ? ul.map(str).filter((x): x is string => !!x) : str(ul) ? [str(ul) as string] : []
  return {
    infoHash: createHash('sha1').update(buf.subarray(span[0], span[1])).digest('hex'),
    name: name.toString('utf8'),
    length,
    pieceLength,
    pieces,
    private: info.get('private') === 1,
    announce,
    webseeds,
  }
}
