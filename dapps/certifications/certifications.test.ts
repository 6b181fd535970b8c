/**
 * The certifications dapp through records: every rule accepts or rejects with its reason code,
 * rejected records stay in the ledger, and the public state (model.ts) says who holds what.
 */
import { describe, expect, it } from 'vitest'
import { ADMIN, DEVICE, DEVICE2 } from '../../runtime/core/ledger/testing/fixtures.ts'
import type { DappRuntimeContext, QueryHandler } from '../contract.ts'
import { certifications, knownRevocations } from './index.ts'
import { type Certification, certKey, isCertified } from './model.ts'
import { member } from './test-support.ts'
import { append, type BoardBody, boardGrant, fakeTime, openLedger, put, site, wiresOf } from './testing.ts'

const cert = (l: { view: { get<T>(k: string): T | undefined } }, m: string, tool: string) =>
  l.view.get<Certification>(certKey(m, tool))

const GRANT = 'certifications.grant'
const REVOKE = 'certifications.revoke'

/** A site where bob is a laser trainer (bootstrapped by ADMIN). */
async function withTrainer() {
  const { t, clock } = fakeTime()
  const l = await site(clock())
  const boot = await append(l, GRANT, { member: 'bob', tool: 'laser', canTrain: true }, ADMIN)
  expect(boot.code).toBeNull()
  return { l, t, boot }
}

