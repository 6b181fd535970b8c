/**
 * Durability under SIGKILL, through a running node (bench/durability-harness.ts, the harness of
 * `npm run bench -- durability` at 200+ rounds): a real node process on one data dir takes
 * signed admin submits over HTTP and badge frames from a pty reader, and is SIGKILLed at a
 * seeded random moment each round; after every kill each acknowledged record is in the ledger
 * file and the new records hash-link and verify.
 */
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createSite, LedgerCheck, memberBody, runDurability } from '../bench/durability-harness.ts'
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { Ledger } from '../runtime/core/ledger/ledger.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { hasTool, tmpDir } from './helpers/index.ts'

const ROUNDS = 12

// Needs socat for the reader's pseudo-terminal: skipped only on a developer machine without it.
// In CI (CI=true) hasTool() throws when the tool is missing.
describe.runIf(hasTool('socat'))('durability under SIGKILL', () => {
  it(`no acknowledged record is lost over ${ROUNDS} kills of a running node, and the ledger verifies`, async () => {
    const seed = Math.floor(Math.random() * 2 ** 31)
    const report = await runDurability({
      dir: tmpDir(),
      rounds: ROUNDS,
      seed,
      runMs: [300, 900],
      budgetMs: 40_000,
      fullCheckEvery: 5,
    })
    // The seed repeats the run's kill moments and writes.
    expect({ ...report, elapsed_s: 0 }, `seed ${seed}`).toMatchObject({
      lost: 0,
      corrupt: 0,
      first_problem: null,
    })
    // The time budget ends the run early on a busy machine; a few rounds still show both paths.
    const figures = JSON.stringify(report)
    expect(report.rounds, figures).toBeGreaterThanOrEqual(3)
    expect(report.acknowledged_http, figures).toBeGreaterThan(0)
    expect(report.acknowledged_badge, figures).toBeGreaterThan(0)
  }, 120_000)
})

describe('the durability check', () => {
  it('counts an acknowledged id the ledger lacks as lost, and a record altered on disk as corrupt', async () => {
    const site = await createSite(tmpDir())
    const check = new LedgerCheck(site.ledgerFile)
    expect(await check.round([], false)).toMatchObject({ lost: [], problem: null })

    const ledger = new Ledger({
      file: site.ledgerFile,
      log: silentLogger(),
      dapps: builtinDapps.map(ledgerDapp),
    })
    await ledger.ready()
    const { record } = await ledger.append('membership.put', memberBody('bob'), site.admin)
    await ledger.close()
    const bob = Buffer.from(record.id).toString('hex')
    const never = 'ab'.repeat(32)
    expect(await check.round([bob, never], false)).toMatchObject({ lost: [never], problem: null })
    expect([...check.missing]).toEqual([never])

    const db = new Database(site.ledgerFile)
    db.prepare('UPDATE records SET body = ? WHERE id = ?').run(
      Buffer.concat([record.body, Buffer.of(0xf6)]),
      Buffer.from(record.id),
    )
    db.close()
    // Bob's record was checked last round: the full pass re-hashes every record.
    expect((await check.round([], true)).problem).toMatch(/hash/)
  })
})
