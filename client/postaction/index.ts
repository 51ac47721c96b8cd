// The last thing the install client does: reboot, poweroff, kexec into the
// installed kernel, a shell on the console, or nothing. docs/post-actions.md.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../../common/errors.ts'
import type { PostAction } from '../../common/plan.ts'
import { type CommandRunner, createCommandRunner } from '../disks/index.ts'
import { type Selected, type Step, selectKexec, selectPower } from './select.ts'

export { rootUuidFromFstab, type Selected, type Step } from './select.ts'

export interface PostActionInit {
  /** The installed tree, still mounted: kexec loads its kernel from there. null: none (kexec then fails). */
  target: string | null
  /** Work out and return what would run, run nothing. */
  dryRun: boolean
  runner?: CommandRunner
  say?: (msg: string) => void
  /** Called after kexec loaded the kernel and before the machine goes (unmount, flush reports here). */
  beforeExecute?: () => Promise<void>
  /** root=UUID for kexec; default the target's fstab entry for /. */
  rootUuid?: string
  /** The running system to probe for systemd, busybox and kexec; default "/". Tests point it at a tree. */
  systemRoot?: string
}

export interface PostActionResult {
  action: PostAction
  steps: Selected
  /** False in a dry run. For shell: true once the shell exited. */
  executed: boolean
}

export async function runPostAction(action: PostAction, init: PostActionInit): Promise<PostActionResult> {
  const root = init.systemRoot ?? '/'
  const say = init.say ?? (() => {})
  const steps = await select(action, root, init)
  if (init.dryRun) {
    for (const s of [...steps.prepare, ...steps.execute]) say(`post-action ${action} (dry run): would ${show(s)}`)
    return { action, steps, executed: false }
  }
  if (action === 'none') return { action, steps, executed: true }
  const run = init.runner ?? createCommandRunner()
  for (const s of steps.prepare) await perform(run, root, s)
  await init.beforeExecute?.()
  if (action === 'shell') {
    say('post-action shell: exit the shell to end the client')
    await interactive(steps.execute[0] as { argv: string[] })
    return { action, steps, executed: true }
  }
  let last: unknown
  for (const s of steps.execute) {
    say(`post-action ${action}: ${show(s)}`)
    try {
      await perform(run, root, s)
      // The system goes away shortly: a returned command (systemctl) has queued it.
      return { action, steps, executed: true }
    } catch (e) {
      last = e
      say(`post-action ${action}: ${show(s)} failed: ${(e as Error).message}; trying the next way`)
    }
  }
  throw errors.postAction(action, `every way failed; the last: ${(last as Error).message}`)
}

async function select(action: PostAction, root: string, init: PostActionInit): Promise<Selected> {
  switch (action) {
    case 'reboot':
    case 'poweroff':
      return await selectPower(root, action)
    case 'kexec':
      return await selectKexec(root, init.target, { rootUuid: init.rootUuid })
    case 'shell':
      return { prepare: [], execute: [{ argv: ['/bin/sh'] }] }
    case 'none':
      return { prepare: [], execute: [] }
  }
}

function show(s: Step): string {
  return 'argv' in s ? `run ${s.argv.join(' ')}` : `write "${s.sysrq}" to /proc/sysrq-trigger`
}

async function perform(run: CommandRunner, root: string, s: Step): Promise<void> {
  if ('argv' in s) {
    await run.run(s.argv[0] as string, s.argv.slice(1))
    return
  }
  // One letter per write: the kernel acts on the first character only. Sync
  // and remount run as queued work: give them a moment before the last letter.
  const letters = [...s.sysrq]
  for (const [i, c] of letters.entries()) {
    await writeFile(join(root, 'proc/sysrq-trigger'), c)
    if (i < letters.length - 1) await sleep(1000)
  }
}

async function interactive(step: { argv: string[] }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(step.argv[0] as string, step.argv.slice(1), { stdio: 'inherit' })
    child.on('error', (e) => reject(errors.postAction('shell', `cannot start ${step.argv[0]}: ${e.message}`)))
    child.on('exit', () => resolve())
  })
}
