/**
 * Relayed ingest (records a peer sent): one shared transaction committed with WAL NORMAL,
 * replays of late records put off until `settle`, a put-off replay finished at the next open,
 * and WAL checkpoints on a worker thread. The state must always end where ordinary ingest ends.
 */
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { tmpDir } from '../../../test/helpers/index.ts'
import { Checkpointer } from './checkpointer.ts'
import { AUTHORITY_ROWS_SQL, ID_LOOKUP_SQL, type Ledger } from './ledger.ts'
import { compareOrder, toHex, wireBytes } from './record.ts'
import { openDb } from './store.ts'
import {
  ADMIN,
  DEVICE,
  DEVICE2,
  dbOf,
  openTestLedger,
  partsOf,
  provision,
  silentLogger,
} from './testing/fixtures.ts'

const relayWriterOf = (l: Ledger) => partsOf(l).writer

async function open(opts: Parameters<typeof openTestLedger>[0] = {}): Promise<Ledger> {
  const l = await openTestLedger(opts)
  onTestFinished(() => l.close())
  return l
}

/**
 * Two sides of one site that appended apart: `early` wrote first (its records sort before
 * `late`'s), so ingesting early's records into late needs a replay.
 */
async function apart(dir: string) {
  const late = await open({ dir, name: 'late' })
  await provision(late)
  await late.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'd2' }, ADMIN)
  const early = await open({ dir, name: 'early' })
  early.ingest([...late.query.records()].map(wireBytes))
  for (let i = 0; i < 40; i++) await early.append('test.put', { k: `k${i % 7}`, v: i }, DEVICE2)
  for (let i = 0; i < 40; i++) await late.append('test.put', { k: `k${i % 5}`, v: 100 + i }, DEVICE)
  const reference = await open({ dir, name: 'reference' })
  reference.ingest([...late.query.records(), ...early.query.records()].map(wireBytes))
  // early's own records (the site records both sides hold would be duplicates)
  const wires = [...early.query.records()].filter((r) => toHex(r.author) === DEVICE2.id).map(wireBytes)
  return { early, late, reference, wires }
}

