// The install client's swarm engine: downloads one private torrent with
// webtorrent (tracker and web seed only, rarest-first), serves every verified
// piece to other nodes meanwhile, resumes from a bitfield, bans peers that
// send corrupt data, and seeds afterwards while others still need pieces.
// Settings and behaviour: docs/swarm.md.
export {
  type SeedOptions,
  type SwarmOptions,
  type SwarmSession,
  startSwarm,
} from './session.ts'
export { clientOptions, torrentOptions } from './settings.ts'
export type { SwarmStats } from './stats.ts'