describe('certifications.grant', () => {
  it('an admin bootstraps a trainer on its own authority', async () => {
    const { l, boot } = await withTrainer()
    expect(cert(l, 'bob', 'laser')).toEqual({
      member: 'bob',
      tool: 'laser',
      grantedBy: `key:${ADMIN.id}`,
      grantedAt: expect.any(Number),
      expires: null,
      trainer: true,
      grant: boot.id,
      signer: ADMIN.id,
    })
  })

  it("a tool's board records a trainer's sign-off", async () => {
    const { l, t } = await withTrainer()
    const g = await append(
      l,
      GRANT,
      boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob', expires: '2027-03-31' }, t.now),
      DEVICE,
    )
    expect(g.code).toBeNull()
    expect(cert(l, 'alice', 'laser')).toMatchObject({
      grantedBy: 'bob',
      signer: DEVICE.id,
      trainer: false,
      expires: '2027-03-31',
    })
    expect(isCertified(l.view, 'alice', 'laser', null, '2027-03-31')).toBeDefined()
    expect(isCertified(l.view, 'alice', 'laser', null, '2027-04-01')).toBeUndefined()
  })

  it('an admin records a named trainer’s sign-off too, and the trainer is checked', async () => {
    const { l } = await withTrainer()
    expect(
      (await append(l, GRANT, { member: 'alice', tool: 'laser', trainer: 'bob' }, ADMIN)).code,
    ).toBeNull()
    expect(cert(l, 'alice', 'laser')?.grantedBy).toBe('bob')
    expect((await append(l, GRANT, { member: 'dave', tool: 'laser', trainer: 'carol' }, ADMIN)).code).toBe(
      'certifications.NOT_TRAINER',
    )
  })

  it('a class certification covers every tool of the class', async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, { member: 'carol', tool: 'class:laser', canTrain: true }, ADMIN)
    expect(
      (
        await append(
          l,
          GRANT,
          boardGrant({ member: 'alice', tool: 'class:laser', trainer: 'carol' }, t.now),
          DEVICE,
        )
      ).code,
    ).toBeNull()
    expect(isCertified(l.view, 'alice', 'laser-2', 'laser', '2026-03-10')?.tool).toBe('class:laser')
    expect(isCertified(l.view, 'alice', 'lathe-1', 'lathe', '2026-03-10')).toBeUndefined()
  })

  const notTrainer: Array<
    [string, (l: Awaited<ReturnType<typeof withTrainer>>) => Promise<unknown>, object]
  > = [
    [
      'a trainer without the certification',
      async () => {},
      { member: 'alice', tool: 'laser', trainer: 'carol' },
    ],
    [
      'a trainer certified without trainer rights',
      async ({ l, t }) =>
        append(l, GRANT, boardGrant({ member: 'carol', tool: 'laser', trainer: 'bob' }, t.now), DEVICE),
      { member: 'alice', tool: 'laser', trainer: 'carol' },
    ],
    [
      "a trainer whose certification expired before the grant's day",
      async ({ l }) =>
        append(l, GRANT, { member: 'carol', tool: 'laser', canTrain: true, expires: '2026-03-09' }, ADMIN),
      { member: 'alice', tool: 'laser', trainer: 'carol' },
    ],
    [
      'a suspended trainer',
      async ({ l }) => put(l, member('bob', { status: 'suspended' })),
      { member: 'alice', tool: 'laser', trainer: 'bob' },
    ],
    [
      'a trainer whose membership has ended',
      async ({ l }) => put(l, member('bob', { expires: '2026-03-01' })),
      { member: 'alice', tool: 'laser', trainer: 'bob' },
    ],
    [
      'a trainer signing off their own certification',
      async () => {},
      { member: 'bob', tool: 'laser', trainer: 'bob' },
    ],
    ['a trainer of another tool', async () => {}, { member: 'alice', tool: 'lathe', trainer: 'bob' }],
  ]
  for (const [name, before, body] of notTrainer) {
    it(`NOT_TRAINER: ${name}; the record stays in the ledger`, async () => {
      const s = await withTrainer()
      await before(s)
      const count = s.l.count
      const g = await append(s.l, GRANT, boardGrant(body as BoardBody, s.t.now), DEVICE)
      expect(g.code).toBe('certifications.NOT_TRAINER')
      expect(s.l.count).toBe(count + 1)
      expect(s.l.query.rejectionOf(g.id)?.detail).toBeTruthy()
      expect(cert(s.l, (body as { member: string }).member, (body as { tool: string }).tool)?.grant).not.toBe(
        g.id,
      )
    })
  }

  it('NOT_ADMIN: only an admin key hands out trainer rights', async () => {
    const { l, t } = await withTrainer()
    const g = await append(
      l,
      GRANT,
      boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob', canTrain: true }, t.now),
      DEVICE,
    )
    expect(g.code).toBe('certifications.NOT_ADMIN')
    expect(cert(l, 'alice', 'laser')).toBeUndefined()
  })

  it('UNKNOWN_MEMBER: the member, or the trainer, is not a member', async () => {
    const { l, t } = await withTrainer()
    expect(
      (await append(l, GRANT, boardGrant({ member: 'zed', tool: 'laser', trainer: 'bob' }, t.now), DEVICE))
        .code,
    ).toBe('certifications.UNKNOWN_MEMBER')
    expect(
      (await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'zed' }, t.now), DEVICE))
        .code,
    ).toBe('certifications.UNKNOWN_MEMBER')
  })

  const badBodies: Array<[string, unknown]> = [
    ['not a map', 'alice'],
    ['an unknown field', { member: 'alice', tool: 'laser', level: 3 }],
    ['a member id with a slash', { member: 'al/ice', tool: 'laser' }],
    ['no tool', { member: 'alice' }],
    ['a tool class without a name', { member: 'alice', tool: 'class:' }],
    ['a date that does not exist', { member: 'alice', tool: 'laser', expires: '2026-02-30' }],
    ['canTrain not a boolean', { member: 'alice', tool: 'laser', canTrain: 'yes' }],
    ['after not record ids', { member: 'alice', tool: 'laser', after: ['abc'] }],
    ['after with a repeated id', { member: 'alice', tool: 'laser', after: ['a'.repeat(64), 'a'.repeat(64)] }],
  ]
  for (const [name, body] of badBodies) {
    it(`BAD_BODY: ${name}`, async () => {
      const { l } = await withTrainer()
      expect((await append(l, GRANT, body, ADMIN)).code).toBe('certifications.BAD_BODY')
    })
  }

  it('`after` naming ids that are no revocation of this certification lifts nothing', async () => {
    const { l } = await withTrainer()
    const other = await append(l, REVOKE, { member: 'alice', tool: 'lathe', reason: 'other tool' }, ADMIN)
    const r = await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x' }, ADMIN)
    const g = await append(
      l,
      GRANT,
      { member: 'alice', tool: 'laser', after: ['b'.repeat(64), other.id] },
      ADMIN,
    )
    expect(g.code).toBeNull()
    expect(cert(l, 'alice', 'laser')).toBeUndefined()
    await append(l, GRANT, { member: 'alice', tool: 'laser', after: [r.id, other.id] }, ADMIN)
    expect(cert(l, 'alice', 'laser')).toBeDefined()
  })

  it('a later grant replaces the earlier one (here: trainer rights withdrawn, expiry set)', async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, { member: 'bob', tool: 'laser', canTrain: false, expires: '2026-12-31' }, ADMIN)
    expect(cert(l, 'bob', 'laser')).toMatchObject({ trainer: false, expires: '2026-12-31' })
    expect(
      (await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE))
        .code,
    ).toBe('certifications.NOT_TRAINER')
  })
})

