// publish + fetch against a real serve on loopback: real tracker, first
// seeder, web seed and API; the fetchers are real `imgswarm fetch` processes.
import { generateKeyPairSync } from 'node:crypto'
import { chmod, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../seeder/index.ts'
import { publishContent } from '../../seeder/publish/index.ts'
import { type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'
import { snapshot } from '../support/tree.ts'
import { type FetchRun, startFetch } from './helpers.ts'

const PACK = {
  compression: 'none' as const,
  pieceLength: 64 * 1024,
  announce: ['http://127.0.0.1:1/announce'],
  webseeds: ['http://127.0.0.1:1/webseed/'],
  xattrs: false,
}

let dir: string
let store: Store
let srv: Running
let pubFile: string
let small: string
let big: string
const runs: FetchRun[] = []

/** Deterministic pseudo-random bytes. */
function blob(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}

async function smallTree(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true })
  await mkdir(join(root, 'data/deep'), { recursive: true })
  await writeFile(join(root, 'hello.txt'), 'hello, render farm\n')
  await writeFile(join(root, 'bin/run.sh'), '#!/bin/sh\necho run\n')
  await chmod(join(root, 'bin/run.sh'), 0o755)
  await writeFile(join(root, 'data/secret.key'), 'k')
  await chmod(join(root, 'data/secret.key'), 0o600)
  await writeFile(join(root, 'data/deep/blob'), blob(300_000, 7))
  await writeFile(join(root, 'data/empty'), '')
  await symlink('../hello.txt', join(root, 'data/link'))
}

function fetchArgs(ref: string, to: string, ...extra: string[]): string[] {
  return [ref, '--to', to, '--server', srv.url, '--pubkey-file', pubFile, ...extra]
}

function run(args: string[], env?: NodeJS.ProcessEnv): FetchRun {
  const r = startFetch(args, env)
  runs.push(r)
  return r
}

beforeAll(async () => {
  dir = await tempDir('imgswarm-fetch-')
  store = new Store(join(dir, 'store'))
  small = join(dir, 'small')
  await smallTree(small)
  big = join(dir, 'big')
  await mkdir(big)
  for (let i = 0; i < 4; i++) await writeFile(join(big, `part${i}`), blob(1024 * 1024, 100 + i))
  await publishContent(store, small, 'small@1', { public: true }, PACK)
  await publishContent(store, big, 'assets@1', { public: true }, PACK)
  await publishContent(store, small, 'private@1', {}, PACK)
  pubFile = join(store.keysDir, 'manifest-signing.pub')
  // The server's uplink is slow (1 MB/s): fetchers that finished are the faster source.
  srv = await startServe(store, { uploadLimit: 1024 * 1024 })
}, 60_000)

afterAll(async () => {
  for (const r of runs) r.kill()
  await Promise.all(runs.map((r) => r.done))
  await srv?.stop()
}, 30_000)

describe('fetch', () => {
  it('fetches into a new directory with files, modes and links as published', async () => {
    const to = join(dir, 'out-small')
    const r = await run(fetchArgs('small', to, '--no-seed')).done
    expect(r.status, r.stderr).toBe(0)
    expect(r.result).toMatchObject({ ref: 'small@1', inPlace: true, exitCode: null })
    const want = await snapshot(small)
    const got = await snapshot(to)
    // Everything but the root directory's own entry (DIR keeps the place it was given).
    want.delete('')
    got.delete('')
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want))
  }, 60_000)
})
