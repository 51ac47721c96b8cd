// In-place extraction: the install client's chunk store. Each verified piece
// of the (uncompressed) image archive is written straight into the final
// files on the target, in any order; bytes that belong to no file go to a
// side file. docs/in-place-extraction.md describes the design.
export { type ArchiveCheck, checkArchiveAgainstIndex } from './check.ts'
export type { InPlaceInit } from './prepare.ts'
export { indexDigest, loadWrittenPieces, type StateMatch, WORK_DIR } from './state.ts'
export { InPlaceStore, type InPlaceStoreOpts } from './store.ts'
export { type InPlaceOptions, InPlaceTarget, prepareInPlace } from './target.ts'
