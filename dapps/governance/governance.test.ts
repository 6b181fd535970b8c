/**
 * The governance dapp through records: m-of-n admin approvals (2 of 3 with ADMIN, ADMIN2 and a
 * third admin key), every rule with its reason code, rejected records kept in the ledger, and
 * two partitioned ledgers approving concurrently.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { HybridClock } from '../../runtime/core/ledger/hlc.ts'
import type { Ledger, Signer } from '../../runtime/core/ledger/ledger.ts'
import { toHex, wireBytes } from '../../runtime/core/ledger/record.ts'
import {
  ADMIN,
  ADMIN2,
  DEVICE,
  openTestLedger,
  provision,
  testKey,
} from '../../runtime/core/ledger/testing/fixtures.ts'
import type { DappRuntimeContext, QueryHandler } from '../contract.ts'
import { ledgerDapp } from '../contract.ts'
import { governance } from './index.ts'
import { DEFAULT_POLICY, getPolicy, type Proposal, proposalKey } from './model.ts'

const ADMIN3 = testKey(5)
const PROPOSE = 'governance.propose'
const APPROVE = 'governance.approve'

async function open(clock?: HybridClock): Promise<Ledger> {
  const l = await openTestLedger({ dapps: [ledgerDapp(governance)], ...(clock ? { clock } : {}) })
  onTestFinished(() => l.close())
  return l
}

/** A site with three admins (ADMIN, ADMIN2, ADMIN3) and DEVICE; quorum still the default 1. */
async function threeAdmins(clock?: HybridClock): Promise<Ledger> {
  const l = await open(clock)
  await provision(l)
  await l.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
  await l.append('site.enrol', { key: ADMIN3.publicKey, role: 'admin', name: 'third admin' }, ADMIN)
  return l
}

async function rec(l: Ledger, type: string, body: unknown, signer: Signer) {
  const r = await l.append(type, body, signer)
  const id = toHex(r.record.id)
  expect(l.query.rejectionOf(id)?.code ?? null).toBe(r.rejection?.code ?? null)
  return { id, code: r.rejection?.code ?? null }
}

const proposal = (l: Ledger, id: string) => l.view.get<Proposal>(proposalKey(id))

/** Three admins, quorum raised to 2 (applied at once under the default quorum of 1). */
async function twoOfThree(clock?: HybridClock): Promise<Ledger> {
  const l = await threeAdmins(clock)
  expect((await rec(l, PROPOSE, { id: 'q2', change: { kind: 'quorum', n: 2 } }, ADMIN)).code).toBeNull()
  expect(getPolicy(l.view).quorum).toBe(2)
  return l
}

