// Response schemas of the agent and update routes.

export const jobSchema = {
  type: 'object',
  required: ['id', 'node', 'kind', 'params', 'status', 'requestedBy', 'requestedAt', 'startedAt', 'endedAt', 'result'],
  properties: {
    id: { type: 'integer' },
    node: { type: 'string' },
    kind: { type: 'string', enum: ['update', 'push-overrides', 'fetch'] },
    params: { type: 'object', additionalProperties: true },
    status: { type: 'string', enum: ['pending', 'running', 'done', 'failed', 'cancelled'] },
    requestedBy: { type: 'string' },
    requestedAt: { type: 'string' },
    startedAt: { type: ['string', 'null'] },
    endedAt: { type: ['string', 'null'] },
    result: { type: ['object', 'null'], additionalProperties: true },
  },
} as const

/** One node's line in the answer of POST /api/v1/update and /api/v1/push-overrides. */
export const targetSchema = {
  type: 'object',
  required: ['node'],
  properties: {
    node: { type: 'string' },
    from: { type: ['string', 'null'] },
    to: { type: 'string' },
    job: { type: 'integer' },
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } },
    },
    delta: { type: 'object', additionalProperties: true },
  },
} as const

export const targetsBody = {
  nodes: {
    type: 'array',
    maxItems: 10000,
    items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$' },
  },
  group: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$' },
} as const
