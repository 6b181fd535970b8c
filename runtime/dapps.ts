/**
 * The dapp host: loads dapps (dapps/contract.ts), gives their record handlers to the ledger and,
 * once the ledger and the hardware are up, starts each with its runtime context. A dapp that
 * throws or does not become ready in time is named in the error, stopped, and left out; the node
 * keeps running. Queries are served at GET /api/v1/dapps/<dapp>/<query>. Badges come straight
 * from the readers and go to the dapps that own each reader (badge-router.ts); inputs and alarms
 * come from the hardware's events. Handlers start in the same turn as the event.
 */
import { EventEmitter } from 'node:events'
import {
  type Dapp,
  type DappEvents,
  type DappRuntimeContext,
  dappErrors,
  type OutputsView,
  type QueryHandler,
} from '../dapps/contract.ts'
import { outputsView } from '../dapps/outputs.ts'
import type { BadgeEvent } from '../devices/readers/index.ts'
import { BadgeRouter } from './badge-router.ts'
import { type Clock, systemClock, type TimerHandle } from './core/clock.ts'
import type { KeyPair } from './core/keys.ts'
import type { Ledger } from './core/ledger/ledger.ts'
import { Resource } from './core/lifecycle.ts'
import type { Logger } from './core/log.ts'
import type { Hardware } from './hardware.ts'

export interface DappHostOptions {
  dapps: readonly Dapp[]
  ledger: Ledger
  hardware: Hardware | null
  key: () => KeyPair | null
  log: Logger
  clock?: Clock
  /** Reader name → the dapps that own it (badge-router.ts `readerOwners`); default: none. */
  readerOwners?: ReadonlyMap<string, readonly string[]>
}

interface Running {
  dapp: Dapp
  queries: Map<string, QueryHandler>
  /** The pending tick of each `every` timer, on the host's clock. */
  timers: Array<{ next: TimerHandle | null }>
  status: 'running' | 'failed'
  error?: string
}

export class DappHost extends Resource {
  readonly name = 'dapps'
  readonly events = new EventEmitter()
  readonly running = new Map<string, Running>()
  readonly #badges: BadgeRouter
  readonly #unsubscribe: Array<() => void> = []
  #opts: DappHostOptions

  constructor(opts: DappHostOptions) {
    super()
    this.#opts = opts
    this.#badges = new BadgeRouter(opts.readerOwners ?? new Map())
  }

  protected async _open(): Promise<void> {
    const { hardware } = this.#opts
    if (hardware) {
      for (const reader of hardware.readers.values())
        this.#unsubscribe.push(reader.on('badge', (e) => this.badge(e)))
      for (const event of ['input', 'alarm'] as const) {
        const forward = (e: unknown) => this.events.emit(event, e)
        hardware.events.on(event, forward)
        this.#unsubscribe.push(() => hardware.events.off(event, forward))
      }
    }
    for (const dapp of this.#opts.dapps) await this.#start(dapp)
  }

  protected async _close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off()
    for (const r of this.running.values()) this.#stopTimers(r)
    this.events.removeAllListeners()
  }

  /** A badge read: to the dapps that own its reader (a reader's `badge` event lands here). */
  badge(e: BadgeEvent): void {
    if (!this.closed) this.#badges.route(e)
  }

  async #start(dapp: Dapp): Promise<void> {
    const log = this.#opts.log.child({ dapp: dapp.name })
    const running: Running = { dapp, queries: new Map(), timers: [], status: 'running' }
    this.running.set(dapp.name, running)
    const notLoaded = this.#opts.ledger.admin.failedDapps.get(dapp.name)
    if (notLoaded) {
      running.status = 'failed'
      running.error = notLoaded
      return
    }
    if (!dapp.start) return
    const ctx = this.#context(dapp, running, log)
    const timeoutMs = dapp.startTimeoutMs ?? 5000
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([
        Promise.resolve().then(() => dapp.start!(ctx)),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`did not become ready within ${timeoutMs} ms`)),
            timeoutMs,
          )
        }),
      ])
      log.info('dapp started')
    } catch (err) {
      running.status = 'failed'
      running.error = (err as Error).message
      this.#stopTimers(running)
      log.error({ err: dappErrors.DAPP_START(dapp.name, running.error) }, `dapp ${dapp.name} failed to start`)
    } finally {
      clearTimeout(timer)
    }
  }

  #context(dapp: Dapp, running: Running, log: Logger): DappRuntimeContext {
    const { ledger } = this.#opts
    const key = this.#opts.key
    const owns = new Set(dapp.types)
    const clock = this.#opts.clock ?? systemClock
    return {
      log,
      clock,
      state: ledger.view,
      get node() {
        const k = key()
        return { key: k?.id ?? '', role: k ? ledger.roleOf(k.id) : null }
      },
      outputs: this.#outputs(),
      append: (type, body) => {
        if (!owns.has(type)) return Promise.reject(dappErrors.DAPP_NOT_OWNER(dapp.name, type))
        const k = key()
        if (!k) return Promise.reject(new Error('this node has no key yet'))
        return ledger.append(type, body, k)
      },
      query: (name, handler) => {
        running.queries.set(name, handler)
      },
      on: (event, handler) => {
        const guarded = (e: DappEvents[typeof event]) => {
          if (running.status !== 'running') return
          const failed = (err: unknown) =>
            log.error({ err, event }, `dapp ${dapp.name} failed handling ${event}`)
          try {
            Promise.resolve(handler(e)).catch(failed)
          } catch (err) {
            failed(err)
          }
        }
        if (event === 'badge') this.#badges.add(dapp.name, guarded as (e: BadgeEvent) => void)
        else this.events.on(event, guarded)
      },
      every: (ms, handler) => {
        // On the host's clock (systemClock timers are unref'd): fake time drives it in tests.
        const timer: { next: TimerHandle | null } = { next: null }
        const tick = () => {
          if (running.status !== 'running' || this.closed) return
          timer.next = clock.setTimeout(tick, ms)
          Promise.resolve()
            .then(handler)
            .catch((err) => log.error({ err }, `dapp ${dapp.name} timer failed`))
        }
        timer.next = clock.setTimeout(tick, ms)
        running.timers.push(timer)
      },
    }
  }

  #stopTimers(running: Running): void {
    const clock = this.#opts.clock ?? systemClock
    for (const t of running.timers) clock.clearTimeout(t.next)
    running.timers = []
  }

  #outputs(): OutputsView {
    const hardware = this.#opts.hardware
    return outputsView((name) => hardware?.outputs.get(name)?.device)
  }

  query(dapp: string, name: string, params: Record<string, string>): unknown {
    const handler = this.running.get(dapp)?.queries.get(name)
    if (!handler) throw dappErrors.DAPP_QUERY(dapp, name)
    return handler(params, this.#opts.ledger.view)
  }

  status(): Array<{ name: string; version: string; status: string; error?: string; queries: string[] }> {
    return [...this.running.values()].map((r) => ({
      name: r.dapp.name,
      version: r.dapp.version,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      queries: [...r.queries.keys()],
    }))
  }
}
