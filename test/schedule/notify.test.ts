// Notifications: the webhook against a real local HTTP receiver (body and
// HMAC recomputed here), and mail against a minimal SMTP receiver written
// below. That receiver is a TEST DOUBLE: no MTA is installed on these
// machines; it speaks just enough RFC 5321 (greeting, EHLO, AUTH, MAIL,
// RCPT, DATA, QUIT) and records what it was told.

import { spawnSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { TLSSocket } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import type { NotifyConfig } from '../../common/config-schedule.ts'
import { createNotifier, type Notification, postWebhook, sendMail } from '../../seeder/notify/index.ts'
import { tempDir } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
})

const sample = (over: Partial<Notification> = {}): Notification => ({
  version: 1,
  event: 'finished',
  at: '2026-12-05T03:12:00.000Z',
  summary: 'scheduled reimage of render finished: 2 of 2 installed, 0 failed',
  schedule: { id: 1, group: 'render', action: 'reimage', cron: '0 3 * * 6', timezone: null },
  run: {
    id: 7,
    trigger: 'cron',
    result: 'done',
    dueAt: '2026-12-05T03:00:00.000Z',
    startedAt: '2026-12-05T03:00:01.000Z',
    endedAt: '2026-12-05T03:12:00.000Z',
    message: '2 of 2 installed, 0 failed',
    nodes: [
      { id: 'node001', state: 'done' },
      { id: 'node002', state: 'done' },
    ],
  },
  node: null,
  ...over,
})

interface Received {
  headers: IncomingMessage['headers']
  body: string
}

/** A real HTTP receiver on loopback; `statuses` are answered in turn (then 200). */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = []
  const server = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (d) => {
      body += String(d)
    })
    req.on('end', () => {
      got.push({ headers: req.headers, body })
      res.statusCode = statuses.shift() ?? 200
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise((r) => server.close(() => r())))
  const a = server.address() as { port: number }
  return { url: `http://127.0.0.1:${a.port}/hook`, got }
}

