/**
 * Test fixtures for the ledger: keys, a small test dapp, and ledgers that close themselves
 * when the test ends. Used by unit tests, integration tests and benchmarks.
 */
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type KeyPair, keyPairFromSeed } from '../../keys.ts'
import { createLogger, type Logger } from '../../log.ts'
import type { LedgerDapp } from '../dapp.ts'
import { HybridClock } from '../hlc.ts'
import { Ledger, type LedgerOptions } from '../ledger.ts'
import { reject } from '../reasons.ts'
import type { Db } from '../store.ts'
import type { Parts } from '../types.ts'

/** A deterministic key from a small number: the same in every run. */
export function testKey(n: number): KeyPair {
  const seed = new Uint8Array(32)
  seed[0] = n & 0xff
  seed[1] = (n >> 8) & 0xff
  seed[31] = 0x5a
  return keyPairFromSeed(seed)
}

export function silentLogger(): Logger {
  return createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) })
}

/**
 * `test.put` {k, v}: sets test/<k> = v (v must be ≥ 0, else test.NEGATIVE).
 * `test.event` {n, pad?}: a grow-only fact; changes no state.
 */
export const testDapp: LedgerDapp = {
  name: 'test',
  version: '1.0.0',
  types: ['test.put', 'test.event'],
  setup(ctx) {
    ctx.recordType<{ k: string; v: number }>('test.put', {
      validate: (r) => {
        if (typeof r.body?.k !== 'string' || !Number.isSafeInteger(r.body.v))
          return reject('test.BAD_BODY', 'expected {k, v}')
        if (r.body.v < 0) return reject('test.NEGATIVE', `value ${r.body.v} is negative`)
        return null
      },
      reduce: (r, state) => state.put(`test/${r.body.k}`, r.body.v),
    })
    ctx.recordType<{ n: number }>('test.event', {
      validate: (r) => (Number.isSafeInteger(r.body?.n) ? null : reject('test.BAD_BODY', 'expected {n}')),
      reduce: () => {},
    })
  },
}

export interface TestLedgerOptions extends Partial<LedgerOptions> {
  dir?: string
  name?: string
  now?: () => number
}

export async function openTestLedger(opts: TestLedgerOptions = {}): Promise<Ledger> {
  const file = opts.file ?? (opts.dir ? join(opts.dir, `${opts.name ?? 'ledger'}.db`) : ':memory:')
  const ledger = new Ledger({
    log: silentLogger(),
    dapps: [testDapp],
    clock: opts.clock ?? new HybridClock(opts.now ? { now: opts.now } : {}),
    ...opts,
    file,
  })
  await ledger.ready()
  return ledger
}

export const ADMIN = testKey(1)
export const DEVICE = testKey(2)
export const ADMIN2 = testKey(3)
export const DEVICE2 = testKey(4)

/** A site with ADMIN as genesis admin and DEVICE enrolled. */
export async function provision(ledger: Ledger): Promise<void> {
  await ledger.admin.createGenesis('Test Space', [ADMIN.publicKey], ADMIN)
  const r = await ledger.append(
    'site.enrol',
    { key: DEVICE.publicKey, role: 'device', name: 'door-1' },
    ADMIN,
  )
  if (r.rejection) throw new Error(`enrol rejected: ${r.rejection.detail}`)
}

/** The parts of a test ledger (./types.ts `Parts`): for tests of what the face does not show. */
export function partsOf(ledger: Ledger): Parts {
  return (ledger as unknown as { parts: Parts }).parts
}

/** The database of a test ledger: tests inside runtime/core/ledger/ may read it in SQL. */
export function dbOf(ledger: Ledger): Db {
  return partsOf(ledger).store.db
}
