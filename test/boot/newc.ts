// Reads a newc cpio archive back (for the tests: what the kernel would unpack).
export interface NewcEntry {
  name: string
  mode: number
  uid: number
  gid: number
  mtime: number
  rdev: [number, number]
  data: Buffer
}

export function readNewc(buf: Buffer): NewcEntry[] {
  const out: NewcEntry[] = []
  let off = 0
  const pad = (n: number) => (n + 3) & ~3
  for (;;) {
    const magic = buf.toString('ascii', off, off + 6)
    if (magic !== '070701') throw new Error(`bad newc magic at ${off}: ${JSON.stringify(magic)}`)
    const f = (i: number) => Number.parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16)
    const namesize = f(11)
    const size = f(6)
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1)
    const dataAt = pad(off + 110 + namesize)
    if (name === 'TRAILER!!!') return out
    out.push({
      name,
      mode: f(1),
      uid: f(2),
      gid: f(3),
      mtime: f(5),
      rdev: [f(9), f(10)],
      data: buf.subarray(dataAt, dataAt + size),
    })
    off = pad(dataAt + size)
  }
}