describe('relayed ingest', () => {
  it('puts off the replay of late records until settle, then ends in the same state as ordinary ingest', async () => {
    const { late, reference, wires } = await apart(tmpDir())
    for (let i = 0; i < wires.length; i += 10)
      relayWriterOf(late).ingestWires(wires.slice(i, i + 10), { tipVerification: true })
    expect(late.count).toBe(reference.count)
    expect(late.relay().unsettled).toBe(true)
    expect(late.stateHash).not.toBe(reference.stateHash) // the early records are stored, not yet folded
    expect(partsOf(late).fold.settle()).toBe(true)
    expect(late.relay().unsettled).toBe(false)
    expect(late.stateHash).toBe(reference.stateHash)
    expect(partsOf(late).fold.settle()).toBe(false)
  })

  it('a put-off replay survives a restart: the next open finishes it', async () => {
    const dir = tmpDir()
    const { late, reference, wires } = await apart(dir)
    relayWriterOf(late).ingestWires(wires, { tipVerification: true })
    expect(late.relay().unsettled).toBe(true)
    const ref = reference.stateHash
    await late.close() // commits the relayed transaction, replay still put off
    const again = await open({ file: join(dir, 'late.db') })
    expect(again.relay().unsettled).toBe(false)
    expect(again.stateHash).toBe(ref)
    expect(again.count).toBe(reference.count)
  })

  it('relayed records become visible to other connections when the shared transaction commits', async () => {
    const dir = tmpDir()
    const { late, wires } = await apart(dir)
    const before = late.count
    const reader = openDb(join(dir, 'late.db'), { readonly: true })
    onTestFinished(() => {
      reader.close()
    })
    const stored = () => (reader.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n
    expect(stored()).toBe(before)
    relayWriterOf(late).ingestWires(wires.slice(0, 5), { tipVerification: true })
    expect(late.count).toBe(before + 5)
    expect(stored()).toBe(before) // still in the open transaction
    relayWriterOf(late).commit()
    expect(stored()).toBe(before + 5)
    // A local append commits an open relayed transaction first (with its own fsync).
    relayWriterOf(late).ingestWires(wires.slice(5, 10), { tipVerification: true })
    await late.append('test.put', { k: 'local', v: 1 }, DEVICE)
    expect(stored()).toBe(before + 11)
  })

  it('a relayed transaction commits by itself after a short while', async () => {
    const dir = tmpDir()
    const { late, wires } = await apart(dir)
    const reader = openDb(join(dir, 'late.db'), { readonly: true })
    onTestFinished(() => {
      reader.close()
    })
    const stored = () => (reader.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n
    const before = stored()
    relayWriterOf(late).ingestWires(wires.slice(0, 3), { tipVerification: true })
    await expect.poll(stored, { timeout: 5000 }).toBe(before + 3)
  })
})

describe('checkpoint worker', () => {
  it('checkpoints the WAL off the event loop and the ledger reopens intact', async () => {
    const dir = tmpDir()
    const l = await openTestLedger({ dir, name: 'cp', checkpointWorker: true })
    await provision(l)
    expect(l.query.checkpoints).toEqual({ done: 0, failed: 0 })
    for (let i = 0; i < 200; i++) await l.append('test.put', { k: `k${i}`, v: i }, DEVICE)
    await expect.poll(() => l.query.checkpoints!.done, { timeout: 10_000 }).toBeGreaterThan(0)
    expect(l.query.checkpoints!.failed).toBe(0)
    const hash = l.stateHash
    const count = l.count
    await l.close()
    const again = await open({ file: join(dir, 'cp.db') })
    expect(again.count).toBe(count)
    expect(again.stateHash).toBe(hash)
    expect((await again.query.verifyAll()).problem).toBeNull()
  })

  it('shares the main connection’s SQLite: a checkpoint leaves the frames an open read still needs', async () => {
    // With a second copy of SQLite in the process (node:sqlite, say) the reader's lock would be
    // invisible to the worker, which would copy every frame: the lock loss that corrupts files.
    const file = join(tmpDir(), 'locks.db')
    const db = new Database(file)
    const reader = new Database(file)
    onTestFinished(() => {
      reader.close()
      db.close()
    })
    db.pragma('journal_mode = WAL')
    db.exec('CREATE TABLE t (x BLOB)')
    const insert = db.prepare('INSERT INTO t VALUES (randomblob(4000))')
    for (let i = 0; i < 20; i++) insert.run()
    reader.exec('BEGIN')
    expect(reader.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 20 })
    for (let i = 0; i < 20; i++) insert.run() // frames after the reader's snapshot
    const cp = new Checkpointer(db, file, silentLogger(), 60_000)
    onTestFinished(() => cp.close())
    cp.checkpoint()
    await expect.poll(() => cp.stats.done, { timeout: 10_000 }).toBe(1)
    expect(cp.last!.checkpointed).toBeGreaterThan(0)
    expect(cp.last!.checkpointed).toBeLessThan(cp.last!.log)
    reader.exec('COMMIT')
    cp.checkpoint()
    await expect.poll(() => cp.stats.done, { timeout: 10_000 }).toBe(2)
    expect(cp.last!.checkpointed).toBe(cp.last!.log)
    expect(reader.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 40 })
  })

  it('is off by default', async () => {
    const l = await open({ dir: tmpDir(), name: 'plain' })
    expect(l.query.checkpoints).toBeNull()
  })
})

describe('authority lookups', () => {
  it('read authority records from authority_rows, never by walking every record', async () => {
    const l = await open({ dir: tmpDir(), name: 'plan' })
    await provision(l)
    const plan = (
      dbOf(l).prepare(`EXPLAIN QUERY PLAN ${AUTHORITY_ROWS_SQL}`).all(0) as Array<{ detail: string }>
    ).map((r) => r.detail)
    expect(plan[0]).toMatch(/^SCAN s/)
    expect(plan.join(' ')).not.toMatch(/records_time/)
  })
})

