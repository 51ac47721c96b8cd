// Request bodies for the API campaigns: valid-looking objects with fields
// replaced by hostile values, random JSON, and raw bytes under odd content types.
import fc from 'fast-check'
import { EVENT_STEPS } from '../../common/events.ts'
import { NASTY } from './mutate.ts'

export interface Body {
  type: string | undefined
  body: Buffer
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  'APPLICATION/JSON',
  'application/json;;; charset="x',
]

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MIN_VALUE, null, true, false, [], {}),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.anything({ maxDepth: 2 }),
)

/** An object shaped like `template`, some fields replaced, dropped or added. */
export function editedObject(template: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(template)
  return fc
    .array(
      fc.record({
        key: fc.constantFrom(...keys, '__proto__', 'constructor', 'extra', ''),
        value: hostileValue,
        drop: fc.boolean(),
      }),
      { maxLength: 3 },
    )
    .map((edits) => {
      const o: Record<string, unknown> = structuredClone(template)
      for (const e of edits) {
        if (e.drop) delete o[e.key]
        else Object.defineProperty(o, e.key, { value: e.value, enumerable: true, writable: true, configurable: true })
      }
      return o
    })
}

/** JSON text of `objects`, or a raw hostile body; under a content type that is mostly JSON. */
export function bodies(objects: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const text = fc.oneof(
    { arbitrary: objects.map((o) => JSON.stringify(o) ?? 'null'), weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '',
        '{',
        '[]',
        'null',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
        '{"node":"a","node":"b","step":"download"}',
        '{"__proto__":{"isAdmin":true},"node":"n","step":"download"}',
        '\ufeff{"node":"n","step":"download"}',
        `{"node":"${'n'.repeat(300_000)}"}`,
      ),
      weight: 1,
    },
    { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')), weight: 1 },
  )
  const type = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 8 },
    { arbitrary: fc.constantFrom(...CONTENT_TYPES, undefined), weight: 2 },
  )
  return fc.record({ type, body: text.map((t) => Buffer.from(t, 'latin1')) })
}

export const NODE_IDS = ['node001', 'node002', '52:54:00:12:34:56', 'gpu07.farm.example', 'unknown9']

export const eventTemplate = {
  node: 'node001',
  step: 'download',
  percent: 42.5,
  bytesDown: 1000,
  bytesUp: 10,
  rateDown: 1e6,
  rateUp: 0,
  peers: 3,
  message: 'ok',
  code: 'IMGSWARM_ERR_X',
  logTail: ['a', 'b'],
  ts: '2026-12-02T08:00:00.000Z',
  bytesFromServer: 500,
  bytesFromPeers: 500,
  facts: {
    cpu: { model: 'x', count: 4 },
    memoryBytes: 8e9,
    disks: [{ name: 'sda', sizeBytes: 1e12, model: null }],
    nics: [{ name: 'eth0', mac: '52:54:00:12:34:56', speedMbps: 1000 }],
  },
}

export const events = fc.oneof(
  editedObject(eventTemplate),
  fc.record({
    node: fc.oneof(fc.constantFrom(...NODE_IDS), fc.string({ maxLength: 300 })),
    step: fc.oneof(fc.constantFrom(...EVENT_STEPS), fc.string({ maxLength: 10 })),
    facts: fc.option(editedObject(eventTemplate.facts), { nil: undefined }),
  }),
)

const csvField = fc.oneof(
  fc.constantFrom('52:54:00:00:03:01', '52-54-00-00-03-02', '525400000303', 'zz:zz', '10.0.3.1', '', 'rend301'),
  fc.constantFrom('render', 'mac', 'ip', 'hostname', 'group', '"q"', ' ', '#'),
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 20 }),
)
export const csv = fc
  .array(
    fc.array(csvField, { maxLength: 6 }).map((f) => f.join(',')),
    { maxLength: 20 },
  )
  .chain((lines) => fc.constantFrom('\n', '\r\n', '\r').map((nl) => lines.join(nl)))
