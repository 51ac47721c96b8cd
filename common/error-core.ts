// The core of the error registry: the error class and the factory maker.
// Registries by area (common/errors-*.ts) build on it; common/errors.ts
// joins them into the one `errors` object callers use.

export class ImgswarmError extends Error {
  readonly code: string
  readonly hint: string | undefined
  /** Exit status for the CLI: 2 usage/input, 3 hostile or corrupt data, 1 other. */
  readonly exitCode: number

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'ImgswarmError'
    this.code = code
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? 1
  }
}

export type Factory<A extends unknown[]> = (...args: A) => ImgswarmError

export function define<A extends unknown[]>(
  code: string,
  exitCode: number,
  build: (...args: A) => { message: string; hint?: string },
): Factory<A> & { code: string } {
  const f = (...args: A) => {
    const { message, hint } = build(...args)
    return new ImgswarmError(code, message, hint === undefined ? { exitCode } : { hint, exitCode })
  }
  return Object.assign(f, { code })
}

export const USAGE = 2
export const HOSTILE = 3