describe('id lookups (record_ids)', () => {
  /** `n` records of each of two authors; DEVICE2's name DEVICE's head as a parent. */
  async function linked(dir: string, n = 5) {
    const src = await open({ dir, name: 'src' })
    await provision(src)
    await src.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'd2' }, ADMIN)
    for (let i = 0; i < n; i++) {
      await src.append('test.put', { k: 'a', v: i }, DEVICE)
      await src.append('test.put', { k: 'b', v: i }, DEVICE2)
    }
    expect([...src.query.records()].filter((r) => r.parents.length > 0).length).toBeGreaterThanOrEqual(n)
    return { src, wires: [...src.query.records()].sort(compareOrder).map(wireBytes) }
  }
  const rows = (l: Ledger) =>
    (dbOf(l).prepare('SELECT count(*) AS n FROM record_ids').get() as { n: number }).n
  const idsFrom = (l: Ledger) => dbOf(l).prepare("SELECT value FROM meta WHERE key = 'ids_from'").get()

  it('find parents stored by the same relayed call, and by earlier ones before their rows are written', async () => {
    const dir = tmpDir()
    const { src, wires } = await linked(dir, 80)
    // One call: every parent is found among the ids stored by this same call.
    const dst = await open({ dir, name: 'dst' })
    expect(relayWriterOf(dst).ingestWires(wires).accepted).toBe(wires.length)
    relayWriterOf(dst).commit()
    expect(dst.stateHash).toBe(src.stateHash)
    // Relayed ids wait in memory; an index run writes their rows.
    expect(rows(dst)).toBe(0)
    expect(relayWriterOf(dst).idsBehind).toBe(wires.length)
    expect(relayWriterOf(dst).indexIds()).toBe(false)
    expect(rows(dst)).toBe(wires.length)
    expect(relayWriterOf(dst).idsBehind).toBe(0)
    expect(idsFrom(dst)).toBeUndefined()
    // One record per call: parents are found among the ids waiting for their rows.
    const one = await open({ dir, name: 'one' })
    for (const w of wires) expect(relayWriterOf(one).ingestWires([w])).toMatchObject({ accepted: 1, held: 0 })
    relayWriterOf(one).commit()
    expect(rows(one)).toBe(0)
    expect(one.stateHash).toBe(src.stateHash)
    // An index run in steps: each step writes some rows; ids stored meanwhile wait for the next run.
    let steps = 0
    while (relayWriterOf(one).indexIds(0)) steps++
    expect(steps).toBeGreaterThan(1)
    expect(rows(one)).toBe(wires.length)
  })

  it('ids whose rows were not written when the process stopped are reloaded at open, then written', async () => {
    const dir = tmpDir()
    const { src, wires } = await linked(dir)
    const dst = await open({ dir, name: 'dst' })
    expect(relayWriterOf(dst).ingestWires(wires.slice(0, -1)).accepted).toBe(wires.length - 1)
    relayWriterOf(dst).commit()
    expect(idsFrom(dst)).toBeDefined()
    // What a power cut would leave: the committed database and WAL, no record_ids rows.
    for (const ext of ['', '-wal']) copyFileSync(join(dir, `dst.db${ext}`), join(dir, `cut.db${ext}`))
    const cut = await open({ file: join(dir, 'cut.db') })
    expect(rows(cut)).toBe(0)
    expect(relayWriterOf(cut).idsBehind).toBe(wires.length - 1)
    // The last record names a parent whose id is only in memory: found, not held.
    expect(cut.ingest(wires.slice(-1))).toMatchObject({ accepted: 1, held: 0 })
    expect(cut.stateHash).toBe(src.stateHash)
    await cut.close() // closing writes the rows still waiting
    const again = await open({ file: join(dir, 'cut.db') })
    expect(relayWriterOf(again).idsBehind).toBe(0)
    expect(rows(again)).toBe(wires.length)
    expect(idsFrom(again)).toBeUndefined()
  })

  it('look ids up through the record_ids key, never by walking records', async () => {
    const l = await open({ dir: tmpDir(), name: 'plan' })
    await provision(l)
    const plan = (
      dbOf(l).prepare(`EXPLAIN QUERY PLAN ${ID_LOOKUP_SQL}`).all(new Uint8Array(32)) as Array<{
        detail: string
      }>
    ).map((r) => r.detail)
    expect(plan[0]).toMatch(/^SEARCH i USING PRIMARY KEY \(p=\?\)/)
    expect(plan[1]).toMatch(/^SEARCH r USING INTEGER PRIMARY KEY/)
  })

  it('a ledger of schema 4 (an index on id prefixes) is migrated: records are found by id', async () => {
    const dir = tmpDir()
    const src = await open({ dir, name: 'src' })
    await provision(src)
    await src.append('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'd2' }, ADMIN)
    for (let i = 0; i < 20; i++) await src.append('test.put', { k: 'a', v: i }, DEVICE)
    const last = await src.append('test.put', { k: 'b', v: 1 }, DEVICE2) // names heads of ADMIN and DEVICE
    expect(last.record.parents.length).toBeGreaterThan(0)
    const wires = [...src.query.records()].sort(compareOrder).map(wireBytes)
    const file = join(dir, 'old.db')
    const old = await openTestLedger({ file })
    old.ingest(wires.slice(0, -1))
    await old.close()
    // Put the file back to schema 4 as earlier versions left it.
    const db = openDb(file)
    db.exec('DROP TABLE record_ids; CREATE INDEX records_id4 ON records (substr(id, 1, 4))')
    db.pragma('user_version = 4')
    db.close()
    const reopened = await open({ file })
    expect(dbOf(reopened).pragma('user_version', { simple: true })).toBe(5)
    const n = (dbOf(reopened).prepare('SELECT count(*) AS n FROM record_ids').get() as { n: number }).n
    expect(n).toBe(wires.length - 1)
    const index = dbOf(reopened).prepare("SELECT name FROM sqlite_master WHERE name = 'records_id4'").get()
    expect(index).toBeUndefined()
    // The last record's parent was stored before the migration: it is found through record_ids.
    expect(reopened.ingest(wires.slice(-1))).toMatchObject({ accepted: 1, held: 0 })
    expect(reopened.stateHash).toBe(src.stateHash)
  })
})

