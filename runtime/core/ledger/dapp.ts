/**
 * The dapp contract as the ledger sees it. A dapp declares itself (name, version, dependencies,
 * the record types it owns) and, through one context object, registers for each owned type a
 * validator ("proof of merge": the record is applied only when it passes) and a reducer (the
 * deterministic state change). Validators and reducers see the state at the record's position
 * in the total order, and must be pure functions of (record, state): no clock, no I/O, no
 * randomness, or nodes would disagree.
 */
import type { Hlc } from './hlc.ts'
import type { Rejection } from './reasons.ts'
import type { StateView, StateWriter } from './state.ts'

/** What validators and reducers see of a record. */
export interface FoldRecord<B = unknown> {
  readonly id: Uint8Array
  readonly idHex: string
  readonly author: Uint8Array
  readonly authorHex: string
  readonly seq: number
  readonly hlc: Hlc
  readonly type: string
  readonly body: B
  /** Role of the author in the authority state at this record's position. */
  readonly role: string
}

export type Validator<B = unknown> = (record: FoldRecord<B>, state: StateView) => Rejection | null | undefined
export type Reducer<B = unknown> = (record: FoldRecord<B>, state: StateWriter) => void

export interface RecordTypeHandlers<B = unknown> {
  /** Checks the body's shape and the dapp's rules. */
  validate: Validator<B>
  /** Applies the record to state. Runs only after `validate` passed. */
  reduce: Reducer<B>
}

export interface LedgerDappContext {
  /** Registers the handlers of a record type this dapp declared in `types`. */
  recordType<B>(type: string, handlers: RecordTypeHandlers<B>): void
}

export interface LedgerDapp {
  readonly name: string
  readonly version: string
  /** Other dapps this one needs, as name → major version. */
  readonly dependencies?: Readonly<Record<string, string>>
  /** Record types this dapp owns: "<name>.<kind>". */
  readonly types: readonly string[]
  setup(ctx: LedgerDappContext): void
}

export interface RegisteredType {
  readonly dapp: string
  readonly handlers: RecordTypeHandlers
}

/** Registry of record types → owning dapp, checked when dapps load. */
export class DappRegistry {
  readonly #types = new Map<string, RegisteredType>()
  readonly #dapps = new Map<string, LedgerDapp>()

  register(dapp: LedgerDapp): void {
    if (this.#dapps.has(dapp.name)) throw new Error(`dapp ${dapp.name} is registered twice`)
    for (const [dep, major] of Object.entries(dapp.dependencies ?? {})) {
      const have = this.#dapps.get(dep)
      if (!have) throw new Error(`dapp ${dapp.name} needs dapp ${dep}, which is not loaded (load it first)`)
      if (have.version.split('.')[0] !== major) {
        throw new Error(`dapp ${dapp.name} needs ${dep} ${major}.x, but ${dep} ${have.version} is loaded`)
      }
    }
    const declared = new Set(dapp.types)
    const pending = new Map<string, RecordTypeHandlers>()
    dapp.setup({
      recordType: (type, handlers) => {
        if (!declared.has(type))
          throw new Error(`dapp ${dapp.name} registers type ${type} it did not declare`)
        pending.set(type, handlers as RecordTypeHandlers)
      },
    })
    for (const type of dapp.types) {
      const owner = this.#types.get(type)
      if (owner)
        throw new Error(`record type ${type} is owned by ${owner.dapp}; ${dapp.name} cannot own it too`)
      const handlers = pending.get(type)
      if (!handlers)
        throw new Error(`dapp ${dapp.name} declared type ${type} but registered no handlers for it`)
      if (!type.startsWith(`${dapp.name}.`) && dapp.name !== 'site') {
        throw new Error(`dapp ${dapp.name} may only own types named "${dapp.name}.…", not ${type}`)
      }
    }
    for (const [type, handlers] of pending) this.#types.set(type, { dapp: dapp.name, handlers })
    this.#dapps.set(dapp.name, dapp)
  }

  owner(type: string): RegisteredType | undefined {
    return this.#types.get(type)
  }

  get dapps(): LedgerDapp[] {
    return [...this.#dapps.values()]
  }
}
