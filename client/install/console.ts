// The install's console: status lines for the person watching the node, and
// the last lines kept for the failure event the server receives.
import { LOG_TAIL_MAX } from '../../common/events.ts'

export interface InstallConsole {
  say(line: string): void
  warn(line: string): void
  tail(): string[]
}

export function createConsole(out: (line: string) => void): InstallConsole {
  const ring: string[] = []
  const keep = (line: string) => {
    ring.push(line)
    if (ring.length > LOG_TAIL_MAX) ring.shift()
  }
  return {
    say(line) {
      keep(line)
      out(line)
    },
    warn(line) {
      keep(`warning: ${line}`)
      out(`warning: ${line}`)
    },
    tail: () => [...ring],
  }
}
