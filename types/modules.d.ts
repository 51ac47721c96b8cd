// Minimal declarations for dependencies that ship no types. Only what we use.
declare module 'webtorrent' {
  const WebTorrent: new (
    opts?: Record<string, unknown>,
  ) => {
    add: (...args: unknown[]) => unknown
    destroy: (cb?: (err?: Error) => void) => void
  }
  export default WebTorrent
}
declare module 'bittorrent-tracker' {
  export const Server: new (opts?: Record<string, unknown>) => unknown
  export const Client: new (opts?: Record<string, unknown>) => unknown
}
declare module 'parse-torrent' {
  interface Parsed {
    infoHash: string
    private?: boolean
    pieceLength?: number
    pieces?: string[]
    announce?: string[]
    urlList?: string[]
    created?: Date
    name?: string
    length?: number
  }
  export default function parseTorrent(torrent: Buffer | string): Promise<Parsed>
}
