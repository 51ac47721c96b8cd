// Which info hashes the tracker serves. A file list is re-read when it changes
// so an operator (or `image pack`) can add a torrent without a restart.
import { type FSWatcher, watch } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { errors } from '../common/errors.ts'
import { createLogger, type Logger } from '../common/log.ts'

export interface AllowList {
  has(infoHashHex: string): boolean
}

const HEX40 = /^[0-9a-fA-F]{40}$/

export function setAllowList(
  hashes: Iterable<string>,
): AllowList & { add(h: string): void; delete(h: string): void; readonly size: number } {
  const set = new Set<string>()
  const add = (h: string) => {
    if (!HEX40.test(h)) throw errors.usage(`invalid info hash ${JSON.stringify(h)}: expected 40 hexadecimal digits`)
    set.add(h.toLowerCase())
  }
  for (const h of hashes) add(h)
  return {
    has: (h) => set.has(h.toLowerCase()),
    add,
    delete: (h) => {
      set.delete(h.toLowerCase())
    },
    get size() {
      return set.size
    },
  }
}

/** Parses the allow-list format: one 40-hex info hash per line, `#` starts a comment, blank lines ignored. */
export function parseAllowList(text: string): { hashes: Set<string>; bad: { line: number; text: string }[] } {
  const hashes = new Set<string>()
  const bad: { line: number; text: string }[] = []
  text.split('\n').forEach((raw, i) => {
    const line = (raw.split('#')[0] ?? '').trim()
    if (line === '') return
    if (HEX40.test(line)) hashes.add(line.toLowerCase())
    else bad.push({ line: i + 1, text: line.slice(0, 60) })
  })
  return { hashes, bad }
}

export interface FileAllowListOpts {
  logger?: Logger
  onReload?: (count: number) => void
  /** Poll period for file systems where fs.watch misses changes (NFS, some containers). Default 2000 ms. */
  pollMs?: number
}

export function fileAllowList(
  path: string,
  opts: FileAllowListOpts = {},
): AllowList & { start(): Promise<void>; stop(): Promise<void>; readonly size: number } {
  const log = opts.logger ?? createLogger('tracker')
  let hashes = new Set<string>()
  let watcher: FSWatcher | undefined
  let poll: NodeJS.Timeout | undefined
  let debounce: NodeJS.Timeout | undefined
  let seen = ''
  let running = false
  let reloading: Promise<void> = Promise.resolve()

  const signature = async () => {
    const st = await stat(path)
    return `${st.ino}:${st.size}:${st.mtimeMs}`
  }

  const load = async (first: boolean) => {
    let text: string
    try {
      seen = await signature()
      text = await readFile(path, 'utf8')
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      if (first) {
        throw errors.usage(
          `cannot read the allow-list ${path}: ${err.code ?? err.message}`,
          'create it (one 40-hex info hash per line), or start without --allow for an open tracker',
        )
      }
      // An editor replacing the file leaves a moment with no file: keep serving the old list.
      log.warn({ path, err: err.code ?? err.message }, 'allow-list unreadable; keeping the previous list')
      return
    }
    const parsed = parseAllowList(text)
    for (const b of parsed.bad)
      log.warn({ path, line: b.line, text: b.text }, 'allow-list line is not a 40-hex info hash; ignored')
    hashes = parsed.hashes
    log.info({ path, count: hashes.size }, 'allow-list loaded')
    opts.onReload?.(hashes.size)
  }

  const reload = () => {
    if (!running) return
    reloading = reloading.then(() => (running ? load(false) : undefined)).catch(() => undefined)
  }
  // Several events arrive per save (truncate, write, rename): one reload after they settle.
  const schedule = () => {
    if (debounce) clearTimeout(debounce)
    debounce = setTimeout(reload, 50)
    debounce.unref()
  }

  return {
    has: (h) => hashes.has(h.toLowerCase()),
    get size() {
      return hashes.size
    },
    async start() {
      if (running) return
      await load(true)
      running = true
      // Watch the directory, not the file: editors and `mv` replace the inode, which a file watch loses.
      try {
        watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
          if (name === null || name === basename(path)) schedule()
        })
        watcher.on('error', (err) => log.debug({ err }, 'allow-list watch failed; polling only'))
      } catch (err) {
        log.debug({ err }, 'fs.watch unavailable; polling the allow-list')
      }
      poll = setInterval(() => {
        signature().then(
          (s) => {
            if (s !== seen) schedule()
          },
          () => undefined,
        )
      }, opts.pollMs ?? 2000)
      poll.unref()
    },
    async stop() {
      running = false
      watcher?.close()
      watcher = undefined
      if (poll) clearInterval(poll)
      if (debounce) clearTimeout(debounce)
      poll = debounce = undefined
      await reloading
    },
  }
}
