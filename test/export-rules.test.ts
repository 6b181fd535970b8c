/**
 * `ledger verify --file` judges an export by the rules a node ingests and folds by
 * (docs/PROTOCOL.md, Exports): each bad export below is built with the real code (real keys, a
 * real ledger, records signed with the record API) and is refused naming its first bad record
 * with the protocol's reason; an export whose chains are written out of seq order is accepted,
 * as a node accepts those records in any order; `--site` pins the site.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { main } from '../runtime/cli/main.ts'
import { verifyExportFile, writeExport, writeExportWires } from '../runtime/core/ledger/export.ts'
import type { Ledger } from '../runtime/core/ledger/ledger.ts'
import {
  encodeBody,
  RECORD_VERSION,
  type SignedRecord,
  signRecord,
  toHex,
  wireBytes,
} from '../runtime/core/ledger/record.ts'
import { replayLedger } from '../runtime/core/ledger/replay.ts'
import {
  ADMIN,
  DEVICE,
  openTestLedger,
  provision,
  silentLogger,
  testDapp,
  testKey,
} from '../runtime/core/ledger/testing/fixtures.ts'
import { tmpDir } from './helpers/index.ts'

const RULES = { dapps: builtinDapps.map(ledgerDapp), log: silentLogger() }
const STRANGER = testKey(9)

async function site(): Promise<{ l: Ledger; dir: string }> {
  const dir = tmpDir()
  const l = await openTestLedger({ dir })
  onTestFinished(() => l.close())
  await provision(l)
  return { l, dir }
}

/** The next record of `key` on `l`, signed by it, naming every other author's head as parent. */
function next(
  l: Ledger,
  key: typeof ADMIN,
  type: string,
  body: unknown,
  seq = 1,
  prev: Uint8Array | null = null,
) {
  const parents = [...l.heads()]
    .filter(([author]) => author !== key.id)
    .map(([, h]) => new Uint8Array(Buffer.from(h.id, 'hex')))
    .sort(Buffer.compare)
  return signRecord(
    {
      v: RECORD_VERSION,
      site: l.site!,
      author: key.publicKey,
      seq,
      prev,
      parents,
      hlc: l.admin.clock.tick(),
      type,
      body: encodeBody(body),
    },
    key.privateKeyObject,
  )
}

const wiresOf = (l: Ledger) => [...l.query.records()].map(wireBytes)

async function cli(...args: string[]) {
  let out = ''
  let err = ''
  const dir = tmpDir()
  const code = await main(args, {
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    env: { LATCHKEY_DATA_DIR: dir },
    cwd: dir,
  })
  return { code, out, err }
}

