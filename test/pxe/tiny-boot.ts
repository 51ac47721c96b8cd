// A tiny installer stand-in for PXE boot tests: a Debian kernel and a
// busybox initramfs whose /init prints a marker line with the kernel command
// line and powers off. The real installer (imgswarm boot build) is 100 MB and
// minutes to build; these tests are about how it gets to the node.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const MARKER = 'IMGSWARM-TINY-INSTALLER'
const CACHE = process.env.IMGSWARM_TEST_CACHE ?? '/var/tmp/imgswarm-test-cache'
const APT_ARCHIVES = '/var/cache/apt/archives'

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`)
  return r.stdout
}

/** Why a QEMU PXE boot cannot run here, or undefined. */
export function tinyBootUnsupported(): string | undefined {
  for (const t of ['qemu-system-x86_64', 'cpio', 'busybox', 'dnsmasq']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} not installed`
  }
  if (!existsSync('/usr/lib/ipxe/qemu/pxe-virtio.rom')) return 'ipxe-qemu ROMs missing (Debian package ipxe-qemu)'
  return undefined
}

/** A vmlinuz: IMGSWARM_TEST_KERNEL, /boot, or extracted from a Debian kernel package (apt cache, else apt-get download). */
export async function testKernel(): Promise<string> {
  if (process.env.IMGSWARM_TEST_KERNEL) return process.env.IMGSWARM_TEST_KERNEL
  const boot = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : []
  if (boot.length > 0) return join('/boot', boot.sort().at(-1) as string)
  const cached = join(CACHE, 'vmlinuz')
  if (existsSync(cached)) return cached
  await mkdir(CACHE, { recursive: true })
  let deb = existsSync(APT_ARCHIVES)
    ? readdirSync(APT_ARCHIVES).filter((f) => /^linux-image-[0-9].*-amd64_.*\.deb$/.test(f))
    : []
  let debDir = APT_ARCHIVES
  if (deb.length === 0) {
    // The metapackage names the current kernel package; download that one.
    const dep = sh('apt-cache', ['depends', 'linux-image-cloud-amd64']).match(/Depends: (linux-image-\S+)/)?.[1]
    if (!dep) throw new Error('no Debian kernel package found (apt-cache depends linux-image-cloud-amd64)')
    sh('apt-get', ['download', dep], CACHE)
    debDir = CACHE
    deb = readdirSync(CACHE).filter((f) => f.startsWith(dep) && f.endsWith('.deb'))
  }
  const x = await mkdtemp(join(tmpdir(), 'imgswarm-kernel-'))
  try {
    sh('dpkg-deb', ['-x', join(debDir, deb.sort().at(-1) as string), x])
    const v = readdirSync(join(x, 'boot')).find((f) => f.startsWith('vmlinuz-'))
    if (!v) throw new Error('the kernel package holds no /boot/vmlinuz-*')
    await copyFile(join(x, 'boot', v), `${cached}.tmp`)
    sh('mv', [`${cached}.tmp`, cached])
  } finally {
    await rm(x, { recursive: true, force: true })
  }
  return cached
}

/** Writes DIR/kernel and DIR/initramfs (newc cpio: busybox and an /init that prints MARKER and the command line). */
export async function writeTinyInstaller(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  await copyFile(await testKernel(), join(dir, 'kernel'))
  const root = await mkdtemp(join(tmpdir(), 'imgswarm-tinyrd-'))
  try {
    await mkdir(join(root, 'bin'), { recursive: true })
    await mkdir(join(root, 'proc'))
    await mkdir(join(root, 'dev'))
    await copyFile('/bin/busybox', join(root, 'bin/busybox'))
    await writeFile(
      join(root, 'init'),
      `#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho "${MARKER} cmdline: $(/bin/busybox cat /proc/cmdline)"\n/bin/busybox poweroff -f\n`,
    )
    await chmod(join(root, 'init'), 0o755)
    const list = sh('find', ['.', '-print0'], root)
    const r = spawnSync('cpio', ['--null', '-o', '-H', 'newc', '--quiet'], {
      cwd: root,
      input: list,
      maxBuffer: 64 << 20,
    })
    if (r.status !== 0) throw new Error(`cpio: ${r.stderr}`)
    await writeFile(join(dir, 'initramfs'), r.stdout)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
