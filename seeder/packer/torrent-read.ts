// Moved to common/torrent.ts so the install client can use it without
// importing seeder/; kept here so existing importers keep working.
export { parseTorrentInfo, type TorrentInfo } from '../../common/torrent.ts'
