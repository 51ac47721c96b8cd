// Seeding after the install: stay while some connected peer still misses
// pieces we could give it, within a maximum time. "Misses" is read from the
// peer's own bitfield and HAVE messages, not from its interest flag, which
// lags behind a HAVE by a round trip.
import { errors } from '../../../common/errors.ts'
import type { WtTorrent, WtWire } from './wt-types.ts'

const CHECK_MS = 250
const DEFAULT_QUIET_MS = 3000

function needsPieces(wire: WtWire, n: number): boolean {
  if (wire.type === 'webSeed' || wire.destroyed) return false
  for (let i = 0; i < n; i++) if (!wire.peerPieces.get(i)) return true
  return false
}

/** True when a connected peer misses a piece (resolves once no peer has for quietMs, or at maxMs). */
export function seedWhileNeeded(
  torrent: WtTorrent,
  o: { maxMs: number; quietMs?: number; signal?: AbortSignal },
): Promise<void> {
  if (o.signal?.aborted) return Promise.reject(errors.swarmAborted('seeding'))
  const quietMs = o.quietMs ?? DEFAULT_QUIET_MS
  const start = Date.now()
  let lastNeeded = start
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearInterval(timer)
      o.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve()
    }
    const onAbort = () => finish(errors.swarmAborted('seeding'))
    const check = () => {
      const now = Date.now()
      if (torrent.destroyed) return finish()
      const n = torrent.pieces.length
      if (torrent.wires.some((w) => needsPieces(w, n))) lastNeeded = now
      if (now - start >= o.maxMs || now - lastNeeded >= quietMs) finish()
    }
    const timer = setInterval(check, Math.max(10, Math.min(CHECK_MS, quietMs, o.maxMs)))
    o.signal?.addEventListener('abort', onAbort, { once: true })
    check()
  })
}
