/**
 * The test dapp host: the dapp runtime context as runtime/dapps.ts gives it (the dapp context
 * contract, dapps/context-contract.ts, holds both to it), on a real ledger and a fake clock. A
 * handler or timer that throws is logged and later events still run. Beyond the node's host: a
 * hardware event's handlers start at once and `emit` resolves when they have finished, every
 * failure is kept in `failures`, every append is kept in `appends`, and appends can be held back
 * (to prove an output moves while the ledger has not written anything).
 */
import type { Output } from '../../../devices/outputs/index.ts'
import type { FakeClock } from '../../../runtime/core/clock.ts'
import type { KeyPair } from '../../../runtime/core/keys.ts'
import type { AppendResult, Ledger } from '../../../runtime/core/ledger/ledger.ts'
import type { Logger } from '../../../runtime/core/log.ts'
import type { Dapp, DappEvents, DappRuntimeContext, QueryHandler } from '../../contract.ts'
import { dappErrors } from '../../contract.ts'
import { outputsView } from '../../outputs.ts'

export interface AppendCall {
  type: string
  body: unknown
  /** What had been actuated when the dapp called append (the board's gpio.history.length). */
  historyAtCall: number
  result: Promise<AppendResult>
}

export interface TestHostOptions {
  clock: FakeClock
  ledger: Ledger
  /** This node's key: it signs the dapps' appends. */
  key: KeyPair
  log: Logger
  /** The board's outputs by name. */
  outputs: ReadonlyMap<string, Output>
  /** How many writes the board has made so far. */
  actuated: () => number
  dapps: readonly Dapp[]
}

type Handler = (e: unknown) => Promise<void>

export class TestHost {
  readonly appends: AppendCall[] = []
  /** Errors thrown by dapp handlers and timers. */
  readonly failures: unknown[] = []
  readonly #opts: TestHostOptions
  readonly #handlers = new Map<string, Handler[]>()
  readonly #queries = new Map<string, QueryHandler>()
  readonly #pending = new Set<Promise<unknown>>()
  #held: Array<() => void> | null = null
  #closed = false

  constructor(opts: TestHostOptions) {
    this.#opts = opts
  }

  /** Starts the dapps, each with its own context, and waits for what they started. */
  async start(): Promise<void> {
    for (const dapp of this.#opts.dapps) await dapp.start?.(this.context(dapp))
    await this.settle()
  }

  /** Hands a hardware event to the dapps; resolves when their handlers have finished. */
  emit<E extends keyof DappEvents>(event: E, e: DappEvents[E]): Promise<void> {
    // Handlers start synchronously (the node's host starts them a microtask later): with fake
    // time, the timers a handler sets must exist before the clock moves on past the event.
    const p = Promise.all((this.#handlers.get(event) ?? []).map((h) => h(e))).then(() => {})
    this.#track(p)
    return p
  }

  /** Waits until every handler started so far (and what it started) has finished. */
  async settle(): Promise<void> {
    // A turn of the event loop drains the microtasks: work a settled promise starts is tracked by then.
    for (;;) {
      await new Promise((r) => setImmediate(r))
      if (this.#pending.size === 0) return
      await Promise.allSettled([...this.#pending])
    }
  }

  /** Holds every dapp append back until the returned release is called. */
  holdAppends(): () => void {
    this.#held = []
    return () => {
      const held = this.#held ?? []
      this.#held = null
      for (const go of held) go()
    }
  }

  query(dapp: string, name: string, params: Record<string, string> = {}): unknown {
    const h = this.#queries.get(`${dapp}/${name}`)
    if (!h) throw new Error(`no query ${dapp}/${name}`)
    return h(params, this.#opts.ledger.view)
  }

  context(dapp: Dapp): DappRuntimeContext {
    const { clock, ledger, key } = this.#opts
    const owns = new Set(dapp.types)
    const log = this.#opts.log.child({ dapp: dapp.name })
    const failed = (err: unknown, msg: string) => {
      this.failures.push(err)
      log.error({ err }, msg)
    }
    return {
      log,
      clock,
      state: ledger.view,
      node: { key: key.id, role: ledger.roleOf(key.id) },
      outputs: outputsView((name) => this.#opts.outputs.get(name)),
      append: (type, body) => {
        if (!owns.has(type)) return Promise.reject(dappErrors.DAPP_NOT_OWNER(dapp.name, type))
        const historyAtCall = this.#opts.actuated()
        const held = this.#held
        const result = held
          ? new Promise<AppendResult>((resolve, reject) =>
              held.push(() => ledger.append(type, body, key).then(resolve, reject)),
            )
          : ledger.append(type, body, key)
        this.appends.push({ type, body, historyAtCall, result })
        this.#track(result)
        return result
      },
      query: (name, handler) => {
        this.#queries.set(`${dapp.name}/${name}`, handler)
      },
      on: (event, handler) => {
        const list = this.#handlers.get(event) ?? []
        list.push(async (e) => {
          try {
            await (handler as (e: unknown) => void | Promise<void>)(e)
          } catch (err) {
            failed(err, `dapp ${dapp.name} failed handling ${event}`)
          }
        })
        this.#handlers.set(event, list)
      },
      every: (ms, handler) => {
        const tick = () => {
          if (this.#closed) return
          clock.setTimeout(tick, ms)
          this.#track(
            Promise.resolve()
              .then(handler)
              .catch((err) => failed(err, `dapp ${dapp.name} timer failed`)),
          )
        }
        clock.setTimeout(tick, ms)
      },
    }
  }

  /** Stops every timer and waits for the work under way. True the first time only. */
  async close(): Promise<boolean> {
    if (this.#closed) return false
    this.#closed = true
    await this.settle().catch(() => {})
    return true
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p)
    p.then(
      () => this.#pending.delete(p),
      () => this.#pending.delete(p),
    )
  }
}