describe('the webhook', () => {
  it('POSTs the JSON body, signed: sha256=HMAC(secret, timestamp + "." + body)', async () => {
    const r = await receiver()
    const n = sample()
    const tries = await postWebhook({ url: r.url, secret: 'hunter2-hunter2' }, n)
    expect(tries).toBe(1)
    expect(r.got).toHaveLength(1)
    const { headers, body } = r.got[0] as Received
    expect(JSON.parse(body)).toEqual(n)
    expect(headers['content-type']).toBe('application/json')
    const ts = headers['x-imgswarm-timestamp'] as string
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(300)
    const mac = createHmac('sha256', 'hunter2-hunter2').update(`${ts}.${body}`).digest('hex')
    expect(headers['x-imgswarm-signature']).toBe(`sha256=${mac}`)
    expect(headers['x-imgswarm-delivery']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('without a secret there is no signature header', async () => {
    const r = await receiver()
    await postWebhook({ url: r.url, secret: undefined }, sample())
    expect(r.got[0]?.headers['x-imgswarm-signature']).toBeUndefined()
  })

  it('retries 503 and 429 with the same delivery id, gives up at once on another 4xx', async () => {
    const r = await receiver([503, 429])
    const waits: number[] = []
    const sleep = async (ms: number) => {
      waits.push(ms)
    }
    expect(await postWebhook({ url: r.url, secret: 's', retries: 3, backoffMs: 100 }, sample(), { sleep })).toBe(3)
    expect(waits).toEqual([100, 200])
    expect(new Set(r.got.map((g) => g.headers['x-imgswarm-delivery'])).size).toBe(1)

    const refused = await receiver([404, 404, 404])
    await expect(postWebhook({ url: refused.url, secret: 's', retries: 3 }, sample(), { sleep })).rejects.toMatchObject(
      {
        code: 'IMGSWARM_ERR_NOTIFY',
        message: expect.stringContaining('HTTP 404'),
      },
    )
    expect(refused.got).toHaveLength(1)
  })

  it('a receiver that is not there is IMGSWARM_ERR_NOTIFY after the retries', async () => {
    const r = await receiver()
    const url = r.url
    await closers.shift()?.()
    await expect(
      postWebhook({ url, secret: undefined, retries: 1 }, sample(), { sleep: async () => undefined }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_NOTIFY', message: expect.stringContaining('ECONNREFUSED') })
  })
})

interface SmtpLog {
  commands: string[]
  data: string[]
}

/**
 * The SMTP test double (see the file comment). `tls`: a key and certificate to offer
 * STARTTLS with (the conversation then goes on inside TLS, and `log.commands` marks the
 * switch with "<TLS>"); without `tls` STARTTLS is not offered.
 */
async function smtpDouble(
  o: { tls?: { key: string; cert: string }; authOk?: boolean } = {},
): Promise<{ port: number; log: SmtpLog }> {
  const log: SmtpLog = { commands: [], data: [] }
  const attach = (sock: Socket | TLSSocket, secure: boolean) => {
    sock.setEncoding('utf8')
    let buf = ''
    let inData = false
    let data: string[] = []
    const onData = (d: string) => {
      buf += d
      let i = buf.indexOf('\r\n')
      while (i >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        i = buf.indexOf('\r\n')
        if (inData) {
          if (line === '.') {
            inData = false
            log.data.push(data.join('\r\n'))
            data = []
            sock.write('250 2.0.0 queued\r\n')
          } else data.push(line)
          continue
        }
        log.commands.push(line)
        const verb = line.split(' ')[0]?.toUpperCase()
        if (verb === 'EHLO')
          sock.write(
            `250-double.test\r\n${o.tls && !secure ? '250-STARTTLS\r\n' : ''}250-AUTH PLAIN\r\n250 8BITMIME\r\n`,
          )
        else if (verb === 'STARTTLS' && o.tls && !secure) {
          sock.off('data', onData)
          sock.write('220 2.0.0 go ahead\r\n', () => {
            log.commands.push('<TLS>')
            const t = new TLSSocket(sock as Socket, { isServer: true, key: o.tls?.key, cert: o.tls?.cert })
            t.on('error', () => undefined)
            attach(t, true)
          })
          return
        } else if (verb === 'AUTH')
          sock.write(o.authOk === false ? '535 5.7.8 bad credentials\r\n' : '235 2.7.0 ok\r\n')
        else if (verb === 'MAIL' || verb === 'RCPT') sock.write('250 2.1.0 ok\r\n')
        else if (verb === 'DATA') {
          inData = true
          sock.write('354 go ahead\r\n')
        } else if (verb === 'QUIT') sock.end('221 2.0.0 bye\r\n')
        else sock.write('502 5.5.2 not implemented\r\n')
      }
    }
    sock.on('data', onData)
    sock.on('error', () => undefined)
  }
  const server: Server = createNetServer((sock: Socket) => {
    sock.write('220 double.test ESMTP test double\r\n')
    attach(sock, false)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise((r) => server.close(() => r())))
  return { port: (server.address() as { port: number }).port, log }
}

/** A self-signed certificate for localhost, made with openssl. */
async function selfSigned(): Promise<{ key: string; cert: string }> {
  const dir = await tempDir('imgswarm-smtp-tls-')
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  const made = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert],
    ],
    { encoding: 'utf8' },
  )
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`)
  const { readFile } = await import('node:fs/promises')
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') }
}

describe('mail over SMTP (test double receiver)', () => {
  it('sends one mail: envelope, headers, AUTH PLAIN, and a body line starting with "." dot-stuffed', async () => {
    const d = await smtpDouble()
    await sendMail(
      {
        host: '127.0.0.1',
        port: d.port,
        tls: 'none',
        from: 'imgswarm@farm.example',
        to: ['ops@farm.example', 'night@farm.example'],
        user: 'imgswarm',
        password: 'pw',
      },
      { subject: 'scheduled reimage\r\nBcc: evil@x', text: 'line one\n.hidden\nend\n' },
    )
    const token = Buffer.from('\0imgswarm\0pw').toString('base64')
    expect(d.log.commands).toEqual([
      'EHLO imgswarm',
      `AUTH PLAIN ${token}`,
      'MAIL FROM:<imgswarm@farm.example>',
      'RCPT TO:<ops@farm.example>',
      'RCPT TO:<night@farm.example>',
      'DATA',
      'QUIT',
    ])
    const mail = d.log.data[0] as string
    const [head, body] = mail.split('\r\n\r\n') as [string, string]
    expect(head).toContain('From: imgswarm@farm.example')
    expect(head).toContain('To: ops@farm.example, night@farm.example')
    // A newline in the subject cannot add a header.
    expect(head).toContain('Subject: scheduled reimage Bcc: evil@x')
    expect(head.split('\r\n').some((l) => l.startsWith('Bcc:'))).toBe(false)
    expect(body).toBe('line one\r\n..hidden\r\nend\r\n')
  })

  it.skipIf(!haveTool('openssl'))(
    'starttls: the mail goes inside TLS, the certificate checked against the given CA',
    async () => {
      const pair = await selfSigned()
      const d = await smtpDouble({ tls: pair })
      const base = {
        host: 'localhost',
        port: d.port,
        from: 'a@b.example',
        to: ['c@d.example'],
        user: 'u',
        password: 'p',
      }
      await sendMail({ ...base, tls: 'starttls', ca: pair.cert }, { subject: 'over tls', text: 'secret body\n' })
      // Credentials and the mail only after the switch; EHLO again inside TLS.
      expect(d.log.commands.slice(0, 4)).toEqual(['EHLO imgswarm', 'STARTTLS', '<TLS>', 'EHLO imgswarm'])
      expect(d.log.commands[4]).toMatch(/^AUTH PLAIN /)
      expect(d.log.data[0]).toContain('Subject: over tls')
      // Without the CA the self-signed certificate is refused and nothing is sent.
      const strict = await smtpDouble({ tls: pair })
      await expect(
        sendMail({ ...base, port: strict.port, tls: 'starttls' }, { subject: 's', text: 't' }),
      ).rejects.toMatchObject({
        code: 'IMGSWARM_ERR_NOTIFY',
      })
      expect(strict.log.commands).not.toContainEqual(expect.stringMatching(/^AUTH/))
      expect(strict.log.data).toEqual([])
    },
  )

  it('starttls is refused when the server does not offer it; bad credentials are IMGSWARM_ERR_NOTIFY', async () => {
    const plain = await smtpDouble()
    const base = { host: '127.0.0.1', port: plain.port, from: 'a@b.example', to: ['c@d.example'] }
    await expect(sendMail({ ...base, tls: 'starttls' }, { subject: 's', text: 't' })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_NOTIFY',
      message: expect.stringContaining('does not offer STARTTLS'),
    })
    expect(plain.log.commands).not.toContain('MAIL FROM:<a@b.example>')
    const bad = await smtpDouble({ authOk: false })
    await expect(
      sendMail({ ...base, port: bad.port, tls: 'none', user: 'u', password: 'p' }, { subject: 's', text: 't' }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_NOTIFY', message: expect.stringContaining('535') })
    expect(bad.log.data).toEqual([])
  })
})

describe('the notifier', () => {
  it('delivers to both channels, only for the configured events, reading the secrets from files', async () => {
    const dir = await tempDir('imgswarm-notify-')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'hook.secret'), 'file-secret\n')
    const hook = await receiver()
    const mail = await smtpDouble()
    const config: NotifyConfig = {
      events: ['finished', 'node-failed'],
      webhook: { url: hook.url, secretFile: join(dir, 'hook.secret'), retries: 0 },
      smtp: {
        host: '127.0.0.1',
        port: mail.port,
        tls: 'none',
        from: 'imgswarm@farm.example',
        to: ['ops@farm.example'],
        user: undefined,
        passwordFile: undefined,
      },
    }
    const n = createNotifier({ config, server: 'http://imgswarm.example:8470' })
    expect(n.channels).toEqual(['webhook', 'smtp'])
    const sent = await n.notify(sample())
    expect(sent.map((s) => [s.channel, s.ok])).toEqual([
      ['webhook', true],
      ['smtp', true],
    ])
    const got = hook.got[0] as Received
    const ts = got.headers['x-imgswarm-timestamp'] as string
    expect(got.headers['x-imgswarm-signature']).toBe(
      `sha256=${createHmac('sha256', 'file-secret').update(`${ts}.${got.body}`).digest('hex')}`,
    )
    expect(mail.log.data[0]).toContain('Subject: [imgswarm] scheduled reimage of render finished')
    expect(mail.log.data[0]).toContain('server:   http://imgswarm.example:8470')
    expect(mail.log.data[0]).toContain('  node002 done')
    // 'skipped' is not in events: nothing is sent.
    expect(await n.notify(sample({ event: 'skipped' }))).toEqual([])
    expect(hook.got).toHaveLength(1)
  })

  it('failed channels are reported in the result, never thrown', async () => {
    const hook = await receiver([500])
    const config: NotifyConfig = {
      events: ['finished'],
      webhook: { url: hook.url, secretFile: undefined, retries: 0 },
      smtp: {
        host: '127.0.0.1',
        port: 1,
        tls: 'none',
        from: 'a@b.example',
        to: ['c@d.example'],
        user: undefined,
        passwordFile: undefined,
      },
    }
    const sent = await createNotifier({ config }).notify(sample())
    expect(sent).toMatchObject([
      { channel: 'webhook', ok: false, detail: expect.stringContaining('HTTP 500') },
      { channel: 'smtp', ok: false, detail: expect.stringContaining('127.0.0.1:1') },
    ])
  })
})
