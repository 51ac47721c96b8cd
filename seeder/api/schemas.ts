// JSON schemas shared by the routes. Path parameters that name things are
// held to the store's name rule here, before any handler runs, so nothing
// but a checked name ever reaches the store (which builds paths from it).

// Documentation keywords on route schemas (fastify ignores them; openapi.ts reads them).
declare module 'fastify' {
  interface FastifySchema {
    summary?: string
    description?: string
    tags?: readonly string[]
    security?: readonly Record<string, readonly string[]>[]
    hide?: boolean
  }
}

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'

const nameProp = { type: 'string', pattern: NAME_PATTERN } as const

export const nameParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { ...nameProp, description: 'image or override name' } },
} as const

export const versionParams = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version'],
  properties: {
    name: { ...nameProp, description: 'image or override name' },
    version: { ...nameProp, description: 'version' },
  },
} as const

export const ADMIN = [{ bearerAuth: [] }]

export const packedSummarySchema = {
  type: ['object', 'null'],
  required: ['file', 'size', 'sha256', 'infoHash', 'compression', 'packedAt'],
  properties: {
    file: { type: 'string' },
    size: { type: 'integer' },
    sha256: { type: 'string' },
    infoHash: { type: 'string' },
    compression: { type: 'string', enum: ['none', 'zstd'] },
    packedAt: { type: 'string' },
  },
} as const

export const versionSummarySchema = {
  type: 'object',
  required: ['version', 'ref', 'createdAt', 'note', 'packed', 'referenced'],
  properties: {
    version: { type: 'string' },
    ref: { type: 'string' },
    createdAt: { type: ['string', 'null'] },
    note: { type: ['string', 'null'] },
    packed: packedSummarySchema,
    referenced: { type: 'boolean', description: 'some install plan points to this version now' },
  },
} as const

export const nameSummarySchema = {
  type: 'object',
  required: ['name', 'versions'],
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: versionSummarySchema },
  },
} as const
