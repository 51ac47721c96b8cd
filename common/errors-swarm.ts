// Error codes of the swarm engine (client/swarm/engine).
import { define, HOSTILE, USAGE } from './error-core.ts'

export const swarmErrors = {
  swarmTorrent: define('IMGSWARM_ERR_SWARM_TORRENT', HOSTILE, (detail: string) => ({
    message: `the torrent cannot be used for an install: ${detail}`,
    hint: 're-pack the image on the server (imgswarm image pack) and check that the client fetched the right .torrent',
  })),
  swarmBitfield: define('IMGSWARM_ERR_SWARM_BITFIELD', USAGE, (have: number, want: number) => ({
    message: `resume bitfield has ${have} bytes, the torrent needs ${want}`,
    hint: 'the resume state belongs to another image version: discard it and start the download over',
  })),
  swarmListen: define('IMGSWARM_ERR_SWARM_LISTEN', 1, (port: number, detail: string) => ({
    message: `cannot listen for peers on port ${port}: ${detail}`,
    hint: 'another program holds the port: choose another one, or 0 for any free port',
  })),
  swarmAborted: define('IMGSWARM_ERR_SWARM_ABORTED', 1, (what: string) => ({
    message: `${what} was cancelled`,
  })),
  swarmStore: define('IMGSWARM_ERR_SWARM_STORE', 1, (detail: string) => ({
    message: `cannot store downloaded data: ${detail}`,
    hint: 'check free space and that the target disk is healthy and mounted read-write',
  })),
  swarm: define('IMGSWARM_ERR_SWARM', 1, (detail: string) => ({
    message: `download failed: ${detail}`,
    hint: 'check that the tracker and web seed (imgswarm serve) are reachable from this node',
  })),
}
