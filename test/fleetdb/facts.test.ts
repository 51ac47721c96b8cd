// Hardware facts: read from this machine's real /proc and /sys, from a
// prepared tree with odd values, and accepted (or refused when hostile) by
// a real serve.
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readFacts } from '../../client/report/facts.ts'
import { tempDir } from '../support/tmp.ts'
import { body, postEvent, serve } from './support.ts'

async function put(root: string, file: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, file)), { recursive: true })
  await writeFile(join(root, file), text)
}

describe('hardware facts', () => {
  it('reads this machine: CPUs, memory, disks without loop devices, NICs with a device', () => {
    const f = readFacts()
    expect(f.cpu.count).toBe(cpus().length)
    expect(f.cpu.model.length).toBeGreaterThan(0)
    expect(f.memoryBytes).toBeGreaterThan(64 * 2 ** 20)
    expect(f.disks.every((d) => !/^(loop|zram|ram)/.test(d.name))).toBe(true)
    expect(f.nics.every((n) => n.name !== 'lo')).toBe(true)
    for (const n of f.nics) if (n.mac !== null) expect(n.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)
  })

  it('keeps to the limits and leaves out what it cannot read', async () => {
    const root = await tempDir('imgswarm-facts-')
    await put(root, 'proc/cpuinfo', `processor\t: 0\nmodel name\t: ${'X'.repeat(1000)}\n\nprocessor\t: 1\n`)
    await put(root, 'proc/meminfo', 'MemTotal:        2048 kB\n')
    await put(root, 'sys/block/sda/size', '2048\n')
    await put(root, 'sys/block/sda/device/model', 'DISK 1  \n')
    await put(root, 'sys/block/loop0/size', '8\n')
    await put(root, 'sys/block/nvme0n1/size', 'garbage\n')
    for (let i = 0; i < 70; i++) await put(root, `sys/block/vd${String(i).padStart(2, '0')}/size`, '1\n')
    await put(root, 'sys/class/net/eth0/address', '52:54:00:AB:CD:EF\n')
    await put(root, 'sys/class/net/eth0/speed', '-1\n')
    await mkdir(join(root, 'sys/class/net/eth0/device'))
    await put(root, 'sys/class/net/br0/address', '52:54:00:00:00:01\n')
    await put(root, 'sys/class/net/eth1/address', 'not-a-mac\n')
    await put(root, 'sys/class/net/eth1/speed', '10000\n')
    await mkdir(join(root, 'sys/class/net/eth1/device'))
    const f = readFacts(root)
    expect(f.cpu).toEqual({ model: 'X'.repeat(256), count: 2 })
    expect(f.memoryBytes).toBe(2048 * 1024)
    expect(f.disks).toHaveLength(64)
    expect(f.disks[0]).toEqual({ name: 'nvme0n1', sizeBytes: 0, model: null })
    expect(f.disks[1]).toEqual({ name: 'sda', sizeBytes: 2048 * 512, model: 'DISK 1' })
    expect(f.disks.some((d) => d.name === 'loop0')).toBe(false)
    expect(f.nics).toEqual([
      { name: 'eth0', mac: '52:54:00:ab:cd:ef', speedMbps: null },
      { name: 'eth1', mac: null, speedMbps: 10000 },
    ])
    expect(readFacts(join(root, 'missing'))).toEqual({
      cpu: { model: 'unknown', count: 0 },
      memoryBytes: 0,
      disks: [],
      nics: [],
    })
  })

  it('a real serve stores them from the config event, and refuses facts beyond the limits', async () => {
    const s = await serve()
    const facts = readFacts()
    expect(await postEvent(s.url, { node: 'factsnode', step: 'config', facts })).toBe(202)
    expect((await body(fetch(`${s.url}/api/v1/nodes/factsnode`, { headers: s.auth }))).facts).toEqual(facts)
    const many = {
      ...facts,
      disks: Array.from({ length: 65 }, (_, i) => ({ name: `d${i}`, sizeBytes: 1, model: null })),
    }
    expect(await postEvent(s.url, { node: 'factsnode', step: 'config', facts: many })).toBe(400)
    expect(await postEvent(s.url, { node: 'factsnode', step: 'config', facts: { ...facts, gpu: 'x' } })).toBe(400)
    const long = { ...facts, cpu: { model: 'x'.repeat(257), count: 1 } }
    expect(await postEvent(s.url, { node: 'factsnode', step: 'config', facts: long })).toBe(400)
  })
})