describe('ledger verify --file runs the rules a node runs', () => {
  it('refuses an export holding a never-enrolled author: NOT_AUTHORIZED, naming its record', async () => {
    const { l, dir } = await site()
    const stranger = next(l, STRANGER, 'test.event', { n: 1 })
    const file = join(dir, 'stranger.export')
    writeExportWires(file, {
      site: l.site!,
      wires: [...wiresOf(l), wireBytes(stranger)],
      signer: ADMIN,
      hlc: () => l.admin.clock.tick(),
    })
    const v = await verifyExportFile(file, RULES)
    expect(v.ok).toBe(false)
    expect(v.problem).toMatchObject({
      author: STRANGER.id,
      seq: 1,
      id: toHex(stranger.id),
      reason: 'NOT_AUTHORIZED',
      stage: 'ingest',
    })
    const r = await cli('ledger', 'verify', '--file', file)
    expect(r.code).toBe(1)
    expect(r.err).toContain(`record ${toHex(stranger.id)}`)
    expect(r.err).toContain('NOT_AUTHORIZED')
  })

  it('refuses an export holding records of a key cut for forking: FORKED, naming the first', async () => {
    const { l, dir } = await site()
    const first = await l.append('test.event', { n: 1 }, DEVICE)
    const a = next(l, DEVICE, 'test.event', { n: 2 }, 2, first.record.id)
    const b = next(l, DEVICE, 'test.event', { n: 3 }, 2, first.record.id)
    expect(l.ingest([wireBytes(a)]).accepted).toBe(1)
    const proof = await l.append('site.fork', { a: wireBytes(a), b: wireBytes(b) }, ADMIN)
    expect(proof.rejection).toBeNull()
    // The forked key writes on after the proof: its records still travel, and stay cut.
    const after = next(l, DEVICE, 'test.event', { n: 4 }, 3, a.id)
    expect(l.ingest([wireBytes(after)]).accepted).toBe(1)
    expect(l.query.statusOf(toHex(after.id))).toBe('rejected')
    const file = join(dir, 'forked.export')
    writeExport(l, file, ADMIN)
    const v = await verifyExportFile(file, RULES)
    expect(v.ok).toBe(false)
    expect(v.problem).toMatchObject({
      author: DEVICE.id,
      seq: 2,
      id: toHex(a.id),
      reason: 'FORKED',
      stage: 'fold',
    })
    const r = await cli('ledger', 'verify', '--file', file)
    expect(r.code).toBe(1)
    expect(r.err).toContain('FORKED')
    expect(r.err).not.toContain('signed by')
  })

  it('refuses an export whose exporter was "enrolled" by a device: site.NOT_ADMIN, naming the enrolment', async () => {
    const { l, dir } = await site()
    const enrol = await l.append('site.enrol', { key: STRANGER.publicKey, role: 'admin', name: 'x' }, DEVICE)
    expect(enrol.rejection?.code).toBe('site.NOT_ADMIN')
    const file = join(dir, 'device-enrolled.export')
    writeExport(l, file, STRANGER)
    const v = await verifyExportFile(file, RULES)
    expect(v.ok).toBe(false)
    expect(v.problem).toMatchObject({
      author: DEVICE.id,
      seq: 1,
      id: toHex(enrol.record.id),
      reason: 'site.NOT_ADMIN',
      stage: 'fold',
    })
    const r = await cli('ledger', 'verify', '--file', file, '--json')
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, problem: { reason: 'site.NOT_ADMIN' } })
  })

  it('refuses an export signed by a key the records never enrol, every record being good', async () => {
    const { l, dir } = await site()
    const file = join(dir, 'stranger-signed.export')
    writeExport(l, file, STRANGER)
    const v = await verifyExportFile(file, RULES)
    expect(v.problem).toMatchObject({ stage: 'exporter', reason: 'NOT_AUTHORIZED' })
    expect((await cli('ledger', 'verify', '--file', file)).code).toBe(1)
  })

  it('accepts a complete export whose chains are written out of seq order', async () => {
    const { l, dir } = await site()
    // Authors that name each other's records as parents, so order matters across chains too.
    for (let i = 0; i < 5; i++) {
      await l.append('test.event', { n: i }, DEVICE)
      await l.append('site.enrol', { key: testKey(20 + i).publicKey, role: 'device', name: `d${i}` }, ADMIN)
    }
    const file = join(dir, 'reversed.export')
    const reversed = wiresOf(l).reverse()
    writeExportWires(file, { site: l.site!, wires: reversed, signer: ADMIN, hlc: () => l.admin.clock.tick() })
    const v = await verifyExportFile(file, RULES)
    expect(v.problem).toBeNull()
    expect(v).toMatchObject({ ok: true, checked: reversed.length, exporterRole: 'admin' })
    const r = await cli('ledger', 'verify', '--file', file)
    expect(r.code).toBe(0)
    expect(r.out).toContain(`ok: ${reversed.length} records of site ${toHex(l.site!)} verified`)
    expect(r.out).toContain(`signed by admin key ${ADMIN.id}`)
  })

  it('--site pins the site: another site is LK_LEDGER_WRONG_SITE (exit 1), a bad id is usage (exit 2)', async () => {
    const { l, dir } = await site()
    const file = join(dir, 'site.export')
    writeExport(l, file, ADMIN)
    const siteHex = toHex(l.site!)
    expect((await cli('ledger', 'verify', '--file', file, '--site', siteHex)).code).toBe(0)
    const other = 'ab'.repeat(32)
    const wrong = await cli('ledger', 'verify', '--file', file, '--site', other)
    expect(wrong.code).toBe(1)
    expect(wrong.err).toBe(
      `latchkey: export ${file} belongs to site ${siteHex}, not to site ${other} given with --site\n`,
    )
    const v = await verifyExportFile(file, { ...RULES, site: Buffer.from(other, 'hex') })
    expect(v.problem?.stage).toBe('site')
    expect((await cli('ledger', 'verify', '--file', file, '--site', 'abc')).code).toBe(2)
  })
})

