/**
 * Records from key holders (docs/PROTOCOL.md §4, "Records from key holders"): prepare reserves
 * nothing and refuses what the rules refuse; submit judges before it stores and, refusing,
 * keeps nothing; a seq refused at submit stays free and is never turned into a fork proof.
 * Real SQLite files in a temporary directory; the HTTP route handlers are driven with a caller
 * object as the server hands them one.
 */
import { sign } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ledgerRoutes } from '../../http/ledger-routes.ts'
import type { Caller, RouteHandler } from '../../http/server.ts'
import type { KeyPair } from '../keys.ts'
import type { LedgerDapp } from './dapp.ts'
import type { Ledger } from './ledger.ts'
import { reject } from './reasons.ts'
import {
  decodeRecordBytes,
  encodeBody,
  fromHex,
  prepareRecord,
  type SignedRecord,
  toHex,
  wireBytes,
} from './record.ts'
import { ADMIN, ADMIN2, DEVICE, dbOf, openTestLedger, provision, testDapp } from './testing/fixtures.ts'

type OpenOpts = Parameters<typeof openTestLedger>[0]

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-submit-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function open(opts: OpenOpts & { dir: string }): Promise<Ledger> {
  const l = await openTestLedger(opts)
  onTestFinished(() => l.close())
  return l
}

