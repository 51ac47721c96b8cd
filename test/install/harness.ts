// A real image server with an image and overrides made for install tests,
// and install clients run as real `imgswarm install` processes.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, copyFile, link, mkdir, symlink, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { packVersion, Store } from '../../seeder/index.ts'
import { type Running, startServe } from '../serve/harness.ts'
import { BIN } from '../support/cli.ts'

/** Pseudo-random, incompressible, deterministic bytes. */
export function noise(bytes: number, tag: string): Buffer {
  const out = Buffer.allocUnsafe(bytes)
  let seed = createHash('sha256').update(tag).digest()
  for (let off = 0; off < bytes; off += 32) {
    seed = createHash('sha256').update(seed).digest()
    seed.copy(out, off, 0, Math.min(32, bytes - off))
  }
  return out
}

/**
 * A small system tree: identity files to be replaced, ssh host keys to be
 * regenerated, a post-install script (run by a static busybox in a chroot),
 * a fake kernel, and data of every kind (setuid, symlink, hard link, sparse).
 */
export async function imageTree(root: string, dataMb: number): Promise<void> {
  const d = (p: string) => mkdir(join(root, p), { recursive: true })
  for (const p of ['bin', 'etc/ssh', 'etc/imgswarm/post-install', 'boot', 'usr/share/data', 'var/lib/dbus', 'tmp']) {
    await d(p)
  }
  await copyFile('/bin/busybox', join(root, 'bin/busybox'))
  await chmod(join(root, 'bin/busybox'), 0o755)
  for (const t of ['sh', 'cat', 'echo', 'env']) await symlink('busybox', join(root, 'bin', t))
  await writeFile(join(root, 'etc/hostname'), 'golden\n')
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n::1\tlocalhost ip6-localhost\n')
  await writeFile(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n')
  await writeFile(join(root, 'etc/motd'), 'from the image\n')
  await writeFile(join(root, 'etc/fstab'), '# image fstab\n')
  await writeFile(join(root, 'etc/ssh/ssh_host_ed25519_key'), 'GOLDEN-PRIVATE-KEY\n', { mode: 0o600 })
  await writeFile(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'ssh-ed25519 GOLDEN\n')
  await writeFile(
    join(root, 'etc/imgswarm/post-install/10-mark'),
    '#!/bin/sh\necho "post-install ran for $IMGSWARM_HOSTNAME image $IMGSWARM_IMAGE"\necho "$IMGSWARM_HOSTNAME" > /etc/post-mark\n',
    { mode: 0o755 },
  )
  await writeFile(join(root, 'boot/vmlinuz-6.1.0-test'), noise(64 * 1024, 'kernel'))
  await writeFile(join(root, 'boot/initrd.img-6.1.0-test'), noise(32 * 1024, 'initrd'))
  const per = Math.max(1, Math.floor((dataMb * 1024 * 1024) / 3))
  for (let i = 0; i < 3; i++) await writeFile(join(root, `usr/share/data/blob${i}`), noise(per, `blob${i}`))
  await writeFile(join(root, 'usr/share/data/small.txt'), 'small file\n')
  await link(join(root, 'usr/share/data/small.txt'), join(root, 'usr/share/data/small-link.txt'))
  await writeFile(join(root, 'bin/suid-tool'), '#!/bin/sh\n', { mode: 0o4755 })
  await chmod(join(root, 'bin/suid-tool'), 0o4755)
  await symlink('../usr/share/data/small.txt', join(root, 'etc/small'))
  await writeFile(join(root, 'usr/share/data/sparse'), '')
  await truncate(join(root, 'usr/share/data/sparse'), 8 * 1024 * 1024)
  await chmod(join(root, 'tmp'), 0o1777)
}

export interface Override {
  name: string
  files: Record<string, string>
}

export interface ImageServer {
  store: Store
  running: Running
  pubkey: string
}

/**
 * Imports and packs base@1 (uncompressed, so in place) and the overrides,
 * writes plans.toml from `plans` (TOML text) and starts `serve`.
 */
export async function imageServer(
  dir: string,
  o: {
    dataMb: number
    overrides?: Override[]
    plans: string
    compression?: 'none' | 'zstd'
    serve?: Record<string, unknown>
    /** More files next to plans.toml (a layout file, say), relative to the store root. */
    files?: Record<string, string>
    /** Starts the server instead of startServe (a TLS serve, say). */
    start?: (store: Store) => Promise<Running>
    /** Changes the image tree before it is imported (more files, say). */
    tree?: (root: string) => Promise<void>
  },
): Promise<ImageServer> {
  const store = new Store(join(dir, 'store'))
  const tree = join(dir, 'tree')
  await imageTree(tree, o.dataMb)
  await o.tree?.(tree)
  await store.import('image', tree, 'base@1')
  const pack = {
    compression: o.compression ?? ('none' as const),
    pieceLength: 256 * 1024,
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  }
  await packVersion(store, 'image', 'base@1', pack)
  for (const ov of o.overrides ?? []) {
    const t = join(dir, `ov-${ov.name}`)
    for (const [p, text] of Object.entries(ov.files)) {
      await mkdir(join(t, p, '..'), { recursive: true })
      await writeFile(join(t, p), text)
    }
    await store.import('override', t, `${ov.name}@1`)
    await packVersion(store, 'override', `${ov.name}@1`, { ...pack, compression: 'none' })
  }
  await writeFile(join(store.root, 'plans.toml'), o.plans)
  for (const [name, text] of Object.entries(o.files ?? {})) await writeFile(join(store.root, name), text)
  const running = o.start ? await o.start(store) : await startServe(store, o.serve ?? {})
  return { store, running, pubkey: join(store.root, 'keys', 'manifest-signing.pub') }
}

export interface NodeArgs {
  url: string
  pubkey: string
  hostname: string
  /** Install into this directory, or (with mountDir) onto this disk. */
  targetDir?: string
  disk?: string
  mountDir?: string
  /** Default 0: the tests end when the install does. */
  seedTime?: number
  json?: boolean
  extra?: string[]
}

/** The `imgswarm install` arguments of a test node. */
export function nodeArgs(a: NodeArgs): string[] {
  const dest =
    a.disk === undefined ? ['--target-dir', a.targetDir ?? ''] : ['--disk', a.disk, '--mount-dir', a.mountDir ?? '']
  return [
    ...['--server', a.url, '--pubkey', a.pubkey, ...dest, '--hostname', a.hostname],
    ...['--seed-time', String(a.seedTime ?? 0), ...(a.json ? ['--json'] : []), ...(a.extra ?? [])],
  ]
}

export interface NodeRun {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface NodeProcess {
  pid: number
  result: Promise<NodeRun>
  kill(sig?: NodeJS.Signals): void
  /** Resolves when stderr has shown a line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>
}

/** `imgswarm install ...` as a child process (never blocks the test's event loop). */
export function installNode(args: string[], env: NodeJS.ProcessEnv = {}): NodeProcess {
  // Disk installs mount file systems. In a mount namespace of their own (as in the
  // initramfs, where nothing else runs), so that another test's `ip netns exec`,
  // which copies the root namespace's mounts, cannot keep them busy after the install
  // unmounted them (this VM's root mount propagation is private).
  const argv = ['install', '--cmdline', 'none', ...args]
  const [cmd, cmdArgs] = args.includes('--disk')
    ? ['unshare', ['--mount', '--propagation', 'private', BIN, ...argv]]
    : [BIN, argv]
  const child = spawn(cmd as string, cmdArgs as string[], {
    env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
    for (const w of [...waiters]) {
      const m = stderr.match(w.re)
      if (m) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m[0])
      }
    }
  })
  const result = new Promise<NodeRun>((resolve) => {
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }))
  })
  return {
    pid: child.pid ?? -1,
    result,
    kill: (sig = 'SIGKILL') => child.kill(sig),
    waitFor: (re, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const m = stderr.match(re)
        if (m) return resolve(m[0])
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stderr:\n${stderr}`)), timeoutMs)
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t)
            resolve(l)
          },
        })
      }),
  }
}