describe('records a fresh export may not hide', () => {
  it('a genesis of another site inside the export is refused by the pinned site (GENESIS)', async () => {
    const { l, dir } = await site()
    const other = await openTestLedger()
    onTestFinished(() => other.close())
    await provision(other)
    const file = join(dir, 'mixed.export')
    const foreign: SignedRecord = [...other.query.records()][0]!
    writeExportWires(file, {
      site: l.site!,
      wires: [wireBytes(foreign), ...wiresOf(l)],
      signer: ADMIN,
      hlc: () => l.admin.clock.tick(),
    })
    const v = await verifyExportFile(file, RULES)
    expect(v.problem).toMatchObject({ id: toHex(foreign.id), reason: 'GENESIS', stage: 'ingest' })
  })
})

describe("ledger verify on a node's own ledger replays it by the same rules", () => {
  it('agrees with a ledger that holds a rejected record, and names a state that was altered', async () => {
    const dir = tmpDir()
    let l = await openTestLedger({ dir })
    await provision(l)
    const enrol = await l.append('site.enrol', { key: STRANGER.publicKey, role: 'admin', name: 'x' }, DEVICE)
    expect(enrol.rejection?.code).toBe('site.NOT_ADMIN')
    await l.append('test.put', { k: 'a', v: 1 }, DEVICE)
    const good = await replayLedger(l, { dapps: [testDapp], log: silentLogger() })
    expect(good.problem).toBeNull()
    expect(good.stateHash).toBe(l.stateHash)
    await l.close()
    // An entry of the materialized state changed behind the ledger's back, its saved hash with
    // it (so opening does not rebuild): the records say test/a = 1, the state says 2.
    const entry = (v: number) => createHash('sha256').update('test/a\0').update(Uint8Array.of(v)).digest()
    const db = new Database(join(dir, 'ledger.db'))
    const saved = Buffer.from(good.stateHash, 'hex')
    const forged = saved.map((x, i) => x ^ entry(1)[i]! ^ entry(2)[i]!)
    db.prepare("UPDATE state SET value = x'02' WHERE key = 'test/a'").run()
    db.prepare("UPDATE meta SET value = ? WHERE key = 'state_hash'").run(Buffer.from(forged).toString('hex'))
    db.close()
    l = await openTestLedger({ dir })
    onTestFinished(() => l.close())
    expect(l.view.get('test/a')).toBe(2)
    const bad = await replayLedger(l, { dapps: [testDapp], log: silentLogger() })
    expect(bad.problem).toMatchObject({ stage: 'fold' })
    expect(bad.problem?.problem).toContain(`the ledger holds state ${l.stateHash}`)
  })

  it('names a record the ledger holds as applied that the rules reject', async () => {
    const dir = tmpDir()
    const l = await openTestLedger({ dir })
    onTestFinished(() => l.close())
    await provision(l)
    const put = await l.append('test.put', { k: 'a', v: 1 }, DEVICE)
    // The rules replayed with a validator that refuses every put: they disagree on that record.
    const strict = {
      ...testDapp,
      setup: (ctx: Parameters<typeof testDapp.setup>[0]) =>
        ctx.recordType('test.put', { validate: () => ({ code: 'test.NO', detail: 'no' }), reduce: () => {} }),
      types: ['test.put'],
    }
    const v = await replayLedger(l, { dapps: [strict], log: silentLogger() })
    expect(v.problem).toMatchObject({ id: toHex(put.record.id), seq: 1, reason: 'test.NO', stage: 'fold' })
  })
})
