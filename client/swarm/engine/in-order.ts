// Rarest first, but ties broken by the lowest piece number while every
// connected peer is a seed (typically: one node and the server, or a late
// node whose swarm has finished). webtorrent picks at random among the
// equally rare pieces. That random choice is what keeps leechers from all
// asking the seeder for the same pieces, so it stays whenever a leecher is
// connected. With seeds only there is nobody to diverge from, and pieces that
// arrive roughly in order let the in-place store hash the archive as it
// comes instead of reading it back at the end (docs/in-place-extraction.md).
// Installed by tuning.ts.

type Wire = { isSeeder?: boolean }

type RarityInternals = {
  _torrent: { wires: Wire[] } | null
  _numPieces: number
  _pieces: number[]
}

/** True when every connected wire (web seeds included) is known to be a seed. */
export function seedsOnly(wires: Wire[]): boolean {
  if (wires.length === 0) return false
  for (const w of wires) if (w.isSeeder !== true) return false
  return true
}

export function patchRarityMap(proto: Record<string, unknown>): void {
  const stock = proto.getRarestPiece as (this: RarityInternals, filter?: (i: number) => boolean) => number
  proto.getRarestPiece = function (this: RarityInternals, filter?: (i: number) => boolean): number {
    const t = this._torrent
    if (!t || !seedsOnly(t.wires)) return stock.call(this, filter)
    let best = -1
    let min = Number.POSITIVE_INFINITY
    for (let i = 0; i < this._numPieces; i++) {
      if (filter && !filter(i)) continue
      const a = this._pieces[i] as number
      if (a < min) {
        min = a
        best = i
      }
    }
    return best
  }
}
