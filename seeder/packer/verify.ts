// `image verify`: the signature first (nothing else is trusted before it),
// then the archive's size and SHA-256 against the manifest, then the
// torrent: its info hash and every piece hash against the archive bytes;
// last the archive index, when the manifest lists one: its hash, then its
// contents by the same rules the install client applies.
import { createHash, type KeyObject } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { errors } from '../../common/errors.ts'
import { type Manifest, verifyManifest } from '../../common/manifest.ts'
import { parseIndex } from '../../common/tarindex/index.ts'
import type { PackedInfo } from '../store/store.ts'
import { PieceHasher } from './hasher.ts'
import { parseTorrentInfo } from './torrent-read.ts'

export interface VerifyReport {
  manifest: Manifest
  keyId: string
  checks: string[]
}

export async function verifyPacked(
  info: PackedInfo,
  pub: KeyObject,
  opts: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<VerifyReport> {
  const checks: string[] = []
  const manifest = verifyManifest(
    await readFile(info.manifestFile),
    await readFile(info.signatureFile),
    pub,
    info.manifestFile,
  )
  const sig = JSON.parse(await readFile(info.signatureFile, 'utf8')) as { keyId: string }
  checks.push(`signature ok (ed25519 key ${sig.keyId})`)
  const file = info.archive
  const st = await stat(file).catch(() => undefined)
  if (!st) throw errors.checksum(file, 'archive missing')
  if (st.size !== manifest.archive.size) {
    throw errors.checksum(file, `size is ${st.size} bytes, the manifest says ${manifest.archive.size}`)
  }
  const torrentInfo = parseTorrentInfo(await readFile(info.torrent), info.torrent)
  if (torrentInfo.infoHash !== manifest.torrent.infoHash) {
    throw errors.checksum(
      info.torrent,
      `info hash ${torrentInfo.infoHash} differs from the manifest's ${manifest.torrent.infoHash}`,
    )
  }
  if (torrentInfo.length !== st.size || torrentInfo.pieceLength !== manifest.torrent.pieceLength) {
    throw errors.checksum(info.torrent, 'torrent length or piece length differs from the manifest')
  }
  checks.push(`torrent info hash ${torrentInfo.infoHash} matches`)
  const hasher = new PieceHasher(torrentInfo.pieceLength)
  let done = 0
  for await (const chunk of createReadStream(file, {
    highWaterMark: 1 << 20,
    ...(opts.signal ? { signal: opts.signal } : {}),
  })) {
    hasher.update(chunk as Buffer)
    done += (chunk as Buffer).length
    opts.onProgress?.(done, st.size)
  }
  const h = hasher.finish()
  if (h.sha256 !== manifest.archive.sha256) {
    throw errors.checksum(file, `SHA-256 ${h.sha256} differs from the manifest's ${manifest.archive.sha256}`)
  }
  checks.push(`archive SHA-256 ${h.sha256} matches (${st.size} bytes)`)
  if (!h.pieces.equals(torrentInfo.pieces)) {
    const n = h.pieces.length / 20
    let bad = 0
    for (let i = 0; i < n; i++)
      if (!h.pieces.subarray(i * 20, i * 20 + 20).equals(torrentInfo.pieces.subarray(i * 20, i * 20 + 20))) bad++
    throw errors.checksum(info.torrent, `${bad} of ${n} piece hashes do not match the archive`)
  }
  checks.push(`all ${h.pieces.length / 20} piece hashes match`)
  if (manifest.index !== undefined) checks.push(await verifyIndex(info, manifest))
  return { manifest, keyId: sig.keyId, checks }
}

async function verifyIndex(info: PackedInfo, manifest: Manifest): Promise<string> {
  const signed = manifest.index
  const file = info.index
  if (signed === undefined || file === undefined) throw errors.checksum(info.manifestFile, 'no archive index listed')
  const bytes = await readFile(file).catch(() => undefined)
  if (bytes === undefined) throw errors.checksum(file, 'archive index missing')
  if (bytes.length !== signed.size) {
    throw errors.checksum(file, `size is ${bytes.length} bytes, the manifest says ${signed.size}`)
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== signed.sha256)
    throw errors.checksum(file, `SHA-256 ${sha256} differs from the manifest's ${signed.sha256}`)
  const index = parseIndex(bytes, { archiveSize: manifest.archive.size, maxBytes: signed.size })
  return `archive index SHA-256 ${sha256} matches (${index.entries.length} entries)`
}
