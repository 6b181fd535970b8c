/**
 * The door-access test harness: a real Ledger (in memory, ADMIN genesis, DEVICE enrolled as this
 * board's key), a test board (board.ts: SimGpio, real outputs and inputs) and the test dapp host
 * (host.ts: the dapp runtime context, held to the dapp context contract by
 * dapps/context-contract.test.ts), every timer on one FakeClock. A dapp handler or timer that
 * fails fails the test at close unless the test clears `failures`. Closes itself when the test ends.
 */
import { Writable } from 'node:stream'
import { onTestFinished } from 'vitest'
import type { Output } from '../../../devices/outputs/index.ts'
import type { FakeClock } from '../../../runtime/core/clock.ts'
import type { AppendResult, Ledger } from '../../../runtime/core/ledger/ledger.ts'
import type { Rejection } from '../../../runtime/core/ledger/reasons.ts'
import { decodeBody, toHex } from '../../../runtime/core/ledger/record.ts'
import { ADMIN, DEVICE, openTestLedger, provision } from '../../../runtime/core/ledger/testing/fixtures.ts'
import { createLogger } from '../../../runtime/core/log.ts'
import type { Dapp, DappEvents, DappRuntimeContext } from '../../contract.ts'
import { ledgerDapp } from '../../contract.ts'
import { type BoardInput, type BoardOutput, TestBoard } from './board.ts'
import { FAKE_DAPPS } from './fakes.ts'
import { type AppendCall, TestHost } from './host.ts'

export type { AppendCall } from './host.ts'
export type HarnessOutput = BoardOutput
export type HarnessInput = BoardInput

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

export interface LedgerEntry {
  type: string
  body: Record<string, unknown>
  author: string
  rejection: Rejection | null
}

export class Harness {
  readonly clock: FakeClock
  readonly ledger: Ledger
  /** Every log line the dapps wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>
  readonly #board: TestBoard
  readonly #host: TestHost

  constructor(
    clock: FakeClock,
    ledger: Ledger,
    board: TestBoard,
    host: TestHost,
    logs: Array<Record<string, unknown>>,
  ) {
    this.clock = clock
    this.ledger = ledger
    this.#board = board
    this.#host = host
    this.logs = logs
  }

  get gpio() {
    return this.#board.gpio
  }

  /** Errors thrown by dapp handlers and timers; close() fails the test while any are left. */
  get failures(): unknown[] {
    return this.#host.failures
  }

  /** Every append a dapp made, in order. */
  get appends(): AppendCall[] {
    return this.#host.appends
  }

  /** Starts the dapps under test, each with its own context. */
  startDapps(): Promise<void> {
    return this.#host.start()
  }

  /** A fresh runtime context for `dapp`, as the dapp gets at start. */
  context(dapp: Dapp): DappRuntimeContext {
    return this.#host.context(dapp)
  }

  /** Emits a hardware event to the dapps; resolves when their handlers have finished. */
  emit<E extends keyof DappEvents>(event: E, e: DappEvents[E]): Promise<void> {
    return this.#host.emit(event, e)
  }

  /** Badge `credential` (an `em:` id, 32 bits unless given) at `reader`. */
  badge(reader: string, id: string, bits = 32): Promise<void> {
    return this.emit('badge', { reader, credential: { id, kind: 'em', bits }, at: this.clock.now() })
  }

  /** Waits until every handler started so far (and what it started) has finished. */
  settle(): Promise<void> {
    return this.#host.settle()
  }

  /** Moves fake time and lets the handlers it triggered finish. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms)
    await this.settle()
  }

  /** Holds every dapp append back until `release()`: nothing reaches the ledger meanwhile. */
  holdAppends(): () => void {
    return this.#host.holdAppends()
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
    return this.#host.query(dapp, name, params)
  }

  output<T extends Output>(name: string): T {
    return this.#board.output<T>(name)
  }

  /** Physical levels written to an output line (request first), in order. */
  levels(name: string): number[] {
    return this.gpio.levels(this.#board.line(name))
  }

  /** Puts a level on an input line and lets its debounce run out. */
  async drive(input: string, value: 0 | 1, settleMs = 300): Promise<void> {
    this.gpio.drive(this.#board.line(input), value)
    await this.advance(settleMs)
  }

  async close(): Promise<void> {
    if (!(await this.#host.close())) return
    await this.#board.close()
    await this.ledger.close()
    if (this.failures.length > 0) throw new AggregateError(this.failures, 'a dapp handler or timer failed')
  }
}

/** A logger that keeps every line it writes, parsed. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = []
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
        done()
      },
    }),
  })
  return { log, lines }
}

/** Builds the board and the ledger, then starts `dapps` (after the fakes they depend on). */
export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const { clock } = opts
  const ledger = await openTestLedger({
    dapps: [...(opts.fakes ?? FAKE_DAPPS), ...opts.dapps].map(ledgerDapp),
    ...(opts.ledgerNow ? { now: opts.ledgerNow } : {}),
  })
  await provision(ledger)
  let host: TestHost | null = null
  const board = await TestBoard.create({
    clock,
    outputs: opts.outputs,
    inputs: opts.inputs,
    emit: (event, e) => void host?.emit(event, e),
  })
  const { log, lines } = capturedLog()
  host = new TestHost({
    clock,
    ledger,
    key: DEVICE,
    log,
    outputs: board.outputs,
    actuated: () => board.gpio.history.length,
    dapps: opts.dapps,
  })
  const h = new Harness(clock, ledger, board, host, lines)
  onTestFinished(() => h.close())
  if (!opts.deferStart) await h.startDapps()
  return h
}
