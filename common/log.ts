// Structured logs for library code: pino, one child logger per component.
import pino, { type Logger } from 'pino'

export type { Logger }

export function createLogger(component: string, level = process.env.IMGSWARM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component } }, pino.destination(2))
}
