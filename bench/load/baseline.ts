// The load test's baseline: a bare fastify (the framework serve's API is
// built on) answering the load's three requests with fixed bodies that serve
// gave for one node: the announce reply, the plan, the 202 of an event. It
// parses the event's JSON body like any fastify route and does nothing else,
// so serve's figures over its figures are the cost of our work per request
// (tracker, plan resolution, fleet database) above the framework's own.
//   node bench/load/baseline.ts PORT ANSWERS.json
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

const [port, file] = process.argv.slice(2)
const answers = JSON.parse(readFileSync(file as string, 'utf8')) as { announce: string; plan: string }
const announce = Buffer.from(answers.announce, 'base64')
const app = Fastify({ logger: false })
app.get('/health', async () => ({ ok: true }))
app.get('/announce', async (_req, reply) => reply.type('text/plain').send(announce))
app.get('/api/v1/plan', async (_req, reply) => reply.type('application/json; charset=utf-8').send(answers.plan))
app.post('/api/v1/events', async (_req, reply) => reply.code(202).send({ accepted: true }))
await app.listen({ host: '127.0.0.1', port: Number(port) })
const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
