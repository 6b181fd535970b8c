/**
 * Programmer errors from operational ones (after mafintosh's safety-catch; STYLE.md §6).
 *
 * A programmer error (TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError,
 * a failed assertion) means the code is wrong: it is rethrown, so the process fails loudly
 * instead of limping on with state a bug has half-changed. Anything else (a peer's bad bytes, a
 * LatchkeyError, a refused or failed I/O) is operational: the caller handles and logs it.
 */
const PROGRAMMER_ERRORS: ReadonlyArray<abstract new (...args: never[]) => Error> = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
]

export function isProgrammerError(err: unknown): boolean {
  if (PROGRAMMER_ERRORS.some((type) => err instanceof type)) return true
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_ASSERTION'
}

/** Rethrows `err` if it is a programmer error; returns if it is operational, for the caller to handle. */
export function safetyCatch(err: unknown): void {
  if (isProgrammerError(err)) throw err
}