describe('certifications.revoke', () => {
  it('an admin revokes; a grant that did not name the revocation stays cancelled; one that names it restores', async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    const r = await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'unsafe use' }, ADMIN)
    expect(r.code).toBeNull()
    expect(cert(l, 'alice', 'laser')).toBeUndefined()
    expect(knownRevocations(l.view, 'alice', 'laser')).toEqual([r.id])

    // A grant that does not name the revocation is applied, and cancelled by it.
    const blind = await append(
      l,
      GRANT,
      boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now),
      DEVICE,
    )
    expect(blind.code).toBeNull()
    expect(cert(l, 'alice', 'laser')).toBeUndefined()

    // An explicit re-grant names what it overrides; lifting an admin's revocation needs an admin key.
    const board = await append(
      l,
      GRANT,
      boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob', after: [r.id] }, t.now),
      DEVICE,
    )
    expect(board.code).toBe('certifications.NOT_ADMIN')
    const again = await append(
      l,
      GRANT,
      { member: 'alice', tool: 'laser', trainer: 'bob', after: [r.id] },
      ADMIN,
    )
    expect(again.code).toBeNull()
    expect(cert(l, 'alice', 'laser')?.grant).toBe(again.id)
  })

  it("a trainer revokes at the tool's board; a board cannot revoke without naming a trainer", async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    expect((await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x' }, DEVICE)).code).toBe(
      'certifications.NOT_TRAINER',
    )
    expect(
      (await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x', trainer: 'carol' }, DEVICE))
        .code,
    ).toBe('certifications.NOT_TRAINER')
    expect(cert(l, 'alice', 'laser')).toBeDefined()
    const r = await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x', trainer: 'bob' }, DEVICE)
    expect(r.code).toBeNull()
    expect(cert(l, 'alice', 'laser')).toBeUndefined()
    // A trainer's revocation may be lifted by a trainer's explicit re-grant.
    const again = await append(
      l,
      GRANT,
      boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob', after: [r.id] }, t.now),
      DEVICE,
    )
    expect(again.code).toBeNull()
    expect(cert(l, 'alice', 'laser')?.grant).toBe(again.id)
  })

  it('a revocation needs no grant before it: it cancels a later grant that does not name it', async () => {
    const { l, t } = await withTrainer()
    const r = await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'banned' }, ADMIN)
    expect(r.code).toBeNull()
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    expect(cert(l, 'alice', 'laser')).toBeUndefined()
  })

  it('revoking a trainer stops their sign-offs; certifications they signed off before stand', async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    await append(l, REVOKE, { member: 'bob', tool: 'laser', reason: 'left the team' }, ADMIN)
    expect(
      (await append(l, GRANT, boardGrant({ member: 'carol', tool: 'laser', trainer: 'bob' }, t.now), DEVICE))
        .code,
    ).toBe('certifications.NOT_TRAINER')
    expect(cert(l, 'alice', 'laser')).toBeDefined()
  })

  it('BAD_BODY: no reason, unknown field', async () => {
    const { l } = await withTrainer()
    expect((await append(l, REVOKE, { member: 'alice', tool: 'laser' }, ADMIN)).code).toBe(
      'certifications.BAD_BODY',
    )
    expect(
      (await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x', cut: 1 }, ADMIN)).code,
    ).toBe('certifications.BAD_BODY')
  })

  it('a key that is not enrolled cannot grant (ledger: NOT_AUTHORIZED)', async () => {
    const { l, t } = await withTrainer()
    await expect(
      l.append(GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE2),
    ).rejects.toThrow(/NOT_AUTHORIZED/)
  })
})

describe('certifications queries and determinism', () => {
  it('certs {member} and holders {tool}; a bad parameter is a usage error', async () => {
    const { l, t } = await withTrainer()
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    await append(l, GRANT, { member: 'alice', tool: 'class:saw' }, ADMIN)
    const queries = new Map<string, QueryHandler>()
    await certifications.start!({
      query: (n: string, h: QueryHandler) => queries.set(n, h),
    } as unknown as DappRuntimeContext)
    const certs = queries.get('certs')!({ member: 'alice' }, l.view) as { certs: Certification[] }
    expect(certs.certs.map((c) => c.tool)).toEqual(['class:saw', 'laser'])
    const holders = queries.get('holders')!({ tool: 'laser' }, l.view) as { holders: Certification[] }
    expect(holders.holders.map((c) => c.member)).toEqual(['alice', 'bob'])
    expect(() => queries.get('certs')!({}, l.view)).toThrow(
      expect.objectContaining({ code: 'LK_CERT_QUERY' }),
    )
    expect(() => queries.get('holders')!({ tool: 'a/b' }, l.view)).toThrow(
      expect.objectContaining({ code: 'LK_CERT_QUERY' }),
    )
  })

  it('the same records in any order give one state (a fresh node, reversed and one at a time)', async () => {
    const { l, t } = await withTrainer()
    t.now += 1000
    await append(l, GRANT, boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    const r = await append(l, REVOKE, { member: 'alice', tool: 'laser', reason: 'x' }, ADMIN)
    await append(l, GRANT, boardGrant({ member: 'carol', tool: 'laser', trainer: 'bob' }, t.now), DEVICE)
    await append(l, GRANT, { member: 'alice', tool: 'laser', after: [r.id] }, ADMIN)
    await append(l, GRANT, boardGrant({ member: 'dave', tool: 'laser', trainer: 'carol' }, t.now), DEVICE) // NOT_TRAINER
    const [genesis, ...rest] = wiresOf(l)
    for (const order of [[...rest].reverse(), rest]) {
      const f = await openLedger()
      f.ingest([genesis!])
      for (const w of order) f.ingest([w])
      expect(f.stateHash).toBe(l.stateHash)
    }
    const together = await openLedger()
    together.ingest([...rest, genesis!])
    expect(together.stateHash).toBe(l.stateHash)
    // And a rebuild from scratch agrees.
    const hash = l.stateHash
    l.admin.rebuild()
    expect(l.stateHash).toBe(hash)
  })
})
