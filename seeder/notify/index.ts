// Notifications (docs/notifications.md): when a schedule's run finishes,
// is skipped, or a node's install fails, a JSON webhook and/or a mail.
// Delivery failures are logged, never thrown: a notification must not stop
// the scheduler. This file is the whole public surface of seeder/notify.
import { readFileSync } from 'node:fs'
import type { NotifyConfig, NotifyEventKind } from '../../common/config-schedule.ts'
import type { Logger } from '../../common/log.ts'
import { type Mail, type SmtpInit, sendMail } from './smtp.ts'
import { postWebhook, type WebhookComponents } from './webhook.ts'

export { formatMail, type Mail, type SmtpInit, sendMail } from './smtp.ts'
export { DELIVERY_HEADER, postWebhook, SIGNATURE_HEADER, signature, TIMESTAMP_HEADER } from './webhook.ts'

export const PAYLOAD_VERSION = 1

/** The webhook's JSON body (docs/notifications.md is the contract). */
export interface Notification {
  version: typeof PAYLOAD_VERSION
  event: NotifyEventKind
  at: string
  /** One line a person reads (also the mail subject). */
  summary: string
  schedule: { id: number; group: string; action: string; cron: string; timezone: string | null } | null
  run: {
    id: number
    trigger: string
    result: string
    dueAt: string
    startedAt: string
    endedAt: string | null
    message: string | null
    nodes: { id: string; state: string }[]
  } | null
  /** For node-failed: the node and its failed install. */
  node: { id: string; install: number; image: string | null; code: string | null } | null
}

export interface NotifierInit {
  config: NotifyConfig
  /** Shown in mails so a person knows which server wrote. */
  server?: string
}

export interface NotifierComponents extends WebhookComponents {
  logger?: Logger | undefined
}

export interface Delivery {
  channel: 'webhook' | 'smtp'
  ok: boolean
  detail: string
}

export interface Notifier {
  /** Delivers to every configured channel the event is enabled for; resolves when all have finished. */
  notify(n: Notification): Promise<Delivery[]>
  readonly channels: ('webhook' | 'smtp')[]
}

const readSecret = (file: string | undefined): string | undefined =>
  file === undefined ? undefined : (readFileSync(file, 'utf8').split('\n')[0] ?? '').trim()

export function mailOf(n: Notification, server: string | undefined): Mail {
  const lines = [n.summary, '']
  if (server) lines.push(`server:   ${server}`)
  lines.push(`event:    ${n.event}`, `at:       ${n.at}`)
  if (n.schedule)
    lines.push(`schedule: #${n.schedule.id} ${n.schedule.action} ${n.schedule.group} "${n.schedule.cron}"`)
  if (n.run) {
    lines.push(`run:      #${n.run.id} (${n.run.trigger}) ${n.run.result}`, `due:      ${n.run.dueAt}`)
    if (n.run.message) lines.push(`message:  ${n.run.message}`)
    if (n.run.nodes.length > 0) lines.push('', 'nodes:', ...n.run.nodes.map((x) => `  ${x.id} ${x.state}`))
  }
  if (n.node) lines.push(`node:     ${n.node.id} install #${n.node.install} ${n.node.image ?? ''} ${n.node.code ?? ''}`)
  return { subject: `[imgswarm] ${n.summary}`, text: `${lines.join('\n')}\n` }
}

export function createNotifier(init: NotifierInit, c: NotifierComponents = {}): Notifier {
  const cfg = init.config
  const log = c.logger
  const channels: ('webhook' | 'smtp')[] = []
  if (cfg.webhook) channels.push('webhook')
  if (cfg.smtp) channels.push('smtp')
  return {
    channels,
    async notify(n) {
      if (!cfg.events.includes(n.event)) return []
      const jobs: Promise<Delivery>[] = []
      if (cfg.webhook) {
        const w = cfg.webhook
        jobs.push(
          (async (): Promise<Delivery> => {
            const tries = await postWebhook({ url: w.url, secret: readSecret(w.secretFile), retries: w.retries }, n, c)
            return { channel: 'webhook', ok: true, detail: `delivered after ${tries} tr${tries === 1 ? 'y' : 'ies'}` }
          })(),
        )
      }
      if (cfg.smtp) {
        const s = cfg.smtp
        jobs.push(
          (async (): Promise<Delivery> => {
            const smtp: SmtpInit = { ...s, password: readSecret(s.passwordFile) }
            await sendMail(smtp, mailOf(n, init.server))
            return { channel: 'smtp', ok: true, detail: `sent to ${s.to.join(', ')}` }
          })(),
        )
      }
      const settled = await Promise.allSettled(jobs)
      return settled.map((r, i) => {
        const channel = channels[i] as 'webhook' | 'smtp'
        if (r.status === 'fulfilled') return r.value
        log?.warn({ err: r.reason, channel, event: n.event }, 'notification failed')
        return { channel, ok: false, detail: (r.reason as Error).message }
      })
    },
  }
}
