// The parts of webtorrent 3's objects the engine touches (webtorrent ships no
// types). Structural, internal to the engine; read lib/torrent.js and
// bittorrent-protocol's index.js for what they mean.

export interface WtBitField {
  get(i: number): boolean
  buffer: Uint8Array
}

export interface WtWire {
  type: string
  peerId: string
  remoteAddress?: string
  remotePort?: number
  /** Web seeds only. */
  url?: string
  peerPieces: WtBitField
  peerInterested: boolean
  peerChoking: boolean
  destroyed: boolean
  requests: unknown[]
  on(ev: 'piece', cb: (index: number, offset: number, buf: Uint8Array) => void): void
  on(ev: 'download' | 'upload', cb: (n: number) => void): void
  on(ev: string, cb: (...a: never[]) => void): void
  once(ev: string, cb: (...a: never[]) => void): void
  destroy(): void
}

export interface WtTorrent {
  infoHash: string
  ready: boolean
  done: boolean
  destroyed: boolean
  progress: number
  length: number
  pieceLength: number
  pieces: unknown[]
  bitfield: WtBitField
  wires: WtWire[]
  numPeers: number
  downloadSpeed: number
  uploadSpeed: number
  private: boolean
  /** The chunk store (behind webtorrent's cache); get reads a whole verified piece. */
  store: { get(index: number, cb: (err: Error | null, buf?: Uint8Array) => void): void } | null
  on(ev: 'wire', cb: (wire: WtWire, addr?: string) => void): void
  on(ev: 'verified', cb: (index: number) => void): void
  on(ev: 'warning' | 'error', cb: (err: Error | string) => void): void
  on(ev: string, cb: (...a: never[]) => void): void
  once(ev: string, cb: (...a: never[]) => void): void
  removePeer(id: string): void
  /** Internal: every outgoing connection attempt (tracker peers and reconnects) goes through it. */
  _addPeer(peer: unknown, type: string, source: unknown): unknown
  /** Internal: reserves and requests blocks of piece `index` from `wire`; false when none was requested. */
  _request(wire: WtWire, index: number, hotswap: boolean): boolean
  /** Internal: start-up verification of the store, replaced on resume (see session.ts). */
  _verifyPieces(cb: (err: Error | null) => void): void
}

export interface WtClient {
  torrentPort: number
  listening: boolean
  peerId: string
  add(t: unknown, opts: Record<string, unknown>): WtTorrent
  destroy(cb: (err?: Error | string) => void): void
  on(ev: string, cb: (...a: never[]) => void): void
  once(ev: string, cb: (...a: never[]) => void): void
}
