/**
 * Record handlers over a parsed body. A dapp's parser turns the stored body into its typed form or
 * a rejection; a body that does not parse is refused with that rejection before any rule of the
 * type runs, and the rules and the reducer see only the parsed form.
 */
import type { FoldRecord, RecordTypeHandlers, Rejection, StateView, StateWriter } from './contract.ts'

/** A parser's answer is a rejection when it carries a code and a detail. */
export function isRejection(x: unknown): x is Rejection {
  return (
    !!x &&
    typeof x === 'object' &&
    typeof (x as Rejection).code === 'string' &&
    typeof (x as Rejection).detail === 'string'
  )
}

export interface ParsedRules<B> {
  /** The type's rules over a body that parsed: a rejection refuses the record, null admits it. */
  validate(r: FoldRecord<B>, body: B, state: StateView): Rejection | null
  /** The state change of an admitted record. */
  reduce(r: FoldRecord<B>, body: B, state: StateWriter): void
}

/** The handlers of a record type whose body `parse` reads (`type` names the record in a rejection). */
export function parsedRecord<B>(
  parse: (body: unknown, type?: string) => B | Rejection,
  rules: ParsedRules<B>,
): RecordTypeHandlers<B> {
  return {
    validate(r, state) {
      const b = parse(r.body, r.type)
      return isRejection(b) ? b : rules.validate(r, b, state)
    },
    reduce(r, state) {
      rules.reduce(r, parse(r.body) as B, state)
    },
  }
}
