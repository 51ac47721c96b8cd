// One side of the benchmark in its own process, with the engine's settings:
//   node bench/throughput/peer.ts seed  TORRENT DIR   (prints {"port":N}, seeds until SIGTERM)
//   node bench/throughput/peer.ts leech TORRENT DIR   (prints {"ms":..,"bytes":..,"peakRssMb":..} when done)
import { readFileSync } from 'node:fs'
import { startSwarm } from '../../client/swarm/engine/index.ts'

const [mode, torrentFile, dir] = process.argv.slice(2)
if ((mode !== 'seed' && mode !== 'leech') || !torrentFile || !dir) {
  console.error('usage: node bench/throughput/peer.ts seed|leech TORRENT DIR')
  process.exit(2)
}
const torrent = readFileSync(torrentFile)
const warn = (m: string) => console.error(`${mode}: ${m}`)
const mb = (n: number) => n >> 20
/** BENCH_TRACE=1: progress and memory once a second, on stderr. */
function trace(t0: number, percent: number): void {
  const m = process.memoryUsage()
  const t = Math.round(performance.now() - t0)
  console.error(
    `${t} ms ${percent}% rss ${mb(m.rss)} heap ${mb(m.heapUsed)} ext ${mb(m.external)} ab ${mb(m.arrayBuffers)} MB`,
  )
}

if (mode === 'seed') {
  // The seeder's file is complete: a full bitfield, trusted as on resume.
  const { pieces } = await import('../../common/torrent.ts').then((m) => m.parseTorrentInfo(torrent, torrentFile))
  const n = pieces.length / 20
  const bits = new Uint8Array(Math.ceil(n / 8)).fill(0xff)
  const s = await startSwarm({ torrent, path: dir, bitfield: bits, onWarning: warn })
  await s.done
  console.log(JSON.stringify({ port: s.port }))
  const stop = () =>
    void s.destroy().then(() => {
      const cpu = process.cpuUsage()
      if (process.env.BENCH_TRACE) console.error(`seeder cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms`)
      process.exit(0)
    })
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const t0 = performance.now()
  const s = await startSwarm({
    torrent,
    path: dir,
    onWarning: warn,
    ...(process.env.BENCH_TRACE ? { onProgress: (p: { percent: number }) => trace(t0, p.percent) } : {}),
  })
  const st = await s.done
  const ms = performance.now() - t0
  await s.destroy()
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024)
  const cpu = process.cpuUsage()
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000)
  if (process.env.BENCH_TRACE)
    console.error(`leecher cpu user ${Math.round(cpu.user / 1000)} sys ${Math.round(cpu.system / 1000)} ms`)
  console.log(JSON.stringify({ ms, bytes: st.bytesDown, peakRssMb, cpuMs, failed: st.piecesFailed }))
  process.exit(0)
}
