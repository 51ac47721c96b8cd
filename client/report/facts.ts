// The node's hardware facts for the inventory: CPU, memory, disks and NICs,
// read from /proc and /sys, sent once with the `config` event. Best effort:
// whatever cannot be read is left out, and it never fails the install.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  FACTS_MAX_DISKS,
  FACTS_MAX_NICS,
  FACTS_MODEL_MAX,
  FACTS_NAME_MAX,
  type NodeFacts,
} from '../../common/events.ts'

/** Block devices that are not disks a node installs to. */
const NOT_DISKS = /^(loop|ram|zram|fd|sr|nbd|dm-|md)/
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return undefined
  }
}

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

const clip = (s: string, n: number) => s.slice(0, n)

function cpu(root: string): NodeFacts['cpu'] {
  const info = read(join(root, 'proc/cpuinfo')) ?? ''
  const count = info.split('\n').filter((l) => /^processor\s*:/.test(l)).length
  const model = /^(?:model name|Processor|cpu model|uarch)\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown'
  return { model: clip(model, FACTS_MODEL_MAX), count }
}

function memoryBytes(root: string): number {
  const kb = /^MemTotal:\s+(\d+)\s+kB/m.exec(read(join(root, 'proc/meminfo')) ?? '')?.[1]
  return kb === undefined ? 0 : Number(kb) * 1024
}

function disks(root: string): NodeFacts['disks'] {
  const out: NodeFacts['disks'] = []
  for (const name of list(join(root, 'sys/block'))) {
    if (NOT_DISKS.test(name) || out.length >= FACTS_MAX_DISKS) continue
    const sectors = Number(read(join(root, 'sys/block', name, 'size')) ?? 0)
    const model = read(join(root, 'sys/block', name, 'device/model'))
    out.push({
      name: clip(name, FACTS_NAME_MAX),
      sizeBytes: Number.isSafeInteger(sectors * 512) ? sectors * 512 : 0,
      model: model ? clip(model, FACTS_MODEL_MAX) : null,
    })
  }
  return out
}

function nics(root: string): NodeFacts['nics'] {
  const out: NodeFacts['nics'] = []
  for (const name of list(join(root, 'sys/class/net'))) {
    // Only interfaces backed by a device: no loopback, bridges, veths or tunnels.
    if (!existsSync(join(root, 'sys/class/net', name, 'device')) || out.length >= FACTS_MAX_NICS) continue
    const mac = read(join(root, 'sys/class/net', name, 'address'))?.toLowerCase()
    const speed = Number(read(join(root, 'sys/class/net', name, 'speed')))
    out.push({
      name: clip(name, FACTS_NAME_MAX),
      mac: mac !== undefined && MAC.test(mac) ? mac : null,
      speedMbps: Number.isInteger(speed) && speed > 0 ? speed : null,
    })
  }
  return out
}

/** Reads the facts under `root` (default /: tests may point it at a copied tree). */
export function readFacts(root = '/'): NodeFacts {
  return { cpu: cpu(root), memoryBytes: memoryBytes(root), disks: disks(root), nics: nics(root) }
}
