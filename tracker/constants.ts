// Numbers that come from specs or that we chose once; each says where from.

/** BEP 15 (UDP tracker protocol): the protocol_id a CONNECT request carries in its first 8 bytes. */
export const UDP_PROTOCOL_ID = 0x41727101980n

/** BEP 15 actions, the 32-bit field at offset 8 of every request and offset 0 of every response. */
export const UDP_ACTION = { CONNECT: 0, ANNOUNCE: 1, SCRAPE: 2, ERROR: 3 } as const

/** BEP 15: every request starts with connection_id (8), action (4), transaction_id (4). */
export const UDP_HEADER_LENGTH = 16
/** BEP 15: a CONNECT response is action, transaction_id, connection_id. */
export const UDP_CONNECT_RESPONSE_LENGTH = 16
/** BEP 15: an IPv4 ANNOUNCE request is 98 bytes; BEP 41 may append options after it. */
export const UDP_ANNOUNCE_MIN_LENGTH = 98
/** BEP 15: offset of the optional IP address field of an ANNOUNCE request. */
export const UDP_ANNOUNCE_IP_OFFSET = 84
/** BEP 15: "up to about 74 torrents can be scraped at once". */
export const UDP_SCRAPE_MAX_HASHES = 74
/** Length of an info hash (BEP 3, SHA-1). */
export const INFO_HASH_LENGTH = 20

/**
 * BEP 15: a client may use a connection id for one minute, a tracker should
 * accept it for two. Ids are minted per window of this length and both the
 * current and the previous window are accepted, so an id lives 2 to 4 minutes.
 */
export const CONNECTION_ID_WINDOW_MS = 2 * 60 * 1000

/** Our port (HTTP and UDP) when none is given: next to the server's 8470. */
export const DEFAULT_TRACKER_PORT = 8471
/** A fleet reimage is one swarm of every node: the library's 1000 would silently evict most of them. */
export const DEFAULT_PEERS_CACHE_LENGTH = 100_000
/** Installs last minutes, not hours: peers must learn of new seeders quickly (the library says 10 min). */
export const DEFAULT_ANNOUNCE_INTERVAL_SEC = 30
/** Enough peers for a client's connection budget (webtorrent uses 55 per torrent), small replies. */
export const DEFAULT_MAX_NUMWANT = 200
/** BEP 3 leaves numwant's default to the tracker; 50 is what most trackers and the library use. */
export const DEFAULT_NUMWANT = 50
/**
 * UDP replies hold at most this many peers whatever numwant says: 82 × 6 + 20
 * = 512 bytes, the datagram size that never fragments (the library's limit too).
 */
export const UDP_MAX_PEERS = 82
/** A peer that has not announced for this many intervals is forgotten (it crashed or was reimaged). */
export const PEER_TTL_INTERVALS = 4
