// A node whose clock is off (issue 9, fault 5), as docs/plan-signing.md
// documents it: within the tolerance the plan is accepted quietly; outside
// it, a plan that answers this request's nonce is accepted with a console
// warning, and a replayed one is refused. The client runs as a real process
// under libfaketime, its wall clock shifted; serve keeps the true time.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isRoot } from '../support/tmp.ts'
import { capturePlan, haveFaketime, installVia, manInTheMiddle, signSuite } from './harness.ts'

const run = isRoot && haveFaketime
const suite = signSuite('imgswarm-clock-', run)

async function accepted(shift: string, name: string): Promise<string> {
  const node = await installVia(suite.dir, suite.server.running.url, suite.server.pubkey, { clockShift: shift, name })
  expect(node.run.status, node.run.stderr).toBe(0)
  expect(await readFile(join(node.target, 'etc/hostname'), 'utf8')).toBe('n1\n')
  return node.run.stderr
}

describe.runIf(run)('a node with its clock off (scripts/install-deps.sh test installs faketime)', () => {
  it('+5 min: inside the tolerance, accepted without a warning', async () => {
    expect(await accepted('+5m', 'plus5')).not.toContain('clock:')
  })

  it('+20 min and -8 min: still inside (issuedAt - 10 min to issuedAt + 25 min), accepted without a warning', async () => {
    expect(await accepted('+20m', 'plus20')).not.toContain('clock:')
    expect(await accepted('-8m', 'minus8')).not.toContain('clock:')
  })

  it('+30 min: outside the window, accepted on the nonce with a warning', async () => {
    const err = await accepted('+30m', 'plus30')
    expect(err).toMatch(/clock: this node's clock is 30 min ahead of the server's signed time/)
    expect(err).toContain("the plan is fresh (it answers this request's nonce), continuing")
  })

  it('-30 min: outside the window on the other side, accepted on the nonce with a warning', async () => {
    expect(await accepted('-30m', 'minus30')).toMatch(/clock: this node's clock is 30 min behind the server's/)
  })

  it('-15 min: just outside on the early side, accepted on the nonce with a warning', async () => {
    expect(await accepted('-15m', 'minus15')).toMatch(/clock: this node's clock is 15 min behind the server's/)
  })

  it('-2 days (a flat RTC battery): accepted on the nonce with a warning', async () => {
    expect(await accepted('-2d', 'minus2d')).toMatch(/clock: this node's clock is 2 d 0 h behind the server's/)
  })

  it('a replayed plan is refused whatever the clock: +5 min gives IMGSWARM_ERR_PLAN_REPLAY, +30 min IMGSWARM_ERR_PLAN_EXPIRED', async () => {
    const captured = await capturePlan(suite.server.running.url, 'hostname=n1&nonce=captured-nonce-0123456789')
    suite.proxy = await manInTheMiddle(suite.server.running.url, { answer: () => captured })
    for (const [shift, code] of [
      ['+5m', 'IMGSWARM_ERR_PLAN_REPLAY'],
      ['+30m', 'IMGSWARM_ERR_PLAN_EXPIRED'],
      ['-30m', 'IMGSWARM_ERR_PLAN_EXPIRED'],
    ] as const) {
      const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, {
        clockShift: shift,
        name: `replay${shift}`,
      })
      expect(node.run.status, node.run.stderr).toBe(3)
      expect(node.run.stderr).toContain(code)
      expect(node.entries).toEqual([])
    }
    expect(suite.proxy.paths.filter((x) => x !== '/api/v1/plan' && x !== '/api/v1/events')).toEqual([])
  })
})
