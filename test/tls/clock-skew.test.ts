// TLS and a node whose clock is off (issue 9, fault 5; docs/tls.md "A node's clock").
// Signed plans tolerate any skew (test/sign/clock.test.ts), certificates do
// not: serve's certificates are valid from one hour before they were made, so
// a node more than an hour behind refuses the server, with a message that
// names its clock rather than a rogue server. A real HTTPS server on loopback;
// the node's skew is played by the certificate's creation time (a cert made
// "2 days from now" is what a node 2 days behind sees).
import { createServer, type Server } from 'node:https'
import { afterEach, describe, expect, it } from 'vitest'
import { pinnedFetch } from '../../common/https.ts'
import { createCa, createServerCert } from '../../seeder/tls/index.ts'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()))
})

const HOUR = 3600_000

async function serveWithCertMadeAt(offsetMs: number): Promise<{ url: string; ca: string }> {
  const ca = createCa('test CA', new Date(Date.now() + offsetMs))
  const leaf = createServerCert(ca, ['127.0.0.1'], new Date(Date.now() + offsetMs))
  const s = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end('ok'))
  servers.push(s)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const addr = s.address()
  return { url: `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`, ca: ca.cert }
}

describe('TLS with a skewed node clock', () => {
  it('up to an hour behind the certificate: answered', async () => {
    const { url, ca } = await serveWithCertMadeAt(50 * 60_000)
    expect(await (await pinnedFetch(ca)(url)).text()).toBe('ok')
  })

  it('2 days behind: IMGSWARM_ERR_TLS_UNTRUSTED naming the clock, not a rogue server', async () => {
    const { url, ca } = await serveWithCertMadeAt(48 * HOUR)
    const e = (await pinnedFetch(ca)(url).catch((err: unknown) => err)) as { code?: string; message: string }
    expect(e.code).toBe('IMGSWARM_ERR_TLS_UNTRUSTED')
    expect(e.message).toMatch(/not valid at this node's clock/)
    expect(e.message).toContain('CERT_NOT_YET_VALID')
    expect(e.message).not.toMatch(/rogue/)
  })
})
