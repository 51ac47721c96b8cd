// The image server's public surface (this issue: store and packer; the
// tracker, seeder and API come with `serve`).

export { PACKER_ID, type PackOptions, type PackResult, packTreeToFile, packVersion } from './packer/pack.ts'
export type { TarStats } from './packer/tarstream.ts'
export { parseTorrentInfo, type TorrentInfo } from './packer/torrent-read.ts'
export { type VerifyReport, verifyPacked } from './packer/verify.ts'
export { type TreeTotals, treeTotals } from './packer/walk.ts'
export { loadOrCreateSigningKey, loadPublicKey, type SigningKey } from './store/keys.ts'
export { checkSourceDir, type Kind, type PackedInfo, Store, type VersionInfo, type VersionMeta } from './store/store.ts'