/** A site on disk: ADMIN genesis, DEVICE enrolled (the node's own key here), ADMIN2 enrolled admin. */
async function site(opts: OpenOpts & { dir: string }): Promise<Ledger> {
  const l = await open(opts)
  await provision(l)
  const r = await l.append(
    'site.enrol',
    { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' },
    ADMIN,
  )
  expect(r.rejection).toBeNull()
  return l
}

/** The signed wire of a prepared record (what a client does on its own machine). */
function signPrepared(r: Omit<SignedRecord, 'sig'>, key: KeyPair): Uint8Array {
  return wireBytes({ sig: new Uint8Array(sign(null, r.id, key.privateKeyObject)), bytes: r.bytes })
}

/** A prepared record with some fields replaced, signed by `key`. */
function resigned(
  r: Omit<SignedRecord, 'sig'>,
  key: KeyPair,
  over: Partial<Parameters<typeof prepareRecord>[0]>,
): Uint8Array {
  const fields = decodeRecordBytes(r.bytes)
  return signPrepared(prepareRecord({ ...fields, ...over }), key)
}

/** The error a call throws (fails the test when it does not throw). */
function thrown(f: () => unknown): { code: string; status: number; details: Record<string, unknown> } {
  try {
    f()
  } catch (err) {
    return err as { code: string; status: number; details: Record<string, unknown> }
  }
  throw new Error('expected the call to throw')
}

function forks(l: Ledger): number {
  return (dbOf(l).prepare('SELECT count(*) AS n FROM forks').get() as { n: number }).n
}

/** The ledger routes' handlers, called as the HTTP server calls them. */
function routes(l: Ledger, nodeKey: KeyPair) {
  const handlers = new Map<string, RouteHandler>()
  ledgerRoutes(
    { route: (_m, url, h) => handlers.set(url, h) },
    { ledger: () => l, nodeKey: () => nodeKey.id },
  )
  const call = (url: string, body: unknown, caller: Caller | null) =>
    handlers.get(url)!({ params: {}, query: {}, headers: {}, body, caller }) as Record<string, unknown>
  return {
    prepare: (body: unknown, caller: Caller | null) => call('/api/v1/ledger/prepare', body, caller),
    submit: (body: unknown, caller: Caller | null) => call('/api/v1/ledger/submit', body, caller),
  }
}

const as = (key: KeyPair, role = 'admin'): Caller => ({ key: key.id, role })
const put = (k: string, v: number) => encodeBody({ k, v })

describe('records from key holders', () => {
  it("a prepare for the node's own key never makes its access events fail", async () => {
    const dir = tmp()
    const l = await site({ dir })
    const api = routes(l, DEVICE)
    // Through the API the node key is refused outright.
    const e = thrown(() => api.prepare({ type: 'test.event', body: toHex(encodeBody({ n: 0 })) }, as(DEVICE)))
    expect([e.code, e.status]).toEqual(['LK_RECORD_NODE_KEY', 403])
    // Even prepared directly and never submitted, it holds nothing: the node's appends go on.
    l.admin.prepare('test.event', encodeBody({ n: 0 }), DEVICE.publicKey)
    for (let n = 1; n <= 5; n++) {
      const r = await l.append('test.event', { n }, DEVICE)
      expect(r.rejection).toBeNull()
    }
    await l.close()
    const again = await open({ dir })
    const r = await again.append('test.event', { n: 6 }, DEVICE)
    expect(r.rejection).toBeNull()
    expect(r.record.seq).toBe(6)
    expect(forks(again)).toBe(0)
    expect(again.roleOf(DEVICE.id)).toBe('device')
  })

  it('an abandoned prepare never blocks the key owner', async () => {
    const l = await site({ dir: tmp() })
    // Another caller cannot prepare in ADMIN2's name at all …
    const api = routes(l, DEVICE)
    const e = thrown(() =>
      api.prepare({ type: 'test.put', body: toHex(put('a', 1)), author: ADMIN2.id }, as(ADMIN)),
    )
    expect([e.code, e.status]).toEqual(['LK_RECORD_WRONG_AUTHOR', 403])
    // … and ADMIN2's own abandoned prepares hold nothing.
    for (let i = 0; i < 5; i++) l.admin.prepare('test.put', put('a', i), ADMIN2.publicKey)
    const prepared = api.prepare({ type: 'test.put', body: toHex(put('a', 9)) }, as(ADMIN2))
    const r = decodeRecordBytes(fromHex(prepared.record as string))
    const out = api.submit({ wire: toHex(signPrepared(r, ADMIN2)) }, as(ADMIN2))
    expect(out).toMatchObject({ duplicate: false, status: 'applied', rejection: null })
    expect(l.view.get('test/a')).toBe(9)
  })

  it('a refused submit never cuts the writer’s key (CLOCK_FUTURE, UNKNOWN_PARENT, then the same seq re-signed)', async () => {
    const dir = tmp()
    let now = Date.now()
    const l = await site({ dir, now: () => now })
    const before = { count: l.count, hash: l.stateHash }
    const p = l.admin.prepare('test.put', put('b', 1), ADMIN2.publicKey)
    const future = resigned(p, ADMIN2, { hlc: { ms: now + 60 * 60_000, c: 0 } })
    const e1 = thrown(() => l.admin.submit(future, { author: ADMIN2.id }))
    expect([e1.code, e1.status, e1.details.reason]).toEqual(['LK_RECORD_REFUSED', 422, 'CLOCK_FUTURE'])
    const orphan = resigned(p, ADMIN2, { parents: [new Uint8Array(32).fill(7)] })
    const e2 = thrown(() => l.admin.submit(orphan, { author: ADMIN2.id }))
    expect([e2.code, e2.details.reason]).toEqual(['LK_RECORD_REFUSED', 'UNKNOWN_PARENT'])
    expect({ count: l.count, hash: l.stateHash }).toEqual(before)
    expect(l.query.quarantined()).toEqual([])
    // The seq stayed free: the writer signs it again, and it is taken.
    const again = l.admin.prepare('test.put', put('b', 2), ADMIN2.publicKey)
    expect(again.seq).toBe(p.seq)
    expect(l.admin.submit(signPrepared(again, ADMIN2), { author: ADMIN2.id }).status).toBe('applied')
    // Past the refused record's clock, after a retry and a restart: no fork, the key is whole.
    now += 2 * 60 * 60_000
    l.admin.retryHeld()
    await l.close()
    const reopened = await open({ dir, now: () => now })
    expect(forks(reopened)).toBe(0)
    expect(reopened.roleOf(ADMIN2.id)).toBe('admin')
    expect(reopened.view.get('test/b')).toBe(2)
    const next = reopened.admin.prepare('test.put', put('b', 3), ADMIN2.publicKey)
    expect(reopened.admin.submit(signPrepared(next, ADMIN2), { author: ADMIN2.id }).status).toBe('applied')
  })

  it("a record of an unknown type never blocks its author's later records (submitted, then a restart)", async () => {
    const dir = tmp()
    const l = await site({ dir })
    const odd = l.admin.prepare('nobody.thing', encodeBody({ x: 1 }), ADMIN2.publicKey)
    const out = l.admin.submit(signPrepared(odd, ADMIN2), { author: ADMIN2.id })
    expect(out).toMatchObject({ duplicate: false, status: 'deferred', rejection: null })
    expect(l.query.deferredCount).toBe(1)
    const next = l.admin.prepare('test.put', put('c', 1), ADMIN2.publicKey)
    expect(next.seq).toBe(odd.seq + 1)
    expect(l.admin.submit(signPrepared(next, ADMIN2), { author: ADMIN2.id }).status).toBe('applied')
    await l.close()
    const reopened = await open({ dir })
    expect(reopened.query.quarantined()).toEqual([])
    expect(forks(reopened)).toBe(0)
    expect(reopened.roleOf(ADMIN2.id)).toBe('admin')
    expect(reopened.query.statusOf(toHex(odd.id))).toBe('deferred')
    expect(reopened.query.deferredCount).toBe(1)
    // A tool that opens the file without the dapps sees what the node decided.
    const tool = await open({ dir, dapps: [], readonly: true })
    expect(tool.query.statusOf(toHex(odd.id))).toBe('deferred')
    expect(tool.query.statusOf(toHex(next.id))).toBe('applied')
    expect(tool.query.deferredCount).toBe(1)
  })

  it('a record the dapp refuses at submit is not stored', async () => {
    const l = await site({ dir: tmp() })
    const before = { count: l.count, hash: l.stateHash }
    // Prepare refuses it: nothing is handed out for signing.
    const e1 = thrown(() => l.admin.prepare('test.put', put('d', -1), ADMIN2.publicKey))
    expect([e1.code, e1.status, e1.details.reason]).toEqual(['LK_RECORD_REFUSED', 422, 'test.NEGATIVE'])
    // Signed anyway (built by hand): submit refuses it and keeps nothing.
    const ok = l.admin.prepare('test.put', put('d', 1), ADMIN2.publicKey)
    const bad = resigned(ok, ADMIN2, { body: put('d', -1) })
    const e2 = thrown(() => l.admin.submit(bad, { author: ADMIN2.id }))
    expect([e2.code, e2.status, e2.details.reason]).toEqual(['LK_RECORD_REFUSED', 422, 'test.NEGATIVE'])
    expect({ count: l.count, hash: l.stateHash }).toEqual(before)
    expect(l.query.quarantined()).toEqual([])
    // A key that is not enrolled: 403.
    const stranger = l.admin.prepare('test.put', put('d', 1), ADMIN2.publicKey)
    const e3 = thrown(() =>
      l.admin.prepare(
        'test.put',
        put('d', 1),
        new Uint8Array(stranger.author).map((b, i) => (i === 0 ? b ^ 1 : b)),
      ),
    )
    expect([e3.code, e3.status, e3.details.reason]).toEqual(['LK_RECORD_FORBIDDEN', 403, 'NOT_AUTHORIZED'])
  })

  it('garbage submits leave no quarantine rows', async () => {
    const l = await site({ dir: tmp() })
    const api = routes(l, DEVICE)
    const before = { count: l.count, hash: l.stateHash }
    for (let i = 0; i < 300; i++) {
      const junk = new Uint8Array(64 + (i % 200)).map((_, j) => (i * 31 + j * 7) & 0xff)
      const e = thrown(() => api.submit({ wire: toHex(junk) }, as(ADMIN2)))
      expect([e.code, e.status]).toEqual(['LK_RECORD_INVALID', 400])
    }
    const e = thrown(() => api.submit({ wire: 'zz' }, as(ADMIN2)))
    expect([e.code, e.status, e.details.reason]).toEqual(['LK_HTTP_BAD_REQUEST', 400, 'MALFORMED'])
    expect(l.query.quarantined()).toEqual([])
    expect({ count: l.count, hash: l.stateHash }).toEqual(before)
  })

  it('a float in a CBOR body is a 400, not a 500 (and so are other client mistakes)', async () => {
    const l = await site({ dir: tmp() })
    const api = routes(l, DEVICE)
    const float = new Uint8Array([
      0xa2, 0x61, 0x6b, 0x61, 0x61, 0x61, 0x76, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
    ])
    const cases: Array<[unknown, string, string]> = [
      [{ type: 'test.put', body: toHex(float) }, 'LK_RECORD_INVALID', 'MALFORMED'],
      [{ type: 'test.put', body: 'ff' }, 'LK_RECORD_INVALID', 'MALFORMED'],
      [{ type: 'Not A Type', body: toHex(put('e', 1)) }, 'LK_RECORD_INVALID', 'BAD_FIELD'],
      [
        { type: 'test.put', body: toHex(encodeBody({ k: 'x'.repeat(5000), v: 1 })) },
        'LK_RECORD_INVALID',
        'OVERSIZE',
      ],
      [{ type: 'test.put', body: 'not hex' }, 'LK_HTTP_BAD_REQUEST', 'MALFORMED'],
      [{ body: toHex(put('e', 1)) }, 'LK_HTTP_BAD_REQUEST', 'BAD_FIELD'],
      [null, 'LK_HTTP_BAD_REQUEST', 'BAD_FIELD'],
    ]
    for (const [body, code, reason] of cases) {
      const e = thrown(() => api.prepare(body, as(ADMIN2)))
      expect([e.code, e.status, e.details.reason], JSON.stringify(body)).toEqual([code, 400, reason])
    }
    const unsigned = thrown(() => api.prepare({ type: 'test.put', body: toHex(put('e', 1)) }, null))
    expect([unsigned.code, unsigned.status]).toEqual(['LK_LEDGER_UNSIGNED', 401])
    expect(l.query.quarantined()).toEqual([])
  })

  it('two prepares by the same key: the second submit is SEQ_TAKEN, never a fork', async () => {
    const dir = tmp()
    const l = await site({ dir })
    const a = l.admin.prepare('test.put', put('f', 1), ADMIN2.publicKey)
    const b = l.admin.prepare('test.put', put('f', 2), ADMIN2.publicKey)
    expect(b.seq).toBe(a.seq)
    expect(l.admin.submit(signPrepared(b, ADMIN2), { author: ADMIN2.id }).status).toBe('applied')
    const e = thrown(() => l.admin.submit(signPrepared(a, ADMIN2), { author: ADMIN2.id }))
    expect([e.code, e.status, e.details.reason]).toEqual(['LK_RECORD_STALE', 409, 'SEQ_TAKEN'])
    // The same record again is a duplicate, not a refusal.
    expect(l.admin.submit(signPrepared(b, ADMIN2), { author: ADMIN2.id })).toMatchObject({ duplicate: true })
    // A client submits only its own records.
    const c = l.admin.prepare('test.put', put('f', 3), ADMIN2.publicKey)
    const w = thrown(() => l.admin.submit(signPrepared(c, ADMIN2), { author: ADMIN.id }))
    expect([w.code, w.status]).toEqual(['LK_RECORD_WRONG_AUTHOR', 403])
    await l.close()
    const reopened = await open({ dir })
    expect(forks(reopened)).toBe(0)
    expect(reopened.roleOf(ADMIN2.id)).toBe('admin')
    expect(reopened.view.get('test/f')).toBe(2)
  })

  it('a record re-signed with an older clock (backdated) is refused STALE and not stored', async () => {
    const dir = tmp()
    const l = await site({ dir })
    const head = [...l.query.records()].filter((r) => toHex(r.author) === ADMIN.id).at(-1)!
    await new Promise((r) => setTimeout(r, 20))
    expect((await l.append('test.put', { k: 'b', v: 1 }, DEVICE)).rejection).toBeNull()
    const fields = decodeRecordBytes(l.admin.prepare('test.put', put('b', 2), ADMIN.publicKey).bytes)
    // Same seq and prev, but stamped just after the admin's previous record and naming no parents:
    // judged at the tip, it would be folded before the device's record.
    const back = prepareRecord({ ...fields, parents: [], hlc: { ms: head.hlc.ms, c: head.hlc.c + 1 } })
    const before = { count: l.count, hash: l.stateHash }
    const e = thrown(() => l.admin.submit(signPrepared(back, ADMIN), { author: ADMIN.id }))
    expect([e.code, e.status, e.details.reason]).toEqual(['LK_RECORD_STALE', 409, 'STALE'])
    expect({ count: l.count, hash: l.stateHash }).toEqual(before)
    expect(l.query.quarantined()).toEqual([])
    // Prepared again, the same write goes through.
    const again = l.admin.prepare('test.put', put('b', 2), ADMIN.publicKey)
    expect(l.admin.submit(signPrepared(again, ADMIN), { author: ADMIN.id }).status).toBe('applied')
    await l.close()
  })

  it('random prepare/submit/abandon by two admins, interleaved with the node’s appends, never cut a key', async () => {
    type Op =
      | { kind: 'prepare'; who: 0 | 1; v: number }
      | { kind: 'submit'; pick: number }
      | { kind: 'abandon'; pick: number }
      | { kind: 'append'; n: number }
      | { kind: 'flush' }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('prepare' as const),
        who: fc.constantFrom(0 as const, 1 as const),
        v: fc.nat(9),
      }),
      fc.record({ kind: fc.constant('submit' as const), pick: fc.nat(7) }),
      fc.record({ kind: fc.constant('abandon' as const), pick: fc.nat(7) }),
      fc.record({ kind: fc.constant('append' as const), n: fc.nat(99) }),
      fc.record({ kind: fc.constant('flush' as const) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'latchkey-submit-prop-'))
        const l = await openTestLedger({ dir })
        try {
          await provision(l)
          await l.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'a2' }, ADMIN)
          const admins = [ADMIN, ADMIN2]
          const open: Array<{ r: Omit<SignedRecord, 'sig'>; key: KeyPair }> = []
          const appends: Array<Promise<unknown>> = []
          for (const o of ops) {
            if (o.kind === 'prepare') {
              const key = admins[o.who]!
              open.push({ r: l.admin.prepare('test.put', put(`p${o.who}`, o.v), key.publicKey), key })
            } else if (o.kind === 'submit' && open.length > 0) {
              const { r, key } = open.splice(o.pick % open.length, 1)[0]!
              try {
                l.admin.submit(signPrepared(r, key), { author: key.id })
              } catch (err) {
                // A stale prepare (its seq taken by an earlier submit) is the only refusal here.
                expect((err as { code: string }).code).toBe('LK_RECORD_STALE')
              }
            } else if (o.kind === 'abandon' && open.length > 0) {
              open.splice(o.pick % open.length, 1)
            } else if (o.kind === 'append') {
              appends.push(l.append('test.event', { n: o.n }, DEVICE))
            } else if (o.kind === 'flush') {
              await Promise.all(appends.splice(0))
            }
          }
          // Every append of the node's own key is stored and applied.
          for (const r of (await Promise.all(appends)) as Array<{ rejection: unknown }>)
            expect(r.rejection).toBeNull()
          for (const key of [ADMIN, ADMIN2, DEVICE]) expect(l.roleOf(key.id)).not.toBeNull()
          expect(forks(l)).toBe(0)
          expect(l.query.quarantined()).toEqual([])
        } finally {
          await l.close()
          rmSync(dir, { recursive: true, force: true })
        }
      }),
      { numRuns: 15 },
    )
  }, 120_000)
})

