// The dashboard's Schedules tab in a real browser (Debian's Chromium through
// playwright-core) against a real serve: the table shows each schedule with
// its next run and its last run's result, from the API the CLI also uses.
// IMGSWARM_SCREENSHOT=1 also writes docs/img/schedules.png.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterEach, describe, expect, it } from 'vitest'
import { scheduleConfig } from '../../common/config-schedule.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined)
})

describe('the Schedules tab', () => {
  const have = existsSync(CHROMIUM)
  it.skipIf(!have)(
    have ? 'lists the schedules with next run and last result' : `skipped: ${CHROMIUM} is missing`,
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'imgswarm-sched-ui-'))
      cleanups.push(() => rm(dir, { recursive: true, force: true }))
      const { store } = await packedStore(dir, 1)
      const srv: Running = await startServe(store, {
        udp: false,
        schedule: scheduleConfig('test.toml', { power: { driver: 'none' } }),
      })
      cleanups.push(() => srv.stop())
      srv.server.fleet?.importCsv('52:54:00:00:0c:01,10.6.0.1,r01,render\n', 'x.csv')
      const token = (await readFile(srv.server.adminTokenFile, 'utf8')).trim()
      const sched = srv.server.scheduler
      if (!sched) throw new Error('serve has no scheduler')
      const a = sched.add({ group: 'render', cron: '0 3 * * 6', timezone: 'UTC', action: 'reimage' }, 'test')
      const b = sched.add({ group: 'empty', cron: '30 22 * * mon-fri', action: 'poweroff' }, 'test')
      await sched.runNow(a.id, 'test')
      await sched.runNow(b.id, 'test')

      const browser: BrowserContext = await chromium.launchPersistentContext(join(dir, 'chromium'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      })
      cleanups.push(() => browser.close())
      const page = browser.pages()[0] ?? (await browser.newPage())
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(`${srv.url}/ui/#/schedules`)
      await page.locator('#login-form').waitFor()
      await page.check('input[name="mode"][value="token"]')
      await page.fill('#secret', token)
      await page.click('#login-submit')
      await page.locator('#view-schedules').waitFor()
      await page.locator(`#schedules tr[data-schedule="${b.id}"]`).waitFor({ timeout: 60_000 })
      const rows = await page.$$eval('#schedules tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      )
      expect(rows).toHaveLength(2)
      const [ra, rb] = rows as [string[], string[]]
      expect(ra.slice(0, 4)).toEqual([String(a.id), 'render', 'reimage', '0 3 * * 6 UTC'])
      expect(ra[4]).not.toMatch(/^(never|disabled|–|)$/)
      expect(ra[5]).toBe('running')
      expect(ra[6]).toContain('(manual)')
      expect(rb.slice(0, 3)).toEqual([String(b.id), 'empty', 'poweroff'])
      expect(rb[5]).toBe('failed')
      expect(rb[7]).toContain('no node in the inventory belongs to group empty')
      expect(await page.locator('#schedules-empty').isHidden()).toBe(true)
      expect(errors).toEqual([])
      if (process.env.IMGSWARM_SCREENSHOT)
        await page.screenshot({ path: fileURLToPath(new URL('../../docs/img/schedules.png', import.meta.url)) })
    },
  )
})
