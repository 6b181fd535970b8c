/**
 * What doors and tools share, over a real ledger of membership, credentials and governance
 * records: who holds a badge (credentials/holder.ts), governance's site policy as both read it,
 * the offline rule, and admitHolder (holder in good standing, then the offline policy)
 * (access.ts). Each dapp's own rules are tested in its folder.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { em24Credential, emCredential } from '../devices/readers/credential.ts'
import { HybridClock } from '../runtime/core/ledger/hlc.ts'
import type { Ledger } from '../runtime/core/ledger/ledger.ts'
import { ADMIN, openTestLedger, provision } from '../runtime/core/ledger/testing/fixtures.ts'
import {
  admitHolder,
  DEFAULT_GRACE_MS,
  DEFAULT_OFFLINE_POLICY,
  OFFLINE_POLICIES,
  type OfflinePolicy,
  offlinePolicy,
  offlineRefusal,
  offlineState,
  siteLockdown,
} from './access.ts'
import { ledgerDapp } from './contract.ts'
import { resolveHolder } from './credentials/holder.ts'
import { credentials } from './credentials/index.ts'
import { member } from './door-access/testing/fakes.ts'
import { governance } from './governance/index.ts'
import { membership } from './membership/index.ts'

/** Wall time of the test ledger: 2025-06-01, so expiry dates around it are meaningful. */
const NOW = Date.UTC(2025, 5, 1, 12)
const TODAY = '2025-06-01'

/** A Wiegand 26 reader sees both of these fobs as em:10036. */
const ALIKE = [`em:${(1 << 24) + 10036}`, `em:${(2 << 24) + 10036}`] as const

/**
 * alice (em:1), staff sam (em:2), suspended staff sue (em:3), old (em:4, expired yesterday), bob's
 * lost, stolen and revoked badges (em:5, em:6, em:7), and the two fobs in ALIKE.
 */
async function site(): Promise<{
  l: Ledger
  setPolicy: (p: OfflinePolicy, lockdown?: boolean) => Promise<void>
}> {
  const l = await openTestLedger({
    dapps: [membership, credentials, governance].map(ledgerDapp),
    clock: new HybridClock({ now: () => NOW }),
  })
  onTestFinished(() => l.close())
  await provision(l)
  const ok = async (type: string, body: unknown) =>
    expect((await l.append(type, body, ADMIN)).rejection).toBeNull()
  await ok('membership.put', member('alice'))
  await ok('membership.put', member('bob'))
  await ok('membership.put', member('sam', { staff: true }))
  await ok('membership.put', member('sue', { status: 'suspended', staff: true }))
  await ok('membership.put', member('old', { expires: '2025-05-31' }))
  for (const [badge, who] of [
    ['em:1', 'alice'],
    ['em:2', 'sam'],
    ['em:3', 'sue'],
    ['em:4', 'old'],
    [ALIKE[0], 'alice'],
    [ALIKE[1], 'bob'],
  ] as const)
    await ok('credentials.bind', { badge, member: who })
  for (const [badge, status] of [
    ['em:5', 'lost'],
    ['em:6', 'stolen'],
    ['em:7', 'revoked'],
  ] as const) {
    await ok('credentials.bind', { badge, member: 'bob' })
    await ok('credentials.revoke', { badge, status, reason: '' })
  }
  let n = 0
  // Under the default quorum of 1 an admin's proposal applies at once.
  const setPolicy = (policy: OfflinePolicy, lockdown = false) =>
    ok('governance.propose', {
      id: `p${n++}`,
      change: { kind: 'lockdown-policy', offlinePolicy: policy, lockdown },
    })
  return { l, setPolicy }
}

describe('resolveHolder: badge → active badge → active member', () => {
  it('an active badge of an active member resolves to the member and the badge', async () => {
    const { l } = await site()
    expect(resolveHolder(l.view, emCredential(2), TODAY)).toMatchObject({
      ok: true,
      member: { id: 'sam', staff: true },
      badge: { id: 'em:2' },
    })
  })

  it('an unknown badge and an ambiguous 24-bit read are refused without naming a member', async () => {
    const { l } = await site()
    expect(resolveHolder(l.view, emCredential(99), TODAY)).toEqual({ ok: false, reason: 'unknown-badge' })
    expect(resolveHolder(l.view, em24Credential(10036), TODAY)).toEqual({
      ok: false,
      reason: 'ambiguous-badge',
    })
  })

  it('a lost, stolen or revoked badge is refused by its status, naming its member', async () => {
    const { l } = await site()
    const reasons = [5, 6, 7].map((card) => resolveHolder(l.view, emCredential(card), TODAY))
    expect(reasons).toEqual(
      ['badge-lost', 'badge-stolen', 'badge-revoked'].map((reason) => ({ ok: false, reason, member: 'bob' })),
    )
  })

  it('a suspended member is refused as suspended, one past the expiry date as expired', async () => {
    const { l } = await site()
    expect(resolveHolder(l.view, emCredential(3), TODAY)).toEqual({
      ok: false,
      reason: 'member-suspended',
      member: 'sue',
    })
    expect(resolveHolder(l.view, emCredential(4), TODAY)).toMatchObject({ reason: 'member-expired' })
    // Standing is judged on the site's local date passed in: the last day still counts.
    expect(resolveHolder(l.view, emCredential(4), '2025-05-31')).toMatchObject({ ok: true })
  })
})

