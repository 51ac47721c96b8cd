// A minimal SMTP client (RFC 5321) over node:net/tls: EHLO, STARTTLS,
// AUTH PLAIN, MAIL, RCPT, DATA, QUIT. One text mail per notification is all
// we send, which does not justify a mail library and its dependencies.
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { errors } from '../../common/errors.ts'

export interface SmtpInit {
  host: string
  port: number
  /** none: plain; starttls: upgrade after EHLO (refused if the server does not offer it); tls: TLS from the start. */
  tls: 'none' | 'starttls' | 'tls'
  from: string
  to: string[]
  user?: string | undefined
  password?: string | undefined
  /** Our EHLO name. */
  helo?: string
  timeoutMs?: number
  /** Extra TLS options (a test's CA). */
  ca?: string | undefined
}

export interface Mail {
  subject: string
  text: string
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 900)

class Conversation {
  #sock: Socket
  #buf = ''
  #waiters: ((line: string | Error) => void)[] = []
  #lines: string[] = []
  #error: Error | undefined

  constructor(sock: Socket) {
    this.#sock = sock
    this.attach(sock)
  }

  attach(sock: Socket): void {
    this.#sock = sock
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      this.#buf += d
      if (this.#buf.length > 1 << 20) sock.destroy(new Error('reply too long'))
      let i = this.#buf.indexOf('\n')
      while (i >= 0) {
        this.push(this.#buf.slice(0, i).replace(/\r$/, ''))
        this.#buf = this.#buf.slice(i + 1)
        i = this.#buf.indexOf('\n')
      }
    })
    sock.on('error', (e) => this.fail(e))
    sock.on('close', () => this.fail(new Error('connection closed')))
  }

  detach(): Socket {
    this.#sock.removeAllListeners('data')
    this.#sock.removeAllListeners('error')
    this.#sock.removeAllListeners('close')
    return this.#sock
  }

  private push(line: string) {
    const w = this.#waiters.shift()
    if (w) w(line)
    else this.#lines.push(line)
  }

  private fail(e: Error) {
    this.#error ??= e
    for (const w of this.#waiters.splice(0)) w(e)
  }

  private line(): Promise<string> {
    const l = this.#lines.shift()
    if (l !== undefined) return Promise.resolve(l)
    if (this.#error) return Promise.reject(this.#error)
    return new Promise((resolve, reject) => this.#waiters.push((x) => (x instanceof Error ? reject(x) : resolve(x))))
  }

  /** One reply (multi-line "250-…" continued until "250 …"): its code and lines. */
  async reply(expect: number[], what: string): Promise<string[]> {
    const lines: string[] = []
    for (;;) {
      const l = await this.line()
      lines.push(l.slice(4))
      if (!/^[0-9]{3}[ -]/.test(l) && !/^[0-9]{3}$/.test(l))
        throw new Error(`${what}: not an SMTP reply: ${oneLine(l).slice(0, 80)}`)
      if (l[3] !== '-') {
        const code = Number(l.slice(0, 3))
        if (!expect.includes(code)) throw new Error(`${what}: ${oneLine(l).slice(0, 200)}`)
        return lines
      }
      if (lines.length > 1000) throw new Error(`${what}: reply too long`)
    }
  }

  send(line: string): void {
    this.#sock.write(`${line}\r\n`)
  }

  async command(line: string, expect: number[], what = line.split(' ')[0] ?? line): Promise<string[]> {
    this.send(line)
    return this.reply(expect, what)
  }
}

function opened(sock: Socket, event: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    sock.once(event, () => {
      sock.off('error', reject)
      resolve(sock)
    })
    sock.once('error', reject)
  })
}

/** The message with headers; lines starting with "." are dot-stuffed. */
export function formatMail(init: Pick<SmtpInit, 'from' | 'to'>, mail: Mail, date: Date, id: string): string {
  const head = [
    `From: ${init.from}`,
    `To: ${init.to.join(', ')}`,
    `Subject: ${oneLine(mail.subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${id}@imgswarm>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ]
  const body = mail.text
    .replace(/\r?\n/g, '\r\n')
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
  return [...head, '', ...body].join('\r\n')
}

/** Sends one mail; throws IMGSWARM_ERR_NOTIFY with the step that failed. */
export async function sendMail(init: SmtpInit, mail: Mail, id = `${Date.now()}.${process.pid}`): Promise<void> {
  const timeout = init.timeoutMs ?? 30_000
  const tlsOpts = { servername: init.host, ...(init.ca ? { ca: init.ca } : {}) }
  let sock: Socket | undefined
  try {
    sock =
      init.tls === 'tls'
        ? await opened(tlsConnect({ host: init.host, port: init.port, ...tlsOpts }), 'secureConnect')
        : await opened(netConnect({ host: init.host, port: init.port }), 'connect')
    sock.setTimeout(timeout, () => sock?.destroy(new Error(`no answer in ${timeout} ms`)))
    let c = new Conversation(sock)
    await c.reply([220], 'greeting')
    const helo = init.helo ?? 'imgswarm'
    let ext = await c.command(`EHLO ${helo}`, [250])
    if (init.tls === 'starttls') {
      if (!ext.some((l) => /^STARTTLS\b/i.test(l)))
        throw new Error('the server does not offer STARTTLS (set serve.notify.smtp.tls = "none" to send in the clear)')
      await c.command('STARTTLS', [220])
      const raw = c.detach()
      sock = await opened(tlsConnect({ socket: raw, ...tlsOpts }), 'secureConnect')
      c = new Conversation(sock)
      ext = await c.command(`EHLO ${helo}`, [250])
    }
    if (init.user !== undefined) {
      const token = Buffer.from(`\0${init.user}\0${init.password ?? ''}`).toString('base64')
      await c.command(`AUTH PLAIN ${token}`, [235], 'AUTH')
    }
    await c.command(`MAIL FROM:<${init.from}>`, [250], 'MAIL FROM')
    for (const to of init.to) await c.command(`RCPT TO:<${to}>`, [250, 251], `RCPT TO ${to}`)
    await c.command('DATA', [354])
    c.send(`${formatMail(init, mail, new Date(), id)}\r\n.`)
    await c.reply([250], 'end of DATA')
    await c.command('QUIT', [221]).catch(() => undefined)
  } catch (e) {
    throw errors.notify('smtp', `${init.host}:${init.port}: ${(e as Error).message}`)
  } finally {
    sock?.destroy()
  }
}