describe('checkpoint worker fallback', () => {
  it('a worker that cannot open the ledger hands checkpoints back to SQLite (automatic, in commits)', async () => {
    const dir = tmpDir()
    const db = openDb(join(dir, 'fallback.db'))
    onTestFinished(() => {
      db.close()
    })
    const cp = new Checkpointer(db, dir /* a directory: the worker cannot open it */, silentLogger())
    onTestFinished(() => cp.close())
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    await expect.poll(() => db.pragma('wal_autocheckpoint', { simple: true }), { timeout: 10_000 }).toBe(1000)
  })
})

describe('serving records to a peer (rangeWire)', () => {
  it('gives exactly the wire bytes of `range`: the genesis, records with parents, any window', async () => {
    const { early, late } = await apart(tmpDir())
    // early ingested late's records, then appended some of its own.
    await early.ingest([...late.query.records()].map(wireBytes))
    await early.append('test.put', { k: 'after', v: 1 }, DEVICE2)
    const all = [...early.query.records()]
    expect(all.some((r) => r.type === 'site.genesis')).toBe(true)
    expect(all.some((r) => r.parents.length > 0)).toBe(true)
    for (const author of [ADMIN.id, DEVICE.id, DEVICE2.id]) {
      const head = early.heads().get(author)!.seq
      for (const [from, limit] of [
        [1, head],
        [2, 3],
        [head, 5],
        [head + 1, 5],
        [Math.max(1, head - 10), 64],
      ] as const) {
        const want = early.query.range(author, from, limit).map(wireBytes)
        if (from <= head) expect(want.length).toBeGreaterThan(0)
        expect(early.query.rangeWire(author, from, limit)).toEqual(want)
      }
    }
    expect(early.query.rangeWire('00'.repeat(32), 1, 10)).toEqual([])
  })

  it('a ledger file in a UTF-16 encoding is served the same (through range)', async () => {
    const file = join(tmpDir(), 'utf16.db')
    const raw = new Database(file)
    raw.pragma("encoding = 'UTF-16le'") // before any table: the file's encoding
    raw.exec('CREATE TABLE scratch (x)')
    raw.close()
    const l = await open({ file })
    await provision(l)
    // Bodies of both parities: `||` in a UTF-16 database would drop an odd length's last byte.
    for (let i = 0; i < 6; i++) await l.append('test.put', { k: 'x'.repeat(i), v: i }, DEVICE)
    const want = l.query.range(DEVICE.id, 1, 100).map(wireBytes)
    expect(new Set(want.map((w) => w.length % 2)).size).toBe(2)
    expect(l.query.rangeWire(DEVICE.id, 1, 100)).toEqual(want)
  })
})