describe('governance', () => {
  it('with the default quorum of 1, a proposal applies at once', async () => {
    const l = await threeAdmins()
    expect(getPolicy(l.view)).toEqual(DEFAULT_POLICY)
    await rec(l, PROPOSE, { id: 'grace', change: { kind: 'grace-period', ms: 3_600_000 } }, ADMIN)
    expect(getPolicy(l.view)).toEqual({ ...DEFAULT_POLICY, gracePeriodMs: 3_600_000 })
    expect(proposal(l, 'grace')).toMatchObject({ status: 'applied', approvals: [ADMIN.id] })
  })

  it('2 of 3: a change waits for a second distinct admin key, then applies; a third approval changes nothing', async () => {
    const l = await twoOfThree()
    const change = { kind: 'lockdown-policy', offlinePolicy: 'admins-only', lockdown: true }
    expect((await rec(l, PROPOSE, { id: 'lockdown', change }, ADMIN)).code).toBeNull()
    expect(proposal(l, 'lockdown')?.status).toBe('pending')
    expect(getPolicy(l.view).lockdown).toBe(false)
    // The proposer counts as one and cannot approve again.
    expect((await rec(l, APPROVE, { proposal: 'lockdown' }, ADMIN)).code).toBe('governance.ALREADY_APPROVED')
    expect(getPolicy(l.view).lockdown).toBe(false)
    expect((await rec(l, APPROVE, { proposal: 'lockdown' }, ADMIN2)).code).toBeNull()
    expect(getPolicy(l.view)).toMatchObject({ quorum: 2, offlinePolicy: 'admins-only', lockdown: true })
    expect(proposal(l, 'lockdown')).toMatchObject({ status: 'applied', approvals: [ADMIN.id, ADMIN2.id] })
    expect((await rec(l, APPROVE, { proposal: 'lockdown' }, ADMIN3)).code).toBeNull()
    expect(proposal(l, 'lockdown')?.approvals).toHaveLength(3)
    expect((await rec(l, APPROVE, { proposal: 'lockdown' }, ADMIN2)).code).toBe('governance.ALREADY_APPROVED')
  })

  it('admin add/remove decisions are recorded as approved proposals (governance/admins-approved/<key>)', async () => {
    const l = await twoOfThree()
    const newcomer = testKey(6)
    await rec(
      l,
      PROPOSE,
      { id: 'add-eve', change: { kind: 'add-admin', key: newcomer.publicKey, name: 'Eve' } },
      ADMIN2,
    )
    expect(l.view.get(`governance/admins-approved/${newcomer.id}`)).toBeUndefined()
    await rec(l, APPROVE, { proposal: 'add-eve' }, ADMIN3)
    expect(l.view.get(`governance/admins-approved/${newcomer.id}`)).toMatchObject({
      key: newcomer.id,
      action: 'add',
      name: 'Eve',
      proposal: 'add-eve',
    })
    await rec(l, PROPOSE, { id: 'rm-3', change: { kind: 'remove-admin', key: ADMIN3.publicKey } }, ADMIN)
    await rec(l, APPROVE, { proposal: 'rm-3' }, ADMIN2)
    expect(l.view.get(`governance/admins-approved/${ADMIN3.id}`)).toMatchObject({
      action: 'remove',
      name: null,
    })
  })

  it('lowering the quorum applies pending proposals that already have enough approvals', async () => {
    const l = await twoOfThree()
    await rec(l, PROPOSE, { id: 'q3', change: { kind: 'quorum', n: 3 } }, ADMIN)
    await rec(l, APPROVE, { proposal: 'q3' }, ADMIN2)
    expect(getPolicy(l.view).quorum).toBe(3)
    await rec(l, PROPOSE, { id: 'grace', change: { kind: 'grace-period', ms: 600_000 } }, ADMIN)
    await rec(l, APPROVE, { proposal: 'grace' }, ADMIN2)
    expect(proposal(l, 'grace')?.status).toBe('pending')
    await rec(l, PROPOSE, { id: 'q2-again', change: { kind: 'quorum', n: 2 } }, ADMIN)
    await rec(l, APPROVE, { proposal: 'q2-again' }, ADMIN2)
    await rec(l, APPROVE, { proposal: 'q2-again' }, ADMIN3)
    expect(getPolicy(l.view)).toMatchObject({ quorum: 2, gracePeriodMs: 600_000 })
    expect(proposal(l, 'grace')?.status).toBe('applied')
  })

  it('NOT_ADMIN: a device key neither proposes nor approves; the records stay in the ledger', async () => {
    const l = await twoOfThree()
    const count = l.count
    const p = await rec(l, PROPOSE, { id: 'dev', change: { kind: 'grace-period', ms: 600_000 } }, DEVICE)
    expect(p.code).toBe('governance.NOT_ADMIN')
    await rec(l, PROPOSE, { id: 'ok', change: { kind: 'grace-period', ms: 600_000 } }, ADMIN)
    expect((await rec(l, APPROVE, { proposal: 'ok' }, DEVICE)).code).toBe('governance.NOT_ADMIN')
    expect(l.count).toBe(count + 3)
    expect(l.query.rejectionOf(p.id)?.detail).toContain('admin')
    expect(proposal(l, 'ok')?.status).toBe('pending')
  })

  it('UNKNOWN_PROPOSAL, PROPOSAL_EXISTS, ALREADY_ADMIN, UNKNOWN_ADMIN, QUORUM_UNREACHABLE', async () => {
    const l = await twoOfThree()
    expect((await rec(l, APPROVE, { proposal: 'nope' }, ADMIN2)).code).toBe('governance.UNKNOWN_PROPOSAL')
    expect((await rec(l, PROPOSE, { id: 'q2', change: { kind: 'quorum', n: 1 } }, ADMIN2)).code).toBe(
      'governance.PROPOSAL_EXISTS',
    )
    expect(
      (
        await rec(
          l,
          PROPOSE,
          { id: 'a', change: { kind: 'add-admin', key: ADMIN2.publicKey, name: 'x' } },
          ADMIN,
        )
      ).code,
    ).toBe('governance.ALREADY_ADMIN')
    expect(
      (await rec(l, PROPOSE, { id: 'b', change: { kind: 'remove-admin', key: DEVICE.publicKey } }, ADMIN))
        .code,
    ).toBe('governance.UNKNOWN_ADMIN')
    expect((await rec(l, PROPOSE, { id: 'c', change: { kind: 'quorum', n: 4 } }, ADMIN)).code).toBe(
      'governance.QUORUM_UNREACHABLE',
    )
  })

  const badBodies: Array<[string, string, unknown]> = [
    ['propose without a change', PROPOSE, { id: 'x' }],
    ['propose with an unknown field', PROPOSE, { id: 'x', change: { kind: 'quorum', n: 1 }, note: 'hi' }],
    ['an id with upper case', PROPOSE, { id: 'X', change: { kind: 'quorum', n: 1 } }],
    ['an unknown kind', PROPOSE, { id: 'x', change: { kind: 'paint-it-red' } }],
    [
      'a key of the wrong length',
      PROPOSE,
      { id: 'x', change: { kind: 'remove-admin', key: new Uint8Array(31) } },
    ],
    ['a grace period under a minute', PROPOSE, { id: 'x', change: { kind: 'grace-period', ms: 10 } }],
    [
      'an unknown offline policy',
      PROPOSE,
      { id: 'x', change: { kind: 'lockdown-policy', offlinePolicy: 'open', lockdown: false } },
    ],
    ['a quorum of 0', PROPOSE, { id: 'x', change: { kind: 'quorum', n: 0 } }],
    ['approve without a proposal', APPROVE, {}],
  ]
  for (const [name, type, body] of badBodies) {
    it(`BAD_BODY: ${name}`, async () => {
      const l = await threeAdmins()
      expect((await rec(l, type, body, ADMIN)).code).toBe('governance.BAD_BODY')
    })
  }

  it('queries: policy and proposals {status}', async () => {
    const l = await twoOfThree()
    await rec(l, PROPOSE, { id: 'grace', change: { kind: 'grace-period', ms: 600_000 } }, ADMIN)
    const queries = new Map<string, QueryHandler>()
    await governance.start!({
      query: (n: string, h: QueryHandler) => queries.set(n, h),
    } as unknown as DappRuntimeContext)
    expect(queries.get('policy')!({}, l.view)).toEqual({ ...DEFAULT_POLICY, quorum: 2, set: true })
    const pending = queries.get('proposals')!({ status: 'pending' }, l.view) as { proposals: Proposal[] }
    expect(pending.proposals.map((p) => p.id)).toEqual(['grace'])
    const all = queries.get('proposals')!({}, l.view) as { proposals: Proposal[] }
    expect(all.proposals.map((p) => p.id)).toEqual(['grace', 'q2'])
    expect(() => queries.get('proposals')!({ status: 'maybe' }, l.view)).toThrow(
      expect.objectContaining({ code: 'LK_GOV_QUERY' }),
    )
  })

  it('partitioned: two admins approve concurrently on two ledgers; the change applies once, both agree', async () => {
    const t = { now: Date.UTC(2026, 2, 10) }
    const a = await twoOfThree(new HybridClock({ now: () => t.now }))
    await rec(
      a,
      PROPOSE,
      { id: 'lock', change: { kind: 'lockdown-policy', offlinePolicy: 'deny-all', lockdown: true } },
      ADMIN,
    )
    const b = await open(new HybridClock({ now: () => t.now }))
    b.ingest([...a.query.records()].map(wireBytes))
    t.now += 10
    await rec(a, APPROVE, { proposal: 'lock' }, ADMIN3)
    t.now += 10
    await rec(b, APPROVE, { proposal: 'lock' }, ADMIN2)
    for (const l of [a, b]) expect(getPolicy(l.view).lockdown).toBe(true)
    const fromA = [...a.query.records()].map(wireBytes)
    a.ingest([...b.query.records()].map(wireBytes))
    b.ingest(fromA)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      expect(proposal(l, 'lock')).toMatchObject({
        status: 'applied',
        approvals: [ADMIN.id, ADMIN3.id, ADMIN2.id],
      })
      expect(getPolicy(l.view)).toMatchObject({ offlinePolicy: 'deny-all', lockdown: true })
    }
  })

  it('an admin cut by site.revoke does not count: its approval past the cut is REVOKED', async () => {
    const t = { now: Date.UTC(2026, 2, 10) }
    const a = await twoOfThree(new HybridClock({ now: () => t.now }))
    await rec(a, PROPOSE, { id: 'grace', change: { kind: 'grace-period', ms: 600_000 } }, ADMIN)
    const b = await open(new HybridClock({ now: () => t.now }))
    b.ingest([...a.query.records()].map(wireBytes))
    t.now += 10
    // With quorum 2, removing an admin needs an approved proposal before the site.revoke merges.
    await rec(a, PROPOSE, { id: 'rm3', change: { kind: 'remove-admin', key: ADMIN3.publicKey } }, ADMIN)
    await rec(a, APPROVE, { proposal: 'rm3' }, ADMIN2)
    expect(
      (await rec(a, 'site.revoke', { key: ADMIN3.publicKey, cut: 0, reason: 'key lost' }, ADMIN)).code,
    ).toBeNull()
    t.now += 10
    const late = await rec(b, APPROVE, { proposal: 'grace' }, ADMIN3)
    expect(late.code).toBeNull()
    const fromA = [...a.query.records()].map(wireBytes)
    a.ingest([...b.query.records()].map(wireBytes))
    b.ingest(fromA)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      expect(l.query.rejectionOf(late.id)?.code).toBe('REVOKED')
      expect(proposal(l, 'grace')?.status).toBe('pending')
      expect(getPolicy(l.view).gracePeriodMs).toBe(DEFAULT_POLICY.gracePeriodMs)
    }
  })
})

