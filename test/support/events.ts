// Reads the node events a real `serve` stored, with the store's admin token.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface StoredEvent {
  node: string
  step: string
  percent?: number
  bytesDown?: number
  bytesUp?: number
  peers?: number
  code?: string
  logTail?: string[]
  message?: string
}

export async function storedEvents(url: string, storeRoot: string, node?: string): Promise<StoredEvent[]> {
  const token = (await readFile(join(storeRoot, 'keys', 'admin.token'), 'utf8')).trim()
  const q = node === undefined ? '' : `&node=${encodeURIComponent(node)}`
  const res = await fetch(`${url}/api/v1/events?limit=10000${q}`, { headers: { authorization: `Bearer ${token}` } })
  if (res.status !== 200) throw new Error(`GET events: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { events: StoredEvent[] }).events
}
