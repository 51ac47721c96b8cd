// Finish started pieces before starting new ones. webtorrent's rarest-first
// picks a random piece among the equally rare ones each time a peer's
// request pipeline has room, so with a deep pipeline it keeps starting new
// pieces and leaves earlier ones partly requested: pieces complete late, and
// every started piece holds its buffer (piece.ts) meanwhile, so memory grew
// with the download. Here each refill first tops the pipeline up from the
// pieces already started (libtorrent's "prefer partial pieces"); what room is
// left goes to webtorrent's own rarest-first choice. Installed by tuning.ts.

type Wire = {
  type: string
  destroyed: boolean
  peerChoking: boolean
  requests: unknown[]
  peerPieces: { get(i: number): boolean }
  downloadSpeed(): number
  peerExtendedHandshake?: { reqq?: unknown }
}

export type PartialHost = {
  pieces: unknown[]
  bitfield: { get(i: number): boolean }
  _request(wire: Wire, index: number, hotswap: boolean): boolean
  /** Ours: pieces with at least one block requested and not yet verified. */
  _started?: Set<number>
}

/** Wraps torrent.js `_request` to remember which pieces were started. */
export function trackStarted(proto: Record<string, unknown>): void {
  const request = proto._request as PartialHost['_request']
  proto._request = function (this: PartialHost, wire: Wire, index: number, hotswap: boolean) {
    const ok = request.call(this, wire, index, hotswap)
    if (ok) {
      this._started ??= new Set()
      this._started.add(index)
    }
    return ok
  }
}

/** Requests the unreserved blocks of started pieces from `wire`, up to `max` requests. */
export function fillFromStarted(t: PartialHost, wire: Wire, max: number): void {
  const started = t._started
  if (!started || started.size === 0 || wire.type === 'webSeed' || wire.destroyed || wire.peerChoking) return
  for (const index of started) {
    if (wire.requests.length >= max) return
    if (!t.pieces[index] || t.bitfield.get(index)) {
      started.delete(index)
      continue
    }
    if (!wire.peerPieces.get(index)) continue
    while (wire.requests.length < max && t._request(wire, index, false)) {
      // request every block of this piece not yet asked for
    }
  }
}
