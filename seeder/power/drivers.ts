// The external power drivers: IPMI (ipmitool), ssh (systemctl on the node)
// and Intel AMT (amttool from amtterm). Each turns an operation into
// commands; passwords travel in files (-f) or the environment, never argv.
import { readFileSync } from 'node:fs'
import { errors } from '../../common/errors.ts'
import { runTool, type ToolResult } from './run.ts'

export type PowerOp = 'on' | 'off' | 'cycle' | 'pxe'
export const POWER_OPS: readonly PowerOp[] = ['on', 'off', 'cycle', 'pxe']

export interface DriverCall {
  op: PowerOp
  /** The node, for messages. */
  host: string
  timeoutMs: number
  signal?: AbortSignal | undefined
}

export interface IpmiTarget {
  bmc: string
  user: string | undefined
  passwordFile: string | undefined
  interface: string
}

/** ipmitool -I lanplus -H BMC -U USER -f FILE (or -E with IPMI_PASSWORD) … */
export async function ipmi(c: DriverCall, t: IpmiTarget): Promise<string[]> {
  if (t.passwordFile === undefined && process.env.IPMI_PASSWORD === undefined)
    throw errors.power('ipmi', c.host, 'no BMC password: set password_file (docs/power.md) or IPMI_PASSWORD for serve')
  const base = [
    '-I',
    t.interface,
    '-H',
    t.bmc,
    ...(t.user === undefined ? [] : ['-U', t.user]),
    ...(t.passwordFile === undefined ? ['-E'] : ['-f', t.passwordFile]),
  ]
  const done: string[] = []
  const run = async (...args: string[]): Promise<ToolResult> => {
    const r = await runTool({
      tool: 'ipmitool',
      args: [...base, ...args],
      timeoutMs: c.timeoutMs,
      signal: c.signal,
      driver: 'ipmi',
      host: c.host,
    })
    done.push(args.join(' '))
    return r
  }
  if (c.op === 'on') await run('chassis', 'power', 'on')
  else if (c.op === 'off') await run('chassis', 'power', 'off')
  else if (c.op === 'cycle') await run('chassis', 'power', 'cycle')
  else {
    // Next boot from the network, then start it: a cycle if it runs, on if it is off (a cycle of an off chassis fails).
    await run('chassis', 'bootdev', 'pxe')
    const st = await run('chassis', 'power', 'status')
    await run('chassis', 'power', /\bis off\b/i.test(st.stdout) ? 'on' : 'cycle')
  }
  return done
}

export interface SshTarget {
  address: string
  user: string
  port: number
  identity: string | undefined
  /** Pinned host keys (StrictHostKeyChecking=yes); undefined: the user's known_hosts, new keys accepted. */
  knownHosts: string | undefined
}

/** ssh USER@NODE systemctl reboot|poweroff: for running nodes (a reimage assumes PXE-first boot order). */
export async function ssh(c: DriverCall, t: SshTarget): Promise<string[]> {
  if (c.op === 'on') throw errors.power('ssh', c.host, 'ssh cannot power on a node that is off: use wol, ipmi or amt')
  const verb = c.op === 'off' ? 'poweroff' : 'reboot'
  const args = [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    ...(t.knownHosts === undefined
      ? ['-o', 'StrictHostKeyChecking=accept-new']
      : ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${t.knownHosts}`]),
    '-p',
    String(t.port),
    ...(t.identity === undefined ? [] : ['-i', t.identity]),
    '--',
    `${t.user}@${t.address}`,
    'systemctl',
    verb,
  ]
  await runTool({ tool: 'ssh', args, timeoutMs: c.timeoutMs, signal: c.signal, driver: 'ssh', host: c.host })
  return [`systemctl ${verb}`]
}

export interface AmtTarget {
  address: string
  passwordFile: string | undefined
}

/** amttool HOST powerup|powerdown|powercycle|reset [pxe], the password in AMT_PASSWORD. */
export async function amt(c: DriverCall, t: AmtTarget): Promise<string[]> {
  if (t.passwordFile === undefined && process.env.AMT_PASSWORD === undefined)
    throw errors.power('amt', c.host, 'no AMT password: set serve.power.amt.password_file or AMT_PASSWORD for serve')
  let password = process.env.AMT_PASSWORD ?? ''
  if (t.passwordFile !== undefined) {
    try {
      password = readFileSync(t.passwordFile, 'utf8').split('\n')[0] ?? ''
    } catch (e) {
      throw errors.power('amt', c.host, `cannot read ${t.passwordFile}: ${(e as NodeJS.ErrnoException).code}`)
    }
  }
  const done: string[] = []
  // amttool asks "execute: … (y/N)?" on stdin for every change.
  const run = async (...args: string[]) => {
    await runTool({
      tool: 'amttool',
      args: [t.address, ...args],
      env: { AMT_PASSWORD: password },
      stdin: 'y\n',
      timeoutMs: c.timeoutMs,
      signal: c.signal,
      driver: 'amt',
      host: c.host,
    })
    done.push(args.join(' '))
  }
  if (c.op === 'on') await run('powerup')
  else if (c.op === 'off') await run('powerdown')
  else if (c.op === 'cycle') await run('powercycle')
  else {
    // reset fails on a machine that is off: then power it up, booting from the network either way.
    try {
      await run('reset', 'pxe')
    } catch {
      await run('powerup', 'pxe')
    }
  }
  return done
}
