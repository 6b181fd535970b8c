/**
 * Opening a ledger: the schema (./store.ts), then what lives in memory read back from it:
 * types, authors and heads, site, state (checked against its saved hash), the enrolment index
 * and cut table, ids a catch-up left waiting, a put-off replay, deferred folds; then held
 * records get another chance.
 */
import type { Authors } from './authors.ts'
import { Checkpointer } from './checkpointer.ts'
import { decodeOrderKey } from './fold.ts'
import { ZERO_HLC } from './hlc.ts'
import { decodeBody, equalBytes, toHex } from './record.ts'
import type { RelayWriter } from './relay-writer.ts'
import { type Row, Rows } from './rows.ts'
import { siteDapp } from './site-dapp.ts'
import { statements } from './statements.ts'
import { openDb } from './store.ts'
import type { Parts } from './types.ts'

/** Opens the database and loads `p` from it; `p.store` is set here. */
export function load(p: Parts & { store: Rows }, writer: RelayWriter): void {
  const { opts, log, state, authors, fold } = p
  p.registry.register(siteDapp(() => p.store.site))
  for (const d of opts.dapps ?? []) {
    try {
      p.registry.register(d)
    } catch (err) {
      // A broken dapp is left out, named; its records are stored with their fold deferred.
      p.failedDapps.set(d.name, (err as Error).message)
      log.error({ dapp: d.name, err }, `dapp ${d.name} could not be loaded into the ledger`)
    }
  }
  const db = openDb(opts.file, { readonly: opts.readonly ?? false })
  const stmts = statements(db)
  const store = new Rows(db, stmts, authors, p.clock, opts.site ?? null)
  ;(p as { store: Rows }).store = store
  store.waiting = writer
  store.loadNextRowid()
  for (const t of db.prepare('SELECT idx, name FROM types ORDER BY idx').all() as Array<{
    idx: number
    name: string
  }>) {
    store.types.set(t.name, t.idx)
    store.typeNames[t.idx] = t.name
  }
  for (const a of db.prepare('SELECT idx, key, head_seq FROM authors ORDER BY idx').all() as Array<{
    idx: number
    key: Uint8Array
    head_seq: number
  }>) {
    const head =
      a.head_seq > 0
        ? (stmts.headRow.get(a.idx, a.head_seq) as { id: Uint8Array; ms: number; c: number })
        : null
    authors.add(a.idx, a.key, a.head_seq, head?.id ?? null, head ? { ms: head.ms, c: head.c } : ZERO_HLC)
  }
  const site = store.meta('site') as Uint8Array | undefined
  if (site) {
    if (store.site && !equalBytes(store.site, site))
      throw new Error(`ledger ${opts.file} belongs to site ${toHex(site)}, not ${toHex(store.site)}`)
    store.site = new Uint8Array(site)
  }
  store.count = Number(store.meta('count') ?? 0)
  const pos = store.meta('pos') as Uint8Array | undefined
  fold.pos = pos ? decodeOrderKey(pos) : null
  for (const row of db.prepare('SELECT key, value FROM state').iterate() as IterableIterator<{
    key: string
    value: Uint8Array
  }>)
    state.load(row.key, row.value)
  state.dirty.clear()
  const savedHash = store.meta('state_hash') as string | undefined
  if (savedHash !== undefined && savedHash !== state.hash) {
    log.warn(
      { saved: savedHash, loaded: state.hash },
      'materialized state does not match its hash; rebuilding',
    )
    if (!opts.readonly) fold.rebuild()
  }
  loadEnrolments(store, authors)
  fold.cuts = fold.authorityPass()
  // Relayed ids whose record_ids rows were not written before the ledger closed.
  writer.load(store.meta('ids_from') as number | undefined)
  const replayFrom = store.meta('replay_from') as Uint8Array | undefined
  // A catch-up cut short before its replay is finished now.
  if (replayFrom) fold.pendingReplay = decodeOrderKey(replayFrom)
  fold.deferred.load(store.meta('deferred') as Uint8Array | undefined)
  fold.foldDeferred()
  if (fold.pendingReplay) fold.settle()
  const latest =
    store.count > 0
      ? (db.prepare('SELECT ms, c FROM records ORDER BY ms DESC, c DESC LIMIT 1').get() as {
          ms: number
          c: number
        })
      : null
  if (latest) p.clock.observe({ ms: latest.ms, c: latest.c })
  // Held records get another chance: this start may bring the dapp or the clock they waited for.
  if (!opts.readonly) p.ingest.retryHeld()
  if (opts.checkpointWorker && !opts.readonly && opts.file !== ':memory:')
    p.checkpointer = new Checkpointer(db, opts.file, log)
  log.info(
    { records: store.count, stateHash: state.hash, site: store.site ? toHex(store.site) : null },
    'ledger open',
  )
}

function loadEnrolments(store: Rows, authors: Authors): void {
  authors.enrolments.clear()
  for (const type of ['site.genesis', 'site.enrol']) {
    const idx = store.types.get(type)
    if (idx === undefined) continue
    for (const row of store.stmts.byType.iterate(idx) as IterableIterator<Row>) {
      const body = decodeBody<{ key?: Uint8Array; admins?: Uint8Array[] }>(row.body)
      for (const k of type === 'site.genesis' ? (body.admins ?? []) : body.key ? [body.key] : [])
        authors.enrol(toHex(k), row.author, row.seq)
    }
  }
}
