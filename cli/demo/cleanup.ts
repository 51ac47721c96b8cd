// Undo everything the demo set up, in reverse order, on success, failure and
// Ctrl-C; and a synchronous last resort on process exit (a second Ctrl-C, an
// uncaught error) for what must not outlive us: loop devices and the work dir.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

export class Cleanup {
  readonly #steps: { what: string; fn: () => Promise<unknown> }[] = []
  readonly #sync: (() => void)[] = []
  #ran = false
  readonly #onExit = () => this.runSync()

  constructor() {
    process.on('exit', this.#onExit)
  }

  /** Registers an async undo step (run last-registered first). */
  add(what: string, fn: () => Promise<unknown>): void {
    this.#steps.push({ what, fn })
  }

  /** Registers a synchronous fallback for process exit. */
  addSync(fn: () => void): void {
    this.#sync.push(fn)
  }

  /** Runs every step, even when some fail; returns the failures. */
  async run(): Promise<string[]> {
    const problems: string[] = []
    while (this.#steps.length > 0) {
      const s = this.#steps.pop() as { what: string; fn: () => Promise<unknown> }
      try {
        await s.fn()
      } catch (e) {
        problems.push(`${s.what}: ${(e as Error).message}`)
      }
    }
    this.runSync()
    process.off('exit', this.#onExit)
    return problems
  }

  runSync(): void {
    if (this.#ran) return
    this.#ran = true
    while (this.#sync.length > 0) {
      try {
        ;(this.#sync.pop() as () => void)()
      } catch {
        // Best effort: the process is exiting.
      }
    }
  }
}

export function detachSync(devices: () => string[]): () => void {
  return () => {
    for (const d of devices()) {
      try {
        execFileSync('losetup', ['-d', d], { stdio: 'ignore' })
      } catch {
        // Already detached.
      }
    }
  }
}

export function removeSync(dir: string): () => void {
  return () => rmSync(dir, { recursive: true, force: true })
}
