// A real OpenSSH server in a network namespace of its own, reached from the
// host over a veth pair: the "golden client" of the capture tests. Its host
// key and the client key are made here with ssh-keygen, and a known_hosts
// file pins the host key (StrictHostKeyChecking=yes, nothing prompts).
// The namespace shares the host's mounts, so the tests capture a directory
// (--root) that stands for the client's root.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { join } from 'node:path'

export interface Sshd {
  netns: string
  ip: string
  port: number
  /** Private key the server accepts, and a known_hosts file with the server's key. */
  key: string
  knownHosts: string
  /** A key the server does not accept. */
  wrongKey: string
  /** Kills every process in the namespace (sshd and its sessions). */
  killAll(): void
  stop(): Promise<void>
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`)
}

function pidsIn(netns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' })
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0)
}

async function waitPort(ip: string, port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: ip, port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('sshd did not start listening')
}

export async function startSshd(dir: string, opts: { setEnvPath?: string } = {}): Promise<Sshd> {
  const tag = randomBytes(3).toString('hex')
  const netns = `iswcap-${tag}`
  const hostIf = `cap${tag}h`
  const nsIf = `cap${tag}n`
  // A /30 per run in 10.231.0.0/16, so parallel runs do not collide.
  const n = Number.parseInt(tag, 16) % 16384
  const base = `10.231.${Math.floor(n / 64)}.${(n % 64) * 4}`
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number]
  const hostIp = `${a}.${b}.${c}.${d + 1}`
  const ip = `${a}.${b}.${c}.${d + 2}`
  let child: ChildProcess | undefined
  const stop = async () => {
    for (const pid of pidsIn(netns)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    spawnSync('ip', ['link', 'del', hostIf])
    spawnSync('ip', ['netns', 'del', netns])
  }
  try {
    sh('ip', ['netns', 'add', netns])
    sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf])
    sh('ip', ['link', 'set', nsIf, 'netns', netns])
    sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf])
    sh('ip', ['link', 'set', hostIf, 'up'])
    sh('ip', ['netns', 'exec', netns, 'ip', 'addr', 'add', `${ip}/30`, 'dev', nsIf])
    sh('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', nsIf, 'up'])
    sh('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up'])
    const sshDir = join(dir, 'ssh')
    await mkdir(sshDir, { recursive: true, mode: 0o700 })
    const hostKey = join(sshDir, 'host_ed25519')
    const key = join(sshDir, 'client_ed25519')
    const wrongKey = join(sshDir, 'wrong_ed25519')
    for (const k of [hostKey, key, wrongKey]) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k])
    const auth = join(sshDir, 'authorized_keys')
    await writeFile(auth, await readFile(`${key}.pub`), { mode: 0o600 })
    const knownHosts = join(sshDir, 'known_hosts')
    const port = 2222
    const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ')
    await writeFile(knownHosts, `[${ip}]:${port} ${hostPub}\n`)
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
    const config = join(sshDir, 'sshd_config')
    const lines = [
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${auth}`,
      `ListenAddress ${ip}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(sshDir, 'sshd.pid')}`,
      'LogLevel ERROR',
    ]
    if (opts.setEnvPath !== undefined) lines.push(`SetEnv PATH=${opts.setEnvPath}`)
    await writeFile(config, `${lines.join('\n')}\n`, { mode: 0o600 })
    child = spawn('ip', ['netns', 'exec', netns, '/usr/sbin/sshd', '-D', '-e', '-f', config, '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr?.resume()
    await waitPort(ip, port, child)
    return {
      netns,
      ip,
      port,
      key,
      knownHosts,
      wrongKey,
      killAll: () => {
        for (const pid of pidsIn(netns)) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }
      },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