/** `extra.copy {k}`: copies test/<k> into extra/<k>; refused when test/<k> is not set yet. */
const extraDapp: LedgerDapp = {
  name: 'extra',
  version: '1.0.0',
  types: ['extra.copy'],
  setup(ctx) {
    ctx.recordType<{ k: string }>('extra.copy', {
      validate: (r, state) =>
        state.get(`test/${r.body?.k}`) === undefined ? reject('extra.NOTHING', 'nothing to copy') : null,
      reduce: (r, state) => state.put(`extra/${r.body.k}`, state.get(`test/${r.body.k}`)),
    })
  },
}

describe('records of a type no loaded dapp owns', () => {
  /** Records interleaving test.put and extra.copy, written on a ledger that has both dapps. */
  async function history(dir: string): Promise<{ full: Ledger; wires: Uint8Array[] }> {
    const full = await open({ dir, name: 'full', dapps: [testDapp, extraDapp] })
    await provision(full)
    await full.append('extra.copy', { k: 'a' }, DEVICE) // refused: test/a not set yet
    await full.append('test.put', { k: 'a', v: 1 }, DEVICE)
    await full.append('extra.copy', { k: 'a' }, DEVICE)
    await full.append('test.put', { k: 'a', v: 2 }, ADMIN)
    await full.append('extra.copy', { k: 'a' }, ADMIN)
    await full.append('test.put', { k: 'b', v: 3 }, DEVICE)
    const wires: Uint8Array[] = []
    for (const r of full.query.records()) wires.push(wireBytes(r))
    return { full, wires }
  }

  it('are folded in their place once a dapp owning them is loaded (at open, or at run time)', async () => {
    const dir = tmp()
    const { full, wires } = await history(dir)
    expect(full.view.get('extra/a')).toBe(2)
    const partial = await open({ dir, name: 'partial', dapps: [testDapp] })
    expect(partial.ingest(wires)).toMatchObject({ accepted: wires.length, held: 0, refused: 0 })
    expect(partial.query.deferredCount).toBe(3)
    expect(partial.view.get('extra/a')).toBeUndefined()
    expect(partial.query.quarantined()).toEqual([])
    expect(partial.stateHash).not.toBe(full.stateHash)
    // Restarted with the dapp: the same state as the ledger that had it from the start.
    await partial.close()
    const reopened = await open({ dir, name: 'partial', dapps: [testDapp, extraDapp] })
    expect(reopened.stateHash).toBe(full.stateHash)
    expect(reopened.query.deferredCount).toBe(0)
    // And installed while open.
    const live = await open({ dir, name: 'live', dapps: [testDapp] })
    live.ingest(wires)
    live.admin.registerDapp(extraDapp)
    expect(live.stateHash).toBe(full.stateHash)
    expect(live.query.deferredCount).toBe(0)
    await live.close()
    const liveAgain = await open({ dir, name: 'live', dapps: [testDapp, extraDapp] })
    expect(liveAgain.stateHash).toBe(full.stateHash)
  })
})
