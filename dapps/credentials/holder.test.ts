/**
 * Who holds a badge (holder.ts), over a real ledger of membership and credentials records: each
 * refusal reason, and the holder in good standing. Door and tool decisions both start here.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { em24Credential, emCredential } from '../../devices/readers/credential.ts'
import { HybridClock } from '../../runtime/core/ledger/hlc.ts'
import type { Ledger } from '../../runtime/core/ledger/ledger.ts'
import { ADMIN, openTestLedger, provision } from '../../runtime/core/ledger/testing/fixtures.ts'
import { ledgerDapp } from '../contract.ts'
import { membership } from '../membership/index.ts'
import type { Member } from '../membership/model.ts'
import { resolveHolder } from './holder.ts'
import { credentials } from './index.ts'

/** Wall time of the test ledger: 2025-06-01, so expiry dates around it are meaningful. */
const NOW = Date.UTC(2025, 5, 1, 12)
const TODAY = '2025-06-01'

const member = (id: string, over: Partial<Member> = {}): Member => ({
  id,
  name: id,
  contact: null,
  status: 'active',
  expires: null,
  groups: [],
  staff: false,
  ...over,
})

async function site(): Promise<Ledger> {
  const l = await openTestLedger({
    dapps: [membership, credentials].map(ledgerDapp),
    clock: new HybridClock({ now: () => NOW }),
  })
  onTestFinished(() => l.close())
  await provision(l)
  const ok = async (type: string, body: unknown) =>
    expect((await l.append(type, body, ADMIN)).rejection).toBeNull()
  await ok('membership.put', member('alice'))
  await ok('membership.put', member('bob'))
  await ok('membership.put', member('sam', { staff: true }))
  await ok('membership.put', member('sue', { status: 'suspended' }))
  await ok('membership.put', member('old', { expires: '2025-05-31' }))
  await ok('credentials.bind', { badge: 'em:1', member: 'alice' })
  await ok('credentials.bind', { badge: 'em:2', member: 'sam' })
  await ok('credentials.bind', { badge: 'em:3', member: 'sue' })
  await ok('credentials.bind', { badge: 'em:4', member: 'old' })
  for (const [badge, status] of [
    ['em:5', 'lost'],
    ['em:6', 'stolen'],
    ['em:7', 'revoked'],
  ] as const) {
    await ok('credentials.bind', { badge, member: 'bob' })
    await ok('credentials.revoke', { badge, status, reason: '' })
  }
  // Two fobs a Wiegand 26 reader both sees as em:10036.
  await ok('credentials.bind', { badge: `em:${(1 << 24) + 10036}`, member: 'alice' })
  await ok('credentials.bind', { badge: `em:${(2 << 24) + 10036}`, member: 'bob' })
  return l
}

describe('resolveHolder: badge → active badge → active member', () => {
  it('an active badge of an active member resolves to the member and the badge', async () => {
    const l = await site()
    const holder = resolveHolder(l.view, emCredential(2), TODAY)
    expect(holder).toMatchObject({ ok: true, member: { id: 'sam', staff: true }, badge: { id: 'em:2' } })
  })

  it('a badge no one holds is unknown, and names no member', async () => {
    const l = await site()
    expect(resolveHolder(l.view, emCredential(99), TODAY)).toEqual({ ok: false, reason: 'unknown-badge' })
  })

  it('a 24-bit read that fits two badges is ambiguous, and names no member', async () => {
    const l = await site()
    expect(resolveHolder(l.view, em24Credential(10036), TODAY)).toEqual({
      ok: false,
      reason: 'ambiguous-badge',
    })
  })

  it('a lost, stolen or revoked badge is refused by its status, naming its member', async () => {
    const l = await site()
    expect(resolveHolder(l.view, emCredential(5), TODAY)).toEqual({
      ok: false,
      reason: 'badge-lost',
      member: 'bob',
    })
    expect(resolveHolder(l.view, emCredential(6), TODAY)).toMatchObject({ reason: 'badge-stolen' })
    expect(resolveHolder(l.view, emCredential(7), TODAY)).toMatchObject({ reason: 'badge-revoked' })
  })

  it('a suspended member is refused as suspended, one past the expiry date as expired', async () => {
    const l = await site()
    expect(resolveHolder(l.view, emCredential(3), TODAY)).toEqual({
      ok: false,
      reason: 'member-suspended',
      member: 'sue',
    })
    expect(resolveHolder(l.view, emCredential(4), TODAY)).toEqual({
      ok: false,
      reason: 'member-expired',
      member: 'old',
    })
    // Standing is judged on the site's local date passed in: the last day still counts.
    expect(resolveHolder(l.view, emCredential(4), '2025-05-31')).toMatchObject({ ok: true })
  })
})
