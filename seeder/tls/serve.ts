// serve's side of TLS: load or make the certificates, let the first seeder
// announce to our own HTTPS tracker with our CA, and swap a renewed (or
// operator-replaced) certificate into the listening server without a restart.
import type { Server as HttpsServer } from 'node:https'
import type { TlsSetting } from '../../common/config-tls.ts'
import { pinnedDispatcher } from '../../common/https.ts'
import type { Logger } from '../../common/log.ts'
import { loadServerTls, type ServerTls } from './index.ts'

/** How often the certificate is looked at (renewal starts RENEW_DAYS before expiry). */
export const CHECK_MS = 6 * 3600_000

export interface ServeTls {
  readonly tls: ServerTls
  pair(): { key: string; cert: string }
  /** Starts the renewal check on the listening server; returns its stop. */
  watch(server: unknown): () => void
}

export async function startTls(
  setting: TlsSetting,
  o: { keysDir: string; publicUrl: string; trackerOpts: Record<string, unknown>; logger: Logger },
): Promise<ServeTls> {
  const log = o.logger.child({ component: 'tls' })
  const tls = await loadServerTls({
    setting,
    keysDir: o.keysDir,
    publicUrl: o.publicUrl,
    warn: (m) => log.warn(m),
  })
  if (tls.ca !== undefined) o.trackerOpts.proxyOpts = { httpsAgent: pinnedDispatcher(tls.ca) }
  log.info(
    { names: tls.names, notAfter: tls.notAfter.toISOString(), mode: setting.mode },
    `HTTPS on: certificate for ${tls.names.join(', ')} until ${tls.notAfter.toISOString()}`,
  )
  return {
    tls,
    pair: () => ({ key: tls.key, cert: tls.cert }),
    watch(server) {
      const https = server as HttpsServer
      const timer = setInterval(() => {
        tls
          .refresh()
          .then((changed) => {
            if (!changed) return
            https.setSecureContext({ key: tls.key, cert: tls.cert })
            log.info({ notAfter: tls.notAfter.toISOString() }, 'TLS certificate renewed')
          })
          .catch((e: unknown) => log.error({ err: e }, 'TLS certificate renewal failed'))
      }, CHECK_MS)
      timer.unref()
      return () => clearInterval(timer)
    },
  }
}
