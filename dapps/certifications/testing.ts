/**
 * Shared setup of the certifications tests: a provisioned site (ADMIN genesis, DEVICE enrolled
 * as a tool board) with the stand-in membership dapp and this dapp, on fake wall time, closed
 * when the test ends.
 */
import { expect, onTestFinished } from 'vitest'
import { ledgerDapp } from '../../runtime/dapps.ts'
import { HybridClock } from '../../runtime/ledger/hlc.ts'
import type { Ledger, Signer } from '../../runtime/ledger/ledger.ts'
import { toHex, wireBytes } from '../../runtime/ledger/record.ts'
import { ADMIN, openTestLedger, provision } from '../../runtime/ledger/testing/fixtures.ts'
import type { Member } from '../membership/model.ts'
import { certifications } from './index.ts'
import { fakeMembership, member } from './test-support.ts'

/** 2026-03-10T12:00:00Z: records made at this time are dated 2026-03-10. */
export const T0 = Date.UTC(2026, 2, 10, 12)

export function fakeTime(start = T0) {
  const t = { now: start }
  return { t, clock: () => new HybridClock({ now: () => t.now }) }
}

export async function openLedger(clock?: HybridClock): Promise<Ledger> {
  const l = await openTestLedger({
    dapps: [fakeMembership, certifications].map(ledgerDapp),
    ...(clock ? { clock } : {}),
  })
  onTestFinished(() => l.close())
  return l
}

/** A site with members alice, bob, carol, dave (all active). */
export async function site(clock?: HybridClock): Promise<Ledger> {
  const l = await openLedger(clock)
  await provision(l)
  for (const id of ['alice', 'bob', 'carol', 'dave']) await put(l, member(id))
  return l
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
  expect(l.rejectionOf(id)?.code ?? null).toBe(r.rejection?.code ?? null)
  return { id, code: r.rejection?.code ?? null }
}

export const wiresOf = (l: Ledger) => [...l.records()].map(wireBytes)

/** Each side ingests everything the other holds. */
export function exchange(a: Ledger, b: Ledger): void {
  const fromA = wiresOf(a)
  a.ingest(wiresOf(b))
  b.ingest(fromA)
}