describe('governance gates admin enrolment and revocation in the site dapp', () => {
  it('with quorum 2, one admin alone can neither enrol nor revoke an admin; an approved proposal can', async () => {
    const l = await twoOfThree()
    const newcomer = testKey(9)
    // Alone: refused by the site dapp, kept in the ledger with the reason.
    const alone = await rec(
      l,
      'site.enrol',
      { key: newcomer.publicKey, role: 'admin', name: 'newcomer' },
      ADMIN,
    )
    expect(alone.code).toBe('site.NOT_APPROVED')
    expect(l.roleOf(newcomer.id)).toBeNull()
    const revokeAlone = await rec(l, 'site.revoke', { key: ADMIN3.publicKey, cut: 0, reason: 'coup' }, ADMIN)
    expect(revokeAlone.code).toBe('site.NOT_APPROVED')
    expect(l.roleOf(ADMIN3.id)).toBe('admin')
    // Devices are not gated: enrolling a board needs one admin.
    expect(
      (await rec(l, 'site.enrol', { key: testKey(10).publicKey, role: 'device', name: 'door-9' }, ADMIN))
        .code,
    ).toBeNull()
    // Proposed and approved by a second admin: the enrolment now merges.
    expect(
      (
        await rec(
          l,
          PROPOSE,
          { id: 'add-newcomer', change: { kind: 'add-admin', key: newcomer.publicKey, name: 'newcomer' } },
          ADMIN,
        )
      ).code,
    ).toBeNull()
    expect((await rec(l, APPROVE, { proposal: 'add-newcomer' }, ADMIN2)).code).toBeNull()
    expect(
      (await rec(l, 'site.enrol', { key: newcomer.publicKey, role: 'admin', name: 'newcomer' }, ADMIN)).code,
    ).toBeNull()
    expect(l.roleOf(newcomer.id)).toBe('admin')
    // The same holds after a rebuild: the authority pass folds the governance records too.
    const hash = l.stateHash
    l.admin.rebuild()
    expect(l.stateHash).toBe(hash)
    expect(l.roleOf(newcomer.id)).toBe('admin')
  })
})
