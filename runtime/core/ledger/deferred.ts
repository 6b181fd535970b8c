/**
 * Records of types no loaded dapp owns: stored like any other, their fold deferred. Per type,
 * the earliest such record in the total order (meta 'deferred'): when a dapp comes to own the
 * type, the fold replays from there.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { AUTHORITY_TYPES } from './authority.ts'
import type { DappRegistry } from './dapp.ts'
import { compareOrder } from './record.ts'
import type { Rows } from './rows.ts'
import type { OrderKey } from './types.ts'

const before = (a: OrderKey, b: OrderKey) => compareOrder(a, b) < 0

export class Deferred {
  readonly since = new Map<string, OrderKey>()
  /** `since` changed since it was last written. */
  dirty = false
  /**
   * Stored records per type no loaded dapp owns; null until first asked: counting is a scan of
   * the records table, which a tool that opens the ledger without the dapps must not pay at
   * every open.
   */
  counts: Map<string, number> | null = null

  load(saved: Uint8Array | undefined): void {
    this.since.clear()
    if (!saved) return
    const entries = dagCbor.decode(saved) as Record<string, [number, number, Uint8Array]>
    for (const [type, [ms, c, id]] of Object.entries(entries))
      this.since.set(type, { hlc: { ms, c }, id: new Uint8Array(id) })
  }

  /** A folded record of a type no dapp owns. */
  note(r: OrderKey & { type: string }): void {
    const seen = this.since.get(r.type)
    if (!seen || before(r, seen)) {
      this.since.set(r.type, { hlc: r.hlc, id: r.id })
      this.dirty = true
    }
  }

  /** Stored records whose fold waits for a dapp that owns their type. */
  count(rows: Rows): number {
    this.counts ??= this.#countAll(rows)
    let n = 0
    for (const c of this.counts.values()) n += c
    return n
  }

  /**
   * Forgets the types a dapp now owns; returns the earliest of their records (null: none), and
   * whether any is an authority type (then the whole fold must be redone).
   */
  takeOwned(registry: DappRegistry): { from: OrderKey | null; authority: boolean } {
    let from: OrderKey | null = null
    let authority = false
    for (const [type, key] of this.since) {
      if (!registry.owner(type)) continue
      this.since.delete(type)
      this.dirty = true
      if (!from || before(key, from)) from = key
      if (AUTHORITY_TYPES.has(type)) authority = true
    }
    for (const type of this.counts?.keys() ?? []) if (registry.owner(type)) this.counts!.delete(type)
    return { from, authority }
  }

  /** Writes meta 'deferred' if it changed (inside the caller's transaction). */
  write(rows: Rows): void {
    if (!this.dirty) return
    this.dirty = false
    if (this.since.size === 0) rows.stmts.metaDel.run('deferred')
    else
      rows.stmts.metaPut.run(
        'deferred',
        dagCbor.encode(Object.fromEntries([...this.since].map(([t, k]) => [t, [k.hlc.ms, k.hlc.c, k.id]]))),
      )
  }

  /** Counts the records of each deferred type from its earliest deferred record on. */
  #countAll(rows: Rows): Map<string, number> {
    const counts = new Map<string, number>()
    const count = rows.db.prepare('SELECT count(*) AS n FROM records WHERE type = ? AND (ms, c) >= (?, ?)')
    for (const [type, from] of this.since) {
      const idx = rows.types.get(type)
      if (idx === undefined) continue
      const n = (count.get(idx, from.hlc.ms, from.hlc.c) as { n: number }).n
      if (n > 0) counts.set(type, n)
    }
    return counts
  }
}