describe('offlineRefusal: the offline policy past the grace period', () => {
  it('deny-all refuses everyone, admins-only everyone but staff, members-cached no one', () => {
    const table = OFFLINE_POLICIES.map((p) => [p, offlineRefusal(p, false), offlineRefusal(p, true)])
    expect(table).toEqual([
      ['deny-all', 'offline-deny-all', 'offline-deny-all'],
      ['admins-only', 'offline-admins-only', null],
      ['members-cached', null, null],
    ])
  })
})

describe("governance's site policy, as doors and tools read it", () => {
  it('with no policy record the defaults hold: members-cached, governance grace, no lockdown', async () => {
    const { l } = await site()
    expect(offlinePolicy(l.view)).toEqual({ graceMs: DEFAULT_GRACE_MS, policy: DEFAULT_OFFLINE_POLICY })
    expect(offlinePolicy(l.view, 5_000).graceMs).toBe(5_000)
    expect(siteLockdown(l.view)).toBe(false)
  })

  it('an applied lockdown-policy change sets the offline policy and the site lockdown', async () => {
    const { l, setPolicy } = await site()
    await setPolicy('admins-only', true)
    expect(offlinePolicy(l.view).policy).toBe('admins-only')
    expect(siteLockdown(l.view)).toBe(true)
  })

  it('a board is offline only past syncedAt + grace; a standalone board never is', () => {
    expect(offlineState(null, NOW, 1_000)).toEqual({ offline: false, since: null })
    expect(offlineState(NOW - 1_000, NOW, 1_000)).toEqual({ offline: false, since: null })
    expect(offlineState(NOW - 1_001, NOW, 1_000)).toEqual({ offline: true, since: NOW - 1 })
  })
})

describe('admitHolder: holder in good standing, then the offline policy', () => {
  it('online, an active member is admitted with who they are, whatever the offline policy', async () => {
    const { l, setPolicy } = await site()
    await setPolicy('deny-all')
    expect(admitHolder(l.view, emCredential(1), TODAY, false)).toMatchObject({
      ok: true,
      member: { id: 'alice' },
      who: { member: 'alice', staff: false },
    })
  })

  it('a holder refusal comes before the offline policy and names the member only when the badge has one', async () => {
    const { l, setPolicy } = await site()
    await setPolicy('deny-all')
    expect(admitHolder(l.view, emCredential(99), TODAY, true)).toEqual({
      ok: false,
      refusal: { granted: false, reason: 'unknown-badge' },
    })
    expect(admitHolder(l.view, emCredential(5), TODAY, true)).toEqual({
      ok: false,
      refusal: { granted: false, reason: 'badge-lost', member: 'bob' },
    })
    // A suspended staff member is refused as suspended, not let through by admins-only.
    await setPolicy('admins-only')
    expect(admitHolder(l.view, emCredential(3), TODAY, true)).toEqual({
      ok: false,
      refusal: { granted: false, reason: 'member-suspended', member: 'sue' },
    })
  })

  it('offline under deny-all refuses staff too; under admins-only only non-staff', async () => {
    const { l, setPolicy } = await site()
    await setPolicy('deny-all')
    expect(admitHolder(l.view, emCredential(2), TODAY, true)).toEqual({
      ok: false,
      refusal: { granted: false, reason: 'offline-deny-all', member: 'sam', staff: true },
    })
    await setPolicy('admins-only')
    expect(admitHolder(l.view, emCredential(1), TODAY, true)).toEqual({
      ok: false,
      refusal: { granted: false, reason: 'offline-admins-only', member: 'alice', staff: false },
    })
    expect(admitHolder(l.view, emCredential(2), TODAY, true)).toMatchObject({
      ok: true,
      who: { member: 'sam', staff: true },
    })
  })

  it('offline under members-cached (the default) admits on the cached state', async () => {
    const { l } = await site()
    expect(admitHolder(l.view, emCredential(1), TODAY, true)).toMatchObject({ ok: true })
  })
})
