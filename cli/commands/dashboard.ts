// `imgswarm dashboard password`: sets (or clears) the password the web
// dashboard accepts besides the admin token. Stored as an scrypt hash in
// STORE/keys/dashboard.pass (0600); serve reads it at each login.
import { Command } from 'commander'
import { errors } from '../../common/errors.ts'
import { clearPassword, PASSWORD_MIN, setPassword } from '../../seeder/dashboard/index.ts'
import { type CommonOpts, context, info } from '../shared.ts'

interface PasswordOpts extends CommonOpts {
  clear?: boolean
  stdin?: boolean
}

/** One line typed without echo. */
function askHidden(prompt: string): Promise<string> {
  const input = process.stdin
  process.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    let text = ''
    input.setRawMode(true)
    input.resume()
    input.setEncoding('utf8')
    const done = (err?: Error) => {
      input.setRawMode(false)
      input.pause()
      input.off('data', onData)
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(text)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done()
        if (ch === '\u0003') return done(errors.usage('cancelled'))
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1)
        else if (ch >= ' ') text += ch
      }
    }
    input.on('data', onData)
  })
}

async function readStdinLine(): Promise<string> {
  let text = ''
  for await (const c of process.stdin) {
    text += String(c)
    if (text.length > 64 * 1024) break
  }
  return (text.split(/\r?\n/)[0] ?? '').trimEnd()
}

export function dashboardCommands(): Command {
  const cmd = new Command('dashboard').description('the web dashboard (served by imgswarm serve at /ui/)')
  cmd
    .command('password')
    .description('set the dashboard password (asked twice, or one line on stdin); --clear removes it')
    .option('--clear', 'remove the password: only the admin token logs in then')
    .option('--stdin', 'read the password from the first line of stdin, even from a terminal')
    .option('--store <dir>', 'image store root (env IMGSWARM_STORE; default /var/lib/imgswarm)')
    .option('--config <file>', 'config file (env IMGSWARM_CONFIG; default /etc/imgswarm/imgswarm.toml)')
    .addHelpText(
      'after',
      `
The password is kept as an scrypt hash in STORE/keys/dashboard.pass (mode 0600). A running
serve uses the new one at the next login; sessions already open stay open until they expire
(12 h) or log out. At least ${PASSWORD_MIN} characters.

Examples:
  imgswarm dashboard password                      asks twice, without echo
  pwgen -s 24 1 | tee /root/dash.pw | imgswarm dashboard password --stdin
  imgswarm dashboard password --clear

Docs: docs/dashboard.md`,
    )
    .action(async (o: PasswordOpts) => {
      const { store } = context(o)
      if (o.clear) {
        const had = await clearPassword(store.root)
        info(o, had ? 'dashboard password removed' : 'no dashboard password was set')
        return
      }
      let pw: string
      if (process.stdin.isTTY && !o.stdin) {
        pw = await askHidden('New dashboard password: ')
        const again = await askHidden('Again: ')
        if (pw !== again) throw errors.password('the two entries differ; nothing was changed')
      } else pw = await readStdinLine()
      const file = await setPassword(store.root, pw)
      info(o, `dashboard password set (${file}); log in at ${'/ui/'} of imgswarm serve`)
    })
  return cmd
}
