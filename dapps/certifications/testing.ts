/**
 * Shared setup of the certifications tests: a provisioned site (ADMIN genesis, DEVICE enrolled
 * as a tool board) with the stand-in membership dapp, the credentials dapp and this dapp, on fake
 * wall time, closed when the test ends.
 */
import { expect, onTestFinished } from 'vitest'
import { HybridClock } from '../../runtime/core/ledger/hlc.ts'
import type { Ledger, Signer } from '../../runtime/core/ledger/ledger.ts'
import { toHex, wireBytes } from '../../runtime/core/ledger/record.ts'
import { ADMIN, openTestLedger, provision } from '../../runtime/core/ledger/testing/fixtures.ts'
import { ledgerDapp } from '../contract.ts'
import { credentials } from '../credentials/index.ts'
import type { Member } from '../membership/model.ts'
import { certifications } from './index.ts'
import type { Signoff } from './signoff.ts'
import { fakeMembership, member } from './test-support.ts'

/** 2026-03-10T12:00:00Z: records made at this time are dated 2026-03-10. */
export const T0 = Date.UTC(2026, 2, 10, 12)

export function fakeTime(start = T0) {
  const t = { now: start }
  return { t, clock: () => new HybridClock({ now: () => t.now }) }
}

export async function openLedger(clock?: HybridClock): Promise<Ledger> {
  const l = await openTestLedger({
    dapps: [fakeMembership, credentials, certifications].map(ledgerDapp),
    ...(clock ? { clock } : {}),
  })
  onTestFinished(() => l.close())
  return l
}

/** Each test member's badge (bound, active, in `site()`). */
export const BADGE: Readonly<Record<string, string>> = {
  alice: 'em:1001',
  bob: 'em:1002',
  carol: 'em:1003',
  dave: 'em:1004',
}

/** A site with members alice, bob, carol, dave (all active), each with the badge BADGE names. */
export async function site(clock?: HybridClock): Promise<Ledger> {
  const l = await openLedger(clock)
  await provision(l)
  for (const id of ['alice', 'bob', 'carol', 'dave']) {
    await put(l, member(id))
    const r = await l.append('credentials.bind', { badge: BADGE[id], member: id }, ADMIN)
    if (r.rejection) throw new Error(`credentials.bind rejected: ${r.rejection.detail}`)
  }
  return l
}

/**
 * The sign-off a board records when `trainer` badged at reader `laser-reader` 5 s before
 * `member`, whose badge was read at `at` (epoch ms, the board's wall clock).
 */
export function signoff(trainer: string, member: string, at: number): Signoff {
  return {
    reader: 'laser-reader',
    trainer: { badge: BADGE[trainer] ?? 'em:9999', at: at - 5_000 },
    trainee: { badge: BADGE[member] ?? 'em:9998', at },
  }
}

/**
 * A board's grant of `tool` to `member`, signed off by `trainer` at `at` (the board's wall
 * clock: a ledger on fake time passes its `t.now`).
 */
export type BoardBody = { member: string; tool: string; trainer: string } & Record<string, unknown>

export function boardGrant(body: BoardBody, at: number): Record<string, unknown> {
  return { ...body, signoff: signoff(body.trainer, body.member, at) }
}

export async function put(l: Ledger, m: Member): Promise<void> {
  const r = await l.append('membership.put', m, ADMIN)
  if (r.rejection) throw new Error(`membership.put rejected: ${r.rejection.detail}`)
}

/** Appends and returns the record id (hex) and the fold's verdict (code or null). */
export async function append(
  l: Ledger,
  type: string,
  body: unknown,
  signer: Signer,
): Promise<{ id: string; code: string | null }> {
  const r = await l.append(type, body, signer)
  const id = toHex(r.record.id)
  expect(l.query.rejectionOf(id)?.code ?? null).toBe(r.rejection?.code ?? null)
  return { id, code: r.rejection?.code ?? null }
}

export const wiresOf = (l: Ledger) => [...l.query.records()].map(wireBytes)

/** Each side ingests everything the other holds. */
export function exchange(a: Ledger, b: Ledger): void {
  const fromA = wiresOf(a)
  a.ingest(wiresOf(b))
  b.ingest(fromA)
}
