/**
 * A minimal dapp host for tests: a real Ledger (in memory, ADMIN genesis, DEVICE enrolled as
 * this board's key), a SimGpio board with real outputs and inputs (wired to `input` / `alarm`
 * events exactly as runtime/hardware.ts wires them), and every timer on one FakeClock. Implements DappRuntimeContext as runtime/dapps.ts does (the
 * dapp context contract, dapps/context-contract.ts, holds both to it): a handler or timer that
 * throws is logged and later events still run. Beyond the host: such a failure is also kept in
 * `failures` and fails the test at close unless the test clears it, and appends can be held back
 * (to prove the lock moves while the ledger has not written anything).
 * Closes itself when the test ends.
 */
import { Writable } from 'node:stream'
import { onTestFinished } from 'vitest'
import { SimGpio } from '../../../devices/gpio/index.ts'
import type { LineRef } from '../../../devices/gpio/types.ts'
import {
  CurrentSense,
  type DebouncedInput,
  DoorContact,
  EStop,
  ExitButton,
} from '../../../devices/inputs/index.ts'
import { Buzzer, Led, Lock, type Output, ToolRelay } from '../../../devices/outputs/index.ts'
import type { FakeClock } from '../../../runtime/core/clock.ts'
import type { AppendResult, Ledger } from '../../../runtime/core/ledger/ledger.ts'
import type { Rejection } from '../../../runtime/core/ledger/reasons.ts'
import { decodeBody, toHex } from '../../../runtime/core/ledger/record.ts'
import { ADMIN, DEVICE, openTestLedger, provision } from '../../../runtime/core/ledger/testing/fixtures.ts'
import { createLogger, type Logger } from '../../../runtime/core/log.ts'
import type { Dapp, DappEvents, DappRuntimeContext, OutputsView, QueryHandler } from '../../contract.ts'
import { dappErrors, ledgerDapp } from '../../contract.ts'
import { FAKE_DAPPS } from './fakes.ts'

export interface HarnessOutput {
  name: string
  kind: 'lock' | 'relay' | 'led' | 'buzzer'
  line: LineRef
}

export interface HarnessInput {
  name: string
  kind: 'door-contact' | 'exit-button' | 'estop' | 'current-sense'
  line: LineRef
  heldOpenMs?: number
}

export interface HarnessOptions {
  clock: FakeClock
  dapps: readonly Dapp[]
  outputs?: readonly HarnessOutput[]
  inputs?: readonly HarnessInput[]
  /** Leave the dapps unstarted until `startDapps()` (to put records in the ledger first, as a restart finds them). */
  deferStart?: boolean
  /** The stand-ins loaded before `dapps` (default FAKE_DAPPS); leave out those `dapps` replace. */
  fakes?: readonly Dapp[]
  /** The ledger's wall clock, for records' clocks (default `Date.now`). */
  ledgerNow?: () => number
}

export interface AppendCall {
  type: string
  body: unknown
  /** gpio.history.length when the dapp called append: what had been actuated before. */
  historyAtCall: number
  result: Promise<AppendResult>
}

export interface LedgerEntry {
  type: string
  body: Record<string, unknown>
  author: string
  rejection: Rejection | null
}

export class Harness {
  readonly clock: FakeClock
  readonly gpio: SimGpio
  readonly ledger: Ledger
  readonly outputs = new Map<string, Output>()
  readonly inputs = new Map<string, DebouncedInput>()
  readonly appends: AppendCall[] = []
  readonly logs: Array<Record<string, unknown>> = []
  /** Errors thrown by dapp handlers and timers; close() fails the test while any are left. */
  readonly failures: unknown[] = []
  readonly #handlers = new Map<string, Array<(e: unknown) => void | Promise<void>>>()
  readonly #queries = new Map<string, QueryHandler>()
  readonly #pending = new Set<Promise<unknown>>()
  dapps: readonly Dapp[] = []
  #held: Array<() => void> | null = null
  #closed = false

  readonly log: Logger

