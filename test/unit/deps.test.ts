// The dependency traps from NOTES.md stay fixed in the repository: Node 24
// comes with the project, and webtorrent / bittorrent-tracker load through
// the WebRTC stub without the native node-datachannel.
import { describe, expect, it } from 'vitest'

describe('toolchain', () => {
  it('runs on Node 24 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24)
  })

  it('loads webtorrent and bittorrent-tracker through the WebRTC stub', async () => {
    const { default: WebTorrent } = await import('webtorrent')
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: false })
    expect(typeof client.add).toBe('function')
    await new Promise<void>((resolve) => client.destroy(() => resolve()))
    const tracker = await import('bittorrent-tracker')
    expect(typeof tracker.Server).toBe('function')
  })
})
