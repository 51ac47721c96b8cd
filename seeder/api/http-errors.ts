// Every error leaves the API as `{ error: { code, message, hint? } }` with
// the status its code calls for. Schema failures become 400s whose message
// names the field; anything unexpected is a 500 that says to read the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { NAME_RULE } from '../../common/names.ts'

const STATUS: Record<string, number> = {
  IMGSWARM_ERR_INVALID_NAME: 400,
  IMGSWARM_ERR_USAGE: 400,
  IMGSWARM_ERR_INVALID_REQUEST: 400,
  IMGSWARM_ERR_UNAUTHORIZED: 401,
  IMGSWARM_ERR_LOGIN_REFUSED: 401,
  IMGSWARM_ERR_CSRF: 403,
  IMGSWARM_ERR_RATE_LIMITED: 429,
  IMGSWARM_ERR_NOT_FOUND: 404,
  IMGSWARM_ERR_NOT_PACKED: 404,
  IMGSWARM_ERR_NO_INDEX: 404,
  IMGSWARM_ERR_EXISTS: 409,
  IMGSWARM_ERR_IMMUTABLE: 409,
  IMGSWARM_ERR_IN_USE: 409,
  IMGSWARM_ERR_PLAN_UNRESOLVED: 409,
  IMGSWARM_ERR_BODY_TOO_LARGE: 413,
  IMGSWARM_ERR_RANGE: 416,
  IMGSWARM_ERR_CONFIG: 422,
  IMGSWARM_ERR_NOT_SUPPORTED: 501,
  IMGSWARM_ERR_NODE_NOT_FOUND: 404,
  IMGSWARM_ERR_GROUP_NOT_FOUND: 404,
  IMGSWARM_ERR_NOT_ADOPTED: 409,
  IMGSWARM_ERR_NODE_CONFLICT: 409,
  IMGSWARM_ERR_CSV: 400,
  IMGSWARM_ERR_UNKNOWN_NODE: 404,
  IMGSWARM_ERR_TOO_MANY_REQUESTS: 429,
  IMGSWARM_ERR_TICKET_REFUSED: 403,
  IMGSWARM_ERR_DIRECT_INSECURE: 403,
  IMGSWARM_ERR_NODE_AUTH: 401,
  IMGSWARM_ERR_ENROL_REFUSED: 403,
  IMGSWARM_ERR_NO_CURRENT_VERSION: 409,
  IMGSWARM_ERR_DELTA_SAME: 409,
  IMGSWARM_ERR_DELTA_BUILD: 409,
  IMGSWARM_ERR_NETWORK_NOT_ALLOWED: 403,
}

export interface ErrorBody {
  error: { code: string; message: string; hint?: string; field?: string }
}

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable code from the ImgswarmError registry' },
        message: { type: 'string' },
        hint: { type: 'string', description: 'what to do next' },
        field: { type: 'string', description: 'the offending field, for validation errors (e.g. body.percent)' },
      },
    },
  },
} as const

const STATUS_TEXT: Record<number, string> = {
  400: 'invalid request',
  401: 'admin token required',
  403: 'refused (cross-site request)',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'request body too large',
  416: 'range not satisfiable',
  429: 'too many requests (failed logins, or a per-source rate limit): wait for Retry-After',
  422: 'configuration error',
  501: 'not available on this server',
  503: 'not ready',
}

/** Error response schemas for a route, by status (for validation of our own output and OpenAPI). */
export function errorResponses(...codes: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const c of codes) out[c] = { description: STATUS_TEXT[c] ?? 'error', ...errorSchema }
  return out
}

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

function describeValidation(e: FastifyError): { message: string; field: string } {
  const v = (e.validation?.[0] ?? { instancePath: '', keyword: '', params: {} }) as AjvError
  const where = e.validationContext ?? 'request'
  const path = v.instancePath
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  const field = [where, ...path].join('.')
  switch (v.keyword) {
    case 'additionalProperties': {
      const extra = String(v.params.additionalProperty)
      return { field: `${field}.${extra}`, message: `${field}: unknown field ${JSON.stringify(extra)}` }
    }
    case 'required': {
      const missing = String(v.params.missingProperty)
      return { field: `${field}.${missing}`, message: `${field}: missing required field ${JSON.stringify(missing)}` }
    }
    case 'enum':
      return {
        field,
        message: `${field} must be one of: ${(v.params.allowedValues as unknown[]).map(String).join(', ')}`,
      }
    case 'pattern':
      if (where === 'params') return { field, message: `${field} is not a valid name: ${NAME_RULE}` }
      return { field, message: `${field} has an invalid format` }
    default:
      return { field, message: `${field} ${v.message ?? 'is invalid'}` }
  }
}

export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ImgswarmError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } }
    if (err.hint !== undefined) body.error.hint = err.hint
    return { status: STATUS[err.code] ?? 500, body }
  }
  const fe = err as FastifyError
  if (fe && Array.isArray(fe.validation)) {
    const { message, field } = describeValidation(fe)
    return { status: 400, body: { error: { code: errors.invalidRequest.code, message, field } } }
  }
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { error: { code: errors.bodyTooLarge.code, message: fe.message } } }
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500
  if (status >= 400 && status < 500) {
    return {
      status,
      body: { error: { code: errors.invalidRequest.code, message: fe.message ?? 'invalid request' } },
    }
  }
  return {
    status: 500,
    body: { error: { code: 'IMGSWARM_ERR_INTERNAL', message: 'internal server error', hint: 'see the server log' } },
  }
}

export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toHttpError(err)
  if (status >= 500) req.log.error({ err }, 'request failed')
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="imgswarm"')
  void reply.code(status).type('application/json; charset=utf-8').send(body)
}