  constructor(clock: FakeClock, gpio: SimGpio, ledger: Ledger) {
    this.clock = clock
    this.gpio = gpio
    this.ledger = ledger
    const logs = this.logs
    this.log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk, _e, done) {
          for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l))
          done()
        },
      }),
    })
  }

  /** Starts the dapps under test, each with its own context. */
  async startDapps(): Promise<void> {
    for (const dapp of this.dapps) await dapp.start?.(this.context(dapp))
    await this.settle()
  }

  /** Emits a hardware event to the dapps; resolves when their handlers have finished. */
  emit<E extends keyof DappEvents>(event: E, e: DappEvents[E]): Promise<void> {
    // Handlers start synchronously (the host starts them a microtask later): with fake time, the
    // timers a handler sets must exist before `clock.advance()` moves on past the event.
    const started = (this.#handlers.get(event) ?? []).map((h) => {
      try {
        return Promise.resolve(h(e))
      } catch (err) {
        return Promise.reject(err)
      }
    })
    const p = Promise.all(started).then(() => {})
    this.#track(p)
    return p
  }

  /** Badge `credential` (an `em:` id, 32 bits unless given) at `reader`. */
  badge(reader: string, id: string, bits = 32): Promise<void> {
    return this.emit('badge', { reader, credential: { id, kind: 'em', bits }, at: this.clock.now() })
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

  /** Moves fake time and lets the handlers it triggered finish. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms)
    await this.settle()
  }

  /** Holds every dapp append back until `release()`: nothing reaches the ledger meanwhile. */
  holdAppends(): () => void {
    this.#held = []
    return () => {
      const held = this.#held ?? []
      this.#held = null
      for (const go of held) go()
    }
  }

  /** Appends a record signed by the site admin. */
  admin(type: string, body: unknown): Promise<AppendResult> {
    return this.ledger.append(type, body, ADMIN)
  }

  /** Appends a record signed by this board's key, outside any dapp (for validator tests). */
  device(type: string, body: unknown): Promise<AppendResult> {
    return this.ledger.append(type, body, DEVICE)
  }

  /** The ledger's records of `type`, oldest first, with the reason any was not applied. */
  records(type: string): LedgerEntry[] {
    const out: LedgerEntry[] = []
    for (const r of this.ledger.query.records()) {
      if (r.type !== type) continue
      out.push({
        type: r.type,
        body: decodeBody(r.body) as Record<string, unknown>,
        author: toHex(r.author),
        rejection: this.ledger.query.rejectionOf(toHex(r.id)),
      })
    }
    return out
  }

  query(dapp: string, name: string, params: Record<string, string> = {}): unknown {
    const h = this.#queries.get(`${dapp}/${name}`)
    if (!h) throw new Error(`no query ${dapp}/${name}`)
    return h(params, this.ledger.view)
  }

  output<T extends Output>(name: string): T {
    const o = this.outputs.get(name)
    if (!o) throw new Error(`no output ${name}`)
    return o as T
  }

  /** Physical levels written to an output line (request first), in order. */
  levels(name: string): number[] {
    return this.gpio.levels(this.#lineOf(name))
  }

  /** Puts a level on an input line and lets its debounce run out. */
  async drive(input: string, value: 0 | 1, settleMs = 300): Promise<void> {
    this.gpio.drive(this.#lineOf(input), value)
    await this.advance(settleMs)
  }

  #lines = new Map<string, LineRef>()
  #lineOf(name: string): LineRef {
    const l = this.#lines.get(name)
    if (!l) throw new Error(`no line named ${name}`)
    return l
  }

  setLine(name: string, line: LineRef): void {
    this.#lines.set(name, line)
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p)
    p.then(
      () => this.#pending.delete(p),
      () => this.#pending.delete(p),
    )
  }

  context(dapp: Dapp): DappRuntimeContext {
    const owns = new Set(dapp.types)
    const log = this.log.child({ dapp: dapp.name })
    const outputs = this.outputs
    const find = <T>(name: string, kind: string, type: new (...a: never[]) => T): T => {
      const device = outputs.get(name)
      if (!(device instanceof type)) throw dappErrors.DAPP_OUTPUT(name, kind)
      return device
    }
    const view: OutputsView = {
      lock: (name) => find(name, 'lock', Lock),
      relay: (name) => find(name, 'relay', ToolRelay),
      led: (name) => find(name, 'led', Led),
      buzzer: (name) => find(name, 'buzzer', Buzzer),
    }
    const ledger = this.ledger
    return {
      log,
      clock: this.clock,
      state: ledger.view,
      node: { key: DEVICE.id, role: ledger.roleOf(DEVICE.id) },
      outputs: view,
      append: (type, body) => {
        if (!owns.has(type)) return Promise.reject(dappErrors.DAPP_NOT_OWNER(dapp.name, type))
        const historyAtCall = this.gpio.history.length
        const held = this.#held
        const result = held
          ? new Promise<AppendResult>((resolve, reject) =>
              held.push(() => ledger.append(type, body, DEVICE).then(resolve, reject)),
            )
          : ledger.append(type, body, DEVICE)
        this.appends.push({ type, body, historyAtCall, result })
        this.#track(result)
        return result
      },
      query: (name, handler) => {
        this.#queries.set(`${dapp.name}/${name}`, handler)
      },
      on: (event, handler) => {
        const list = this.#handlers.get(event) ?? []
        const failed = (err: unknown) => this.#failed(log, err, `dapp ${dapp.name} failed handling ${event}`)
        list.push(async (e) => {
          try {
            await (handler as (e: unknown) => void | Promise<void>)(e)
          } catch (err) {
            failed(err)
          }
        })
        this.#handlers.set(event, list)
      },
      every: (ms, handler) => {
        const tick = () => {
          if (this.#closed) return
          this.clock.setTimeout(tick, ms)
          this.#track(
            Promise.resolve()
              .then(handler)
              .catch((err) => this.#failed(log, err, `dapp ${dapp.name} timer failed`)),
          )
        }
        this.clock.setTimeout(tick, ms)
      },
    }
  }

  #failed(log: Logger, err: unknown, msg: string): void {
    this.failures.push(err)
    log.error({ err }, msg)
  }

  /** Wires a device input as runtime/hardware.ts does: `input` on every change, `alarm` from a door contact. */
  wireInput(name: string, kind: HarnessInput['kind'], device: DebouncedInput): void {
    device.onChange((c) => void this.emit('input', { name, kind, value: c.value, at: c.at }))
    if (device instanceof DoorContact) device.onAlarm((a) => void this.emit('alarm', { name, ...a }))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.settle().catch(() => {})
    for (const i of this.inputs.values()) await i.close().catch(() => {})
    for (const o of this.outputs.values()) await o.close().catch(() => {})
    await this.gpio.close()
    await this.ledger.close()
    if (this.failures.length > 0) throw new AggregateError(this.failures, 'a dapp handler or timer failed')
  }
}

