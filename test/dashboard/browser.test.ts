// The dashboard in a real browser (Debian's Chromium through playwright-core)
// against a real fleet: a real `serve` and real `imgswarm install
// --target-dir` clients over loopback. Asserts that node rows appear, that
// progress advances, that a reimage clicked in the UI reaches the server and
// the node (its next boot installs again, and the page shows it done), and
// that an action without a session is refused. IMGSWARM_SCREENSHOT=1
// also writes docs/img/dashboard.png.
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterEach, describe, expect, it } from 'vitest'
import { setPassword } from '../../seeder/dashboard/index.ts'
import { type ImageServer, imageServer, installNode, type NodeProcess, nodeArgs } from '../install/harness.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts'
import { isRoot, tempDir } from '../support/tmp.ts'

const MiB = 1024 * 1024
const PASSWORD = 'dashboard test password'
const NODES = ['web01', 'web02', 'web03', 'gpu01']
/** Started only for the screenshot, after the first ones: a fleet with some nodes done and some installing. */
const LATE = ['web04', 'gpu02']
const ALL = [...NODES, ...LATE]
const groupOf = (h: string) => (h.startsWith('gpu') ? 'gpu' : 'web')
const UNKNOWN_MAC = '52:54:00:aa:bb:01'
const PLANS = `
[defaults]
image = "base"
post = "none"
${ALL.map((h) => `[[node]]\nhostname = "${h}"\n`).join('')}`

let server: ImageServer | undefined
let browser: BrowserContext | undefined
const nodes: NodeProcess[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) n.kill()
  await browser?.close().catch(() => undefined)
  browser = undefined
  await server?.running.stop()
  server = undefined
})

interface Row {
  id: string
  state: string
  group: string | null
  percent: number | null
}

async function apiNode(url: string, token: string, id: string): Promise<Row> {
  const r = await fetch(`${url}/api/v1/nodes/${id}`, { headers: { authorization: `Bearer ${token}` } })
  expect(r.status).toBe(200)
  return (await r.json()) as Row
}

/** The percent a row shows (its progress label), or null when it shows none. */
async function shownPercent(page: Page, id: string): Promise<number | null> {
  const t = await page.locator(`tr[data-id="${id}"] .pct`).textContent()
  const m = /([\d.]+)%/.exec(t ?? '')
  return m ? Number(m[1]) : null
}

