/**
 * An in-memory edge source: tests (and a bench) call `pulse()` or `send()` to play a Wiegand
 * reader, `fail()` / `recover()` to play a source that stops and comes back.
 */
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import { Resource } from '../../../runtime/core/lifecycle.ts'
import type { WiegandLine } from '../decoders/wiegand.ts'
import type { EdgeHandlers, EdgeSource } from './source.ts'

export class SimEdgeSource extends Resource implements EdgeSource {
  readonly #subs = new Set<EdgeHandlers>()

  protected async _open(): Promise<void> {
    for (const s of this.#subs) s.up?.()
  }

  protected async _close(): Promise<void> {}

  subscribe(handlers: EdgeHandlers): () => void {
    this.#subs.add(handlers)
    if (this.opened) handlers.up?.()
    return () => this.#subs.delete(handlers)
  }

  pulse(line: WiegandLine, at: number): void {
    for (const s of this.#subs) s.edge({ line, at })
  }

  /** Plays bits (1 → D1, 0 → D0) starting at `at`, one every `periodMs`. Returns the time after the last. */
  send(bits: readonly number[], at: number, periodMs = 2): number {
    let t = at
    for (const b of bits) {
      this.pulse(b ? 'd1' : 'd0', t)
      t += periodMs
    }
    return t
  }

  fail(err: LatchkeyError): void {
    for (const s of this.#subs) s.down?.(err)
  }

  recover(): void {
    for (const s of this.#subs) s.up?.()
  }
}
