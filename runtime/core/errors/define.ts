/**
 * What every catalogued error is: a `LatchkeyError` with a stable code, made by the one factory
 * `define()` gives for that code. Codes are never reused or renamed; tests assert `err.code`,
 * never message text. `exit` is the CLI exit status for the error when it ends a command
 * (2 = the operator's input was wrong, 1 = the operation failed).
 */
export type ErrorKind = 'usage' | 'operational'

export class LatchkeyError extends Error {
  readonly code: string
  readonly kind: ErrorKind
  readonly exit: number
  /** The HTTP status when the error answers a request: the client's mistake is 4xx, never 500. */
  readonly status: number
  readonly details: Readonly<Record<string, unknown>>

  constructor(
    code: string,
    kind: ErrorKind,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
    status?: number,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'LatchkeyError'
    this.code = code
    this.kind = kind
    this.exit = kind === 'usage' ? 2 : 1
    this.status = status ?? (kind === 'usage' ? 400 : 500)
    this.details = Object.freeze({ ...details })
  }
}

type Factory<A extends unknown[]> = ((...args: A) => LatchkeyError) & { readonly code: string }

/** The registry: every code the catalogue defines; a code is never defined twice. */
const codes = new Set<string>()

export function define<A extends unknown[]>(
  code: string,
  kind: ErrorKind,
  message: (...args: A) => string,
  details: (...args: A) => Record<string, unknown> = () => ({}),
  /** HTTP status when this error answers a request (default: 400 for usage, 500 for operational). */
  status?: number,
): Factory<A> {
  if (codes.has(code)) throw new Error(`error code ${code} defined twice`)
  codes.add(code)
  const make = (...args: A) =>
    new LatchkeyError(code, kind, message(...args), details(...args), undefined, status)
  return Object.assign(make, { code })
}

/** Every code defined so far by the catalogue files loaded in this process. */
export function definedCodes(): ReadonlySet<string> {
  return new Set(codes)
}

/** A programmer error (a bug) is rethrown; only catalogued operational and usage errors are handled. */
export function isLatchkeyError(err: unknown): err is LatchkeyError {
  return err instanceof LatchkeyError
}
