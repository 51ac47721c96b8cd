// Network boot on the image server: the per-node iPXE script and the
// installer's kernel and initramfs over HTTP (docs/pxe.md, docs/api.md).
//   GET /api/v1/boot/ipxe                 entry script: chains with ${netX/mac}
//   GET /api/v1/boot/ipxe?mac=MAC         per-node decision: local disk or reimage
//   GET /api/v1/boot/ipxe/MAC             the same, MAC in the path
//   GET|HEAD /api/v1/boot/kernel          the installer's kernel, with byte ranges
//   GET|HEAD /api/v1/boot/initramfs       the installer's initramfs, with byte ranges
//   GET /api/v1/boot/info                 sizes, SHA-256 and the command line (for node reimage --local)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { normalizeMac } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'
import { installerCmdline } from './cmdline.ts'
import { BOOT_FILES, type BootFileInfo, BootFiles } from './files.ts'
import { entryScript, localScript, reimageScript, SCRIPT_ROUTE, safeArgs, safeUrl } from './script.ts'

export { CONSOLE_ARGS, installerCmdline, pinsKey, rawPublicKey } from './cmdline.ts'
export { BOOT_FILES, type BootFileInfo, type BootFileName, BootFiles } from './files.ts'
export { entryScript, localScript, reimageScript, safeArgs, safeUrl } from './script.ts'

export type BootAction = 'reimage' | 'local'

/** What the boot routes need from the fleet database (seeder/fleet): the per-MAC decision. */
export interface BootDecider {
  /** Records an unknown MAC as discovered (with its IP); 'reimage' when one is requested for it. */
  bootAction(mac: string, ip?: string): BootAction | Promise<BootAction>
}

export interface BootInit {
  /** STORE/boot: kernel, initramfs, build.json. */
  dir: string
  /** STORE/keys: the public key is put on the command line when the initramfs does not pin one. */
  keysDir: string
  /** The URL nodes reach this server at (no trailing slash). */
  publicUrl: string
  /** The fleet database; without one every node boots from its local disk. Called per request, so it may appear later. */
  fleet: () => BootDecider | undefined
  /** Kernel parameters added to every installer command line. */
  extraCmdline?: string
  logger?: Logger
}

const MAC_PARAM = { type: 'string', minLength: 12, maxLength: 17, pattern: '^[0-9A-Fa-f:-]+$' } as const
const TEXT = { 'text/plain': { schema: { type: 'string' } } }

export function registerBootRoutes(app: FastifyInstance, init: BootInit): void {
  const publicUrl = init.publicUrl.replace(/\/+$/, '')
  if (!safeUrl(publicUrl)) {
    throw errors.usage(
      `the public URL ${JSON.stringify(publicUrl)} cannot be written into an iPXE script`,
      'use a plain http(s)://HOST:PORT URL without $, quotes or spaces (serve.public_url)',
    )
  }
  const extra = (init.extraCmdline ?? '').trim()
  if (!safeArgs(extra))
    throw errors.usage(`extra kernel parameters ${JSON.stringify(extra)}: printable, no quotes or $`)
  const files = new BootFiles(init.dir)
  const log = init.logger

  const cmdlineFor = async (mac: string | undefined): Promise<string> =>
    installerCmdline({
      publicUrl,
      mac,
      build: await files.build(),
      keysDir: init.keysDir,
      extra,
      warn: (cmdline) => log?.warn({ cmdline }, 'build.json cmdline ignored: not plain kernel parameters'),
    })

  const decide = async (rawMac: string, req: FastifyRequest, reply: FastifyReply) => {
    const mac = normalizeMac(rawMac)
    if (mac === undefined) throw errors.invalidRequest(`mac: ${JSON.stringify(rawMac)} is not a MAC address`)
    const fleet = init.fleet()
    const action: BootAction = fleet ? await fleet.bootAction(mac, req.ip) : 'local'
    log?.info({ mac, ip: req.ip, action }, 'boot decision')
    reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store')
    if (action !== 'reimage') return localScript(mac)
    return reimageScript({ publicUrl, mac, cmdline: await cmdlineFor(mac) })
  }

  app.get<{ Querystring: { mac?: string } }>(
    SCRIPT_ROUTE,
    {
      schema: {
        summary: 'iPXE script: without mac the entry script, with mac the decision for that node',
        description:
          'Node-facing, no token. With `mac`: "boot from the local disk" (iPXE `exit`) unless the fleet database has a reimage requested for this MAC; then the installer with its command line. Unknown MACs are recorded as discovered.',
        tags: ['boot'],
        querystring: { type: 'object', additionalProperties: false, properties: { mac: MAC_PARAM } },
        response: { 200: { description: 'an iPXE script', content: TEXT } },
      },
    },
    async (req, reply) => {
      if (req.query.mac === undefined) {
        reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store')
        return entryScript(publicUrl)
      }
      return decide(req.query.mac, req, reply)
    },
  )
  app.get<{ Params: { mac: string } }>(
    `${SCRIPT_ROUTE}/:mac`,
    {
      schema: {
        summary: 'iPXE script for the node with this MAC (as ?mac=)',
        tags: ['boot'],
        params: { type: 'object', required: ['mac'], properties: { mac: MAC_PARAM } },
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        response: { 200: { description: 'an iPXE script', content: TEXT } },
      },
    },
    async (req, reply) => decide(req.params.mac, req, reply),
  )

  for (const name of BOOT_FILES) {
    app.route({
      method: ['GET', 'HEAD'],
      url: `/api/v1/boot/${name}`,
      schema: {
        summary: `The installer's ${name}, with byte ranges`,
        description: 'Node-facing, no token. ETag and X-Imgswarm-Sha256 carry its SHA-256.',
        tags: ['boot'],
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        headers: { type: 'object', properties: { range: { type: 'string' }, 'if-range': { type: 'string' } } },
      },
      handler: (req, reply) => files.send(name, req, reply),
    })
  }

  app.get<{ Querystring: { mac?: string } }>(
    '/api/v1/boot/info',
    {
      schema: {
        summary: "The installer's boot files (size, SHA-256) and its kernel command line",
        description: 'Node-facing, no token. Used by `imgswarm node reimage --local`.',
        tags: ['boot'],
        querystring: { type: 'object', additionalProperties: false, properties: { mac: MAC_PARAM } },
      },
    },
    async (req) => {
      const mac = req.query.mac === undefined ? undefined : normalizeMac(req.query.mac)
      if (req.query.mac !== undefined && mac === undefined) {
        throw errors.invalidRequest(`querystring.mac: ${JSON.stringify(req.query.mac)} is not a MAC address`)
      }
      const [kernel, initramfs] = await Promise.all([files.info('kernel'), files.info('initramfs')])
      const strip = (i: BootFileInfo | undefined) => (i ? { size: i.size, sha256: i.sha256 } : null)
      return {
        kernel: strip(kernel),
        initramfs: strip(initramfs),
        // Without a MAC the caller adds its own imgswarm.mac=.
        cmdline: await cmdlineFor(mac),
        build: (await files.build()) ?? null,
      }
    },
  )
}