/** Builds the board and the ledger, then starts `dapps` (after the fakes they depend on). */
export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const { clock } = opts
  const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })
  const gpio = new SimGpio({ clock, log: quiet })
  await gpio.ready()
  const ledger = await openTestLedger({
    dapps: [...(opts.fakes ?? FAKE_DAPPS), ...opts.dapps].map(ledgerDapp),
    ...(opts.ledgerNow ? { now: opts.ledgerNow } : {}),
  })
  await provision(ledger)
  const h = new Harness(clock, gpio, ledger)
  onTestFinished(() => h.close())
  for (const o of opts.outputs ?? []) {
    const common = { name: o.name, gpio, line: o.line, clock, log: quiet }
    const device =
      o.kind === 'lock'
        ? new Lock(common)
        : o.kind === 'relay'
          ? new ToolRelay(common)
          : o.kind === 'led'
            ? new Led(common)
            : new Buzzer(common)
    await device.ready()
    h.outputs.set(o.name, device)
    h.setLine(o.name, o.line)
  }
  for (const i of opts.inputs ?? []) {
    const common = { name: i.name, gpio, line: i.line, clock, log: quiet }
    // A closed door and a released e-stop pull their line to ground (pull-up wiring).
    if (i.kind === 'door-contact' || i.kind === 'estop') gpio.drive(i.line, 0)
    const device =
      i.kind === 'door-contact'
        ? new DoorContact({ ...common, heldOpenMs: i.heldOpenMs ?? 30_000 })
        : i.kind === 'estop'
          ? new EStop(common)
          : i.kind === 'current-sense'
            ? new CurrentSense(common)
            : new ExitButton(common)
    await device.ready()
    h.wireInput(i.name, i.kind, device)
    h.inputs.set(i.name, device)
    h.setLine(i.name, i.line)
  }
  h.dapps = opts.dapps
  if (!opts.deferStart) await h.startDapps()
  return h
}
