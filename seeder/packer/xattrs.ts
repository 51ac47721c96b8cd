// Reads every extended attribute of a tree in one `getfattr` run: Node has
// no xattr API, and one process for the whole tree costs far less than one
// per file.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { errors } from '../../common/errors.ts'

/** Map from absolute path (as latin1-decoded bytes) to attributes. */
export type XattrMap = Map<string, Map<string, Buffer>>

/** Undoes getfattr's quoting: `\\` and `\ooo` octal escapes. */
export function unquote(s: string): Buffer {
  const out: number[] = []
  const raw = Buffer.from(s, 'latin1')
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number
    if (c === 0x5c && raw[i + 1] === 0x5c) {
      out.push(0x5c)
      i++
    } else if (c === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      out.push(Number.parseInt(raw.toString('latin1', i + 1, i + 4), 8))
      i += 3
    } else out.push(c)
  }
  return Buffer.from(out)
}

function decodeValue(v: string): Buffer {
  if (v === '' || v === '""') return Buffer.alloc(0)
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex')
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64')
  if (v.startsWith('"') && v.endsWith('"')) return unquote(v.slice(1, -1))
  return Buffer.from(v, 'latin1')
}

export async function readTreeXattrs(root: string): Promise<XattrMap> {
  const map: XattrMap = new Map()
  const child = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d
  })
  const spawned = new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? errors.tool('getfattr', 'not installed; it is needed to pack extended attributes', 'attr')
          : e,
      ),
    )
    child.on('close', (code) => resolve(code ?? 1))
  })
  let current: Map<string, Buffer> | undefined
  const rl = createInterface({ input: child.stdout.setEncoding('latin1'), crlfDelay: Number.POSITIVE_INFINITY })
  for await (const line of rl) {
    if (line.startsWith('# file: ')) {
      current = new Map()
      map.set(unquote(line.slice(8)).toString('latin1'), current)
    } else if (line !== '' && current) {
      const eq = line.indexOf('=')
      const name = eq < 0 ? line : line.slice(0, eq)
      current.set(unquote(name).toString('utf8'), decodeValue(eq < 0 ? '' : line.slice(eq + 1)))
    }
  }
  const code = await spawned
  // getfattr exits 1 when some file has no attributes support; real errors print.
  if (code !== 0 && stderr.trim() !== '' && !/Operation not supported/.test(stderr)) {
    throw errors.tool('getfattr', stderr.trim().split('\n')[0] ?? `exit ${code}`)
  }
  return map
}
