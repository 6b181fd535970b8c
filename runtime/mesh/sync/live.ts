/**
 * live (docs/PROTOCOL.md, "Sync"): records committed here that did not come from the mesh are
 * pushed as they fold, coalesced over `liveDelayMs`; a burst over `maxLive` records is left to
 * summaries and requests. A peer's live message is ingested like a batch.
 */
import type { TimerHandle } from '../../core/clock.ts'
import { decodeBatch, liveTopic } from '../sync-messages.ts'
import type { Attachment, SyncContext } from './context.ts'
import { readBatches } from './pack.ts'

export class LivePush {
  #ctx: SyncContext
  /** Highest seq per author already pushed live or received from the mesh. */
  #base = new Map<string, number>()
  #timer: TimerHandle | null = null

  constructor(ctx: SyncContext) {
    this.#ctx = ctx
  }

  /** What the ledger holds now is not news: only records committed after this go out. */
  rebase(): void {
    for (const [author, h] of this.#ctx.ledger.heads()) this.#base.set(author, h.seq)
  }

  /** The ledger changed: push what is new after the coalescing delay. */
  schedule(): void {
    if (this.#timer) return
    this.#timer = this.#ctx.clock.setTimeout(() => {
      this.#timer = null
      this.#ctx.safely(() => this.flush())
    }, this.#ctx.limits.liveDelayMs)
  }

  /** Pushes records committed since the last push that did not come from the mesh. */
  flush(): void {
    const ctx = this.#ctx
    if (this.#timer) {
      ctx.clock.clearTimeout(this.#timer)
      this.#timer = null
    }
    const site = ctx.siteHex()
    const delta: Array<[string, number, number]> = []
    let total = 0
    for (const [author, h] of ctx.ledger.heads()) {
      const base = this.#base.get(author) ?? 0
      if (h.seq > base) {
        delta.push([author, base + 1, h.seq - base])
        total += h.seq - base
      }
      this.#base.set(author, h.seq)
    }
    const links = [...ctx.links.values()].filter((a) => a.client.connected)
    if (!site || total === 0 || links.length === 0) return
    if (total > ctx.limits.maxLive) return // a burst this large travels by summary and request
    delta.sort((x, y) => (x[0] < y[0] ? -1 : 1))
    for (const payload of readBatches(ctx, delta, ctx.limits.maxLive)) {
      for (const a of links) if (ctx.publish(a, liveTopic(site, ctx.key.id), payload)) ctx.counters.liveSent++
    }
  }

  close(): void {
    this.#ctx.clock.clearTimeout(this.#timer)
    this.#timer = null
  }
}

/** A peer's live records go through the ingest queue like a batch (no request is waiting on them). */
export function onLive(ctx: SyncContext, a: Attachment, from: string, bytes: Uint8Array): void {
  const { records } = decodeBatch(bytes)
  ctx.enqueue(from, a.name, 'live', records)
}
