// The plan is a pointer; the signed manifest is what the client trusts. These
// checks tie the two together, and the served torrent to the manifest.
import { createHash } from 'node:crypto'
import { errors } from '../../common/errors.ts'
import type { Manifest } from '../../common/manifest.ts'
import { formatRef, parseRef } from '../../common/names.ts'
import type { DirectArtifact, InstallPlan, PlanArtifact } from '../../common/plan.ts'
import { IndexTable, parseIndex } from '../../common/tarindex/index.ts'
import type { TorrentInfo } from '../../common/torrent.ts'

/** imgswarm.image is a pin: the plan must name that image (and version, if given), never replaced by it. */
export function checkPin(pin: string | undefined, plan: InstallPlan): void {
  if (pin === undefined) return
  const want = parseRef(pin, 'image')
  const got = plan.image
  if (want.name !== got.name || (want.version !== undefined && want.version !== got.version)) {
    throw errors.imagePin(pin, formatRef(got.name, got.version))
  }
}

/** Every field the plan states about an archive must be what the signed manifest says. */
export function checkManifestAgainstPlan(
  m: Manifest,
  a: PlanArtifact | DirectArtifact,
  kind: 'image' | 'override',
  where: string,
): void {
  const pairs: Array<[string, unknown, unknown]> = [
    ['kind', m.kind, kind],
    ['name', m.name, a.name],
    ['version', m.version, a.version],
    // A direct override has no info hash in the plan: its bytes never come from the swarm.
    ...('infoHash' in a ? [['torrent.infoHash', m.torrent.infoHash, a.infoHash] as [string, unknown, unknown]] : []),
    ['archive.size', m.archive.size, a.size],
    ['archive.sha256', m.archive.sha256, a.sha256],
    ['archive.compression', m.archive.compression, a.compression],
  ]
  for (const [field, signed, planned] of pairs) {
    if (signed !== planned) {
      throw errors.planMismatch(
        where,
        `the signed manifest says ${field} ${JSON.stringify(signed)}, the plan says ${JSON.stringify(planned)}`,
      )
    }
  }
}

/**
 * The info hash covers the whole info dictionary, so equality with the
 * signed hash makes the pieces trustworthy; the other fields are checked
 * so a mismatch is reported plainly rather than as a failed download.
 */
export function checkTorrentAgainstManifest(t: TorrentInfo, m: Manifest, where: string): void {
  const pairs: Array<[string, unknown, unknown]> = [
    ['info hash', t.infoHash, m.torrent.infoHash],
    ['length', t.length, m.archive.size],
    ['piece length', t.pieceLength, m.torrent.pieceLength],
    ['piece count', t.pieces.length / 20, m.torrent.pieces],
    ['name', t.name, m.archive.file],
  ]
  for (const [field, got, signed] of pairs) {
    if (got !== signed) {
      throw errors.checksum(
        where,
        `the torrent's ${field} ${JSON.stringify(got)} differs from the signed manifest's ${JSON.stringify(signed)}`,
      )
    }
  }
}

/**
 * The fetched archive index must be the one the signed manifest names (size
 * and SHA-256); even then it is parsed as hostile input, against the signed
 * archive size, before anything trusts an offset in it. The entries go
 * straight into a compact table: the client keeps it for the whole install.
 */
export function checkIndexAgainstManifest(bytes: Buffer, m: Manifest, where: string): IndexTable {
  const signed = m.index
  if (signed === undefined) throw errors.checksum(where, 'the signed manifest lists no archive index')
  if (bytes.length !== signed.size) {
    throw errors.checksum(where, `the archive index has ${bytes.length} bytes, the signed manifest says ${signed.size}`)
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== signed.sha256) {
    throw errors.checksum(
      where,
      `the archive index's SHA-256 ${sha256} differs from the signed manifest's ${signed.sha256}`,
    )
  }
  const table = new IndexTable(m.archive.size)
  parseIndex(bytes, { archiveSize: m.archive.size, maxBytes: signed.size, onEntry: (e) => table.add(e) })
  return table.finish()
}
