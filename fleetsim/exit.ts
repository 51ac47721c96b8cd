// Fleets still alive when the process ends are torn down synchronously: on
// normal exit and uncaught errors ('exit' runs for both) and on SIGINT,
// SIGTERM and SIGHUP. A SIGKILL leaves leftovers: cleanupStale removes them.
// The hooks are installed only while a fleet exists.

type Teardown = () => void

const live = new Set<Teardown>()
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

function onExit(): void {
  teardownAll()
}

function onSignal(sig: NodeJS.Signals): void {
  // Alone, we stand in for the default action (end the process) once clean;
  // otherwise the program's own handler decides what happens next.
  const alone = process.listenerCount(sig) === 1
  teardownAll()
  if (alone) process.kill(process.pid, sig)
}

function teardownAll(): void {
  for (const t of [...live]) {
    try {
      t()
    } catch {
      // best effort: the others must still run
    }
  }
  live.clear()
  uninstall()
}

function install(): void {
  process.on('exit', onExit)
  for (const s of SIGNALS) process.on(s, onSignal)
}

function uninstall(): void {
  process.off('exit', onExit)
  for (const s of SIGNALS) process.off(s, onSignal)
}

export function register(t: Teardown): void {
  if (live.size === 0) install()
  live.add(t)
}

export function unregister(t: Teardown): void {
  if (!live.delete(t)) return
  if (live.size === 0) uninstall()
}
