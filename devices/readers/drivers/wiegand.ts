/**
 * Wiegand 26 / 34 readers on two GPIO lines. Edges come from an `EdgeSource` (gpiomon by
 * default); the decoder splits frames on the edges' own timestamps, and a timer on the injected
 * clock ends the last frame `gapMs` after the last pulse arrived. A Wiegand reader is silent
 * without a badge, so health reflects the edge source (gpiomon running or not) and garbage
 * (parity errors, wrong bit counts, stray pulses).
 */
import type { TimerHandle } from '../../../runtime/core/clock.ts'
import { fromWiegand26, fromWiegand34 } from '../credential.ts'
import type { Decoded } from '../decoders/types.ts'
import { type WiegandBits, WiegandDecoder, type WiegandFrame } from '../decoders/wiegand.ts'
import type { EdgeSource } from '../edges/source.ts'
import { ReaderBase, type ReaderCommon } from '../reader.ts'

export interface WiegandReaderOptions extends ReaderCommon {
  type: 'wiegand26' | 'wiegand34'
  edges: EdgeSource
  /** Close `edges` with the reader (true when the factory made it). Default true. Either way `ready()` starts it. */
  ownsEdges?: boolean
  /** Quiet time that ends a frame. Default 25 ms. */
  gapMs?: number
}

export class WiegandReader extends ReaderBase {
  readonly type: 'wiegand26' | 'wiegand34'
  readonly #edges: EdgeSource
  readonly #ownsEdges: boolean
  readonly #decoder: WiegandDecoder
  #unsubscribe: (() => void) | null = null
  #timer: TimerHandle | null = null
  #wasUp = false

  constructor(opts: WiegandReaderOptions) {
    super(opts)
    this.type = opts.type
    this.#edges = opts.edges
    this.#ownsEdges = opts.ownsEdges ?? true
    const formats: WiegandBits[] = opts.type === 'wiegand26' ? [26] : [34]
    this.#decoder = new WiegandDecoder({ formats, gapMs: opts.gapMs ?? 25 })
  }

  protected async _open(): Promise<void> {
    this.#unsubscribe = this.#edges.subscribe({
      edge: (e) => {
        this.#handle(this.#decoder.push(e))
        this.clock.clearTimeout(this.#timer)
        this.#timer = this.clock.setTimeout(() => {
          this.#timer = null
          this.#handle(this.#decoder.flush())
        }, this.#decoder.gapMs)
      },
      up: () => {
        this.markUp(this.#wasUp)
        this.#wasUp = true
      },
      down: (err) => {
        this.clock.clearTimeout(this.#timer)
        this.#timer = null
        this.#decoder.reset()
        this.markDown(err)
      },
    })
    // ready() is idempotent: a shared source may already be running.
    await this.#edges.ready()
  }

  protected async _close(): Promise<void> {
    this.#unsubscribe?.()
    this.#unsubscribe = null
    this.clock.clearTimeout(this.#timer)
    this.#timer = null
    if (this.#ownsEdges) await this.#edges.close()
    this.monitor.close()
  }

  #handle(results: Decoded<WiegandFrame>[]): void {
    for (const d of results) {
      if (!d.ok) this.badFrame(d.reason, d.detail)
      else if (d.frame.bits === 26) this.present(fromWiegand26(d.frame.facility, d.frame.card))
      else this.present(fromWiegand34(d.frame.value))
    }
  }
}
