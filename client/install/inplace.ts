// The image, installed in place: every verified piece goes straight into its
// final file (client/swarm/inplace). Meanwhile the archive is checked in
// order, from the written pieces (or read back from the tree): its SHA-256
// must match the signed manifest and every header the index, or the install
// fails. Then links and directory metadata are placed
// and the tree is frozen, so that later changes (overrides, identity) are
// never served to peers as image bytes.
import type { IndexTable } from '../../common/tarindex/index.ts'
import type { VerifiedArtifact } from '../plan/index.ts'
import type { SwarmSession } from '../swarm/engine/index.ts'
import {
  InPlaceStore,
  type InPlaceTarget,
  indexDigest,
  loadWrittenPieces,
  prepareInPlace,
} from '../swarm/inplace/index.ts'
import { checkSha, download, refOf, type SwarmInit } from './artifact.ts'
import { collectGarbage, startGovernor } from './memory.ts'

export interface InPlaceInstall {
  session: SwarmSession
  target: InPlaceTarget
}

export async function installInPlace(
  a: VerifiedArtifact,
  index: IndexTable,
  targetDir: string,
  mountPoints: string[],
  init: SwarmInit,
  enter: (s: 'download' | 'extract', m: string) => void,
): Promise<InPlaceInstall> {
  const indexHash = a.manifest.index?.sha256 ?? indexDigest(index)
  const sig = init.signal === undefined ? {} : { signal: init.signal }
  const target = await prepareInPlace({
    index,
    targetDir,
    pieceLength: a.torrentInfo.pieceLength,
    infoHash: a.artifact.infoHash,
    indexHash,
    mountPoints,
    ...sig,
    onWarning: init.warn,
  })
  let bitfield: Uint8Array | undefined
  if (target.resumed) {
    bitfield =
      (await loadWrittenPieces(targetDir, {
        infoHash: a.artifact.infoHash,
        indexHash,
        pieceCount: target.pieceCount,
      })) ?? undefined
    init.say(
      `${refOf(a)}: resuming an interrupted install: ${target.pieceCount - target.missing} of ${target.pieceCount} pieces already in place`,
    )
  } else init.say(`${refOf(a)}: ${index.length} entries laid out; pieces go straight into their files`)
  // The index's parse garbage goes now, before piece buffers start to stream through.
  collectGarbage()
  let session: SwarmSession | undefined
  // The archive is checked in order while the pieces arrive (and those already on disk are read
  // back): after the last piece only the end of the archive is left to hash.
  const check = target.startCheck()
  const governor = startGovernor()
  try {
    session = await download(
      a,
      { store: InPlaceStore, storeOpts: { inplace: target }, ...(bitfield === undefined ? {} : { bitfield }) },
      init,
    )
    governor.stop()
    enter('extract', `${refOf(a)}: all pieces in place; finishing the whole-archive check`)
    const got = await check.done
    checkSha(a, got.sha256, `${refOf(a)} as installed`)
    await target.finalize(init.signal)
    await target.freeze()
    init.say(
      `${refOf(a)}: SHA-256 verified over ${got.entries} entries (${check.stats.fromMemory} pieces hashed as written, ` +
        `${check.stats.readBack} read back); links and directory metadata placed`,
    )
    return { session, target }
  } catch (e) {
    governor.stop()
    check.cancel()
    await session?.destroy().catch(() => undefined)
    await target.close().catch(() => undefined)
    throw e
  }
}