describe.runIf(isRoot)('dashboard in Chromium', () => {
  const have = existsSync(CHROMIUM)
  it.skipIf(!have)(
    have
      ? 'shows the fleet live, advances progress, reimages a node from the UI to done again and a group, shows the node detail, the swarms and the history, and refuses actions without a session'
      : `skipped: ${CHROMIUM} is missing (apt-get install chromium, or scripts/install-deps.sh test)`,
    { timeout: 300_000 },
    async () => {
      const dir = await tempDir()
      // The server's upload is capped so that installs take long enough to watch them progress.
      server = await imageServer(dir, { dataMb: 12, plans: PLANS, serve: { uploadLimit: 2 * MiB } })
      const url = server.running.url
      const token = (await readFile(join(server.store.root, 'keys', 'admin.token'), 'utf8')).trim()
      await setPassword(server.store.root, PASSWORD)

      browser = await chromium.launchPersistentContext(await tempDir('imgswarm-chromium-'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1440, height: 900 },
      })
      const page = browser.pages()[0] ?? (await browser.newPage())
      const pageErrors: string[] = []
      page.on('pageerror', (e) => pageErrors.push(e.message))
      page.on('dialog', (d) => void d.accept())

      // Not logged in: the login form, and the API refuses the page's requests.
      await page.goto(url)
      expect(page.url()).toBe(`${url}/ui/`)
      await page.locator('#login-form').waitFor()
      const refused = await page.evaluate(async () => {
        const post = await fetch('/api/v1/nodes/web01/reimage', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
        const list = await fetch('/api/v1/nodes')
        return [post.status, list.status]
      })
      expect(refused).toEqual([401, 401])

      // A wrong password is refused with a message; the right one logs in.
      await page.fill('#secret', 'not the password')
      await page.click('#login-submit')
      await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 60_000 }).toMatch(/Not accepted/)
      await page.fill('#secret', PASSWORD)
      await page.click('#login-submit')
      await page.locator('#view-fleet').waitFor()
      await expect.poll(() => page.locator('#conn').textContent(), { timeout: 60_000 }).toBe('live')

      // The inventory (imgswarm node import's CSV) and an unknown MAC that PXE-boots: rows appear.
      const csv = ALL.map((h, i) => `52:54:00:00:01:${String(i + 10)},10.0.1.${i + 10},${h},${groupOf(h)}`).join('\n')
      const imported = await fetch(`${url}/api/v1/nodes/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ csv }),
      })
      expect(imported.status, await imported.text()).toBe(200)
      const pxe = await fetch(`${url}/api/v1/boot/ipxe?mac=${UNKNOWN_MAC}`)
      expect(pxe.status).toBe(200)
      await page.locator(`tr[data-id="${UNKNOWN_MAC}"][data-state="discovered"]`).waitFor({ timeout: 60_000 })
      for (const h of ALL) await page.locator(`tr[data-id="${h}"]`).waitFor({ timeout: 60_000 })

      // The fleet starts installing: their progress advances.
      for (const h of NODES) {
        const targetDir = join(dir, `target-${h}`)
        nodes.push(installNode(nodeArgs({ url, pubkey: server.pubkey, targetDir, hostname: h, seedTime: 30 })))
      }
      const seen = new Map<string, number[]>()
      let advanced: string | undefined
      await expect
        .poll(
          async () => {
            for (const h of NODES) {
              const p = await shownPercent(page, h)
              if (p === null) continue
              const list = seen.get(h) ?? []
              if (list.at(-1) !== p) list.push(p)
              seen.set(h, list)
              // A value below 100 followed by a larger one: the row moved while we watched.
              if (list.length >= 2 && (list[0] as number) < 100 && (list.at(-1) as number) > (list[0] as number)) {
                advanced = h
              }
            }
            return advanced
          },
          { timeout: 180_000, interval: 250 },
        )
        .toBeDefined()
      expect(seen.get(advanced as string)?.length).toBeGreaterThanOrEqual(2)

      // Every install ends verified; the table says done.
      for (const n of nodes) {
        const r = await n.result
        expect(r.status, r.stderr).toBe(0)
      }
      for (const h of NODES) {
        await expect
          .poll(() => page.locator(`tr[data-id="${h}"]`).getAttribute('data-state'), { timeout: 60_000 })
          .toBe('done')
      }

      if (process.env.IMGSWARM_SCREENSHOT === '1') {
        // A picture of a fleet with installs done and others running, and a chart with something to show.
        for (const h of LATE) {
          const targetDir = join(dir, `target-${h}`)
          nodes.push(installNode(nodeArgs({ url, pubkey: server.pubkey, targetDir, hostname: h, seedTime: 0 })))
        }
        const late = nodes.at(-LATE.length) as NodeProcess
        let lateEnded = false
        void late.result.then(() => {
          lateEnded = true
        })
        await expect
          .poll(async () => lateEnded || ((await shownPercent(page, LATE[0] as string)) ?? 0) > 30, {
            timeout: 120_000,
            interval: 250,
          })
          .toBe(true)
        const out = fileURLToPath(new URL('../../docs/img/dashboard.png', import.meta.url))
        await mkdir(join(out, '..'), { recursive: true })
        await page.screenshot({ path: out })
        for (const n of nodes) {
          const r = await n.result
          expect(r.status, r.stderr).toBe(0)
        }
      }

      // Adopt the discovered node into a group from the UI.
      await page.click(`tr[data-id="${UNKNOWN_MAC}"] button[data-act="adopt"]`)
      await page.fill('#adopt-group', 'gpu')
      await page.click('#adopt-ok')
      await expect
        .poll(() => page.locator(`tr[data-id="${UNKNOWN_MAC}"]`).getAttribute('data-state'), { timeout: 60_000 })
        .toBe('idle')
      expect(await apiNode(url, token, UNKNOWN_MAC)).toMatchObject({ state: 'idle', group: 'gpu' })

      // Reimage clicked in the UI: the server's state changes, and the table shows it.
      await page.click('tr[data-id="web01"] button[data-act="reimage"]')
      await expect
        .poll(() => page.locator('tr[data-id="web01"]').getAttribute('data-state'), { timeout: 60_000 })
        .toBe('reimage-requested')
      expect((await apiNode(url, token, 'web01')).state).toBe('reimage-requested')
      await page.locator('.toast', { hasText: 'Reimage requested for web01.' }).waitFor()
      // ...and on to the node: its next network boot gets the installer, it reinstalls, and the
      // page follows it back to done; the history has a second verified install, and the boot
      // after that is from the local disk again.
      const web01Mac = `52:54:00:00:01:${ALL.indexOf('web01') + 10}`
      const ipxe = async () => (await fetch(`${url}/api/v1/boot/ipxe?mac=${web01Mac}`)).text()
      expect(await ipxe()).toContain('/api/v1/boot/kernel')
      const targetDir = join(dir, 'target-web01-again')
      const again = installNode(nodeArgs({ url, pubkey: server.pubkey, targetDir, hostname: 'web01', seedTime: 0 }))
      nodes.push(again)
      await expect
        .poll(() => page.locator('tr[data-id="web01"]').getAttribute('data-state'), { timeout: 180_000 })
        .toBe('done')
      const rerun = await again.result
      expect(rerun.status, rerun.stderr).toBe(0)
      const hist = await fetch(`${url}/api/v1/installs?node=web01`, { headers: { authorization: `Bearer ${token}` } })
      const { installs } = (await hist.json()) as { installs: { result: string }[] }
      expect(installs.map((i) => i.result)).toEqual(['verified', 'verified'])
      expect(await ipxe()).not.toContain('/api/v1/boot/kernel')

      // The other views: the node's detail (timeline, console, its installs), the swarms and the history.
      await page.goto(`${url}/ui/#/node/web01`)
      await page.locator('#view-node').waitFor()
      await expect.poll(() => page.locator('#nd-events tbody tr').count(), { timeout: 60_000 }).toBeGreaterThan(4)
      await expect.poll(() => page.locator('#nd-installs tbody tr').count(), { timeout: 60_000 }).toBe(2)
      await expect.poll(() => page.locator('#nd-console').textContent(), { timeout: 60_000 }).toMatch(/config/)
      expect(await page.locator('#nd-console').textContent()).toMatch(/done/)
      await page.goto(`${url}/ui/#/swarms`)
      const swarm = page.locator('#swarms tbody tr', { hasText: 'base' }).first()
      await swarm.waitFor({ timeout: 60_000 })
      expect(await swarm.textContent()).toMatch(/min \d+/)
      await page.goto(`${url}/ui/#/installs`)
      await expect
        .poll(() => page.locator('#installs tbody tr', { hasText: 'verified' }).count(), { timeout: 60_000 })
        .toBeGreaterThanOrEqual(NODES.length + 1)
      await page.goto(`${url}/ui/#/`)
      await page.locator('tr[data-id="web02"]').waitFor()

      // A group reimage from the UI: pick the group, then "Reimage group gpu" (confirmed).
      await page.selectOption('#group-filter', 'gpu')
      await page.click('#group-reimage')
      await page.locator('.toast', { hasText: /Reimage requested for 3 nodes of gpu\./ }).waitFor({ timeout: 60_000 })
      for (const id of ['gpu01', 'gpu02', UNKNOWN_MAC]) {
        expect((await apiNode(url, token, id)).state).toBe('reimage-requested')
        await expect
          .poll(() => page.locator(`tr[data-id="${id}"]`).getAttribute('data-state'), { timeout: 60_000 })
          .toBe('reimage-requested')
      }
      expect((await apiNode(url, token, 'web02')).state).toBe('done')
      await page.selectOption('#group-filter', '')

      // Without a session (the cookie gone, as after expiry), the click is refused and says so.
      await browser.clearCookies()
      await page.click('tr[data-id="web02"] button[data-act="reimage"]')
      await expect
        .poll(() => page.locator('.toast.err').first().textContent(), { timeout: 60_000 })
        .toMatch(/Reimage of web02 refused: you are not logged in/)
      expect((await apiNode(url, token, 'web02')).state).toBe('done')
      await page.locator('#login-form').waitFor()

      expect(pageErrors).toEqual([])
    },
  )
})
