/**
 * Two partitioned ledgers that merge: revocation beats a concurrent grant whichever sorts first,
 * an admin removed on one side while it grants on the other, and a trainer losing trainer
 * rights while signing off elsewhere. Both sides always end with one state hash.
 */
import { describe, expect, it } from 'vitest'
import { Reason } from '../../runtime/core/ledger/reasons.ts'
import { ADMIN, ADMIN2, DEVICE } from '../../runtime/core/ledger/testing/fixtures.ts'
import { knownRevocations } from './index.ts'
import { type Certification, certKey } from './model.ts'
import { append, boardGrant, exchange, fakeTime, openLedger, site, wiresOf } from './testing.ts'

const GRANT = 'certifications.grant'
const REVOKE = 'certifications.revoke'

/**
 * A and B share a site where bob trains on the laser and alice holds the laser (granted by
 * bob); then they part. ADMIN2 is a second admin, used on B.
 */
async function parted() {
  const { t, clock } = fakeTime()
  const a = await site(clock())
  await a.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second admin' }, ADMIN)
  await append(a, GRANT, { member: 'bob', tool: 'laser', canTrain: true }, ADMIN)
  const first = await append(
    a,
    GRANT,
    boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, t.now),
    DEVICE,
  )
  const b = await openLedger(clock())
  b.ingest(wiresOf(a))
  expect(b.stateHash).toBe(a.stateHash)
  expect(a.view.get<Certification>(certKey('alice', 'laser'))?.grant).toBe(first.id)
  return { a, b, t }
}

const holds = (l: { view: { get<T>(k: string): T | undefined } }, m: string, tool: string) =>
  l.view.get<Certification>(certKey(m, tool))

describe('revocation beats a concurrent grant', () => {
  for (const order of ['revoke sorts first', 'grant sorts first'] as const) {
    it(`${order}: after the merge both sides agree and the revocation is in force`, async () => {
      const { a, b, t } = await parted()
      const base = t.now
      // A: an admin revokes alice. B, not knowing: the board records a fresh sign-off by bob.
      t.now = base + (order === 'revoke sorts first' ? 100 : 200)
      const revoke = await append(a, REVOKE, { member: 'alice', tool: 'laser', reason: 'unsafe use' }, ADMIN)
      t.now = base + (order === 'revoke sorts first' ? 200 : 100)
      const grant = await append(
        b,
        GRANT,
        boardGrant(
          {
            member: 'alice',
            tool: 'laser',
            trainer: 'bob',
            after: knownRevocations(b.view, 'alice', 'laser'),
          },
          t.now,
        ),
        DEVICE,
      )
      expect(grant.code).toBeNull()
      expect(holds(b, 'alice', 'laser')?.grant).toBe(grant.id) // B has not heard of the revocation
      expect(holds(a, 'alice', 'laser')).toBeUndefined()

      exchange(a, b)
      expect(a.count).toBe(b.count)
      expect(a.stateHash).toBe(b.stateHash)
      for (const l of [a, b]) {
        expect(holds(l, 'alice', 'laser')).toBeUndefined()
        expect(l.query.rejectionOf(revoke.id)).toBeNull()
        expect(l.query.rejectionOf(grant.id)).toBeNull() // applied, and cancelled by the revocation
        expect(holds(l, 'bob', 'laser')?.trainer).toBe(true)
      }

      // Whoever has seen the revocation may re-grant explicitly; that grant stands everywhere.
      t.now = base + 300
      const regrant = await append(
        b,
        GRANT,
        { member: 'alice', tool: 'laser', trainer: 'bob', after: knownRevocations(b.view, 'alice', 'laser') },
        ADMIN2, // lifting an admin's revocation takes an admin key
      )
      expect(regrant.code).toBeNull()
      exchange(a, b)
      expect(a.stateHash).toBe(b.stateHash)
      for (const l of [a, b]) expect(holds(l, 'alice', 'laser')?.grant).toBe(regrant.id)
    })
  }

  it('a revocation concurrent with an explicit re-grant wins over it too', async () => {
    const { a, b, t } = await parted()
    const r1 = await append(a, REVOKE, { member: 'alice', tool: 'laser', reason: 'first' }, ADMIN)
    exchange(a, b)
    // Apart again: B re-grants after r1; A revokes once more, not having seen the re-grant.
    t.now += 50
    const regrant = await append(b, GRANT, { member: 'alice', tool: 'laser', after: [r1.id] }, ADMIN2)
    t.now += 50
    await append(a, REVOKE, { member: 'alice', tool: 'laser', reason: 'second' }, ADMIN)
    expect(regrant.code).toBeNull()
    exchange(a, b)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) expect(holds(l, 'alice', 'laser')).toBeUndefined()
  })
})

describe('authority changes while partitioned', () => {
  it('an admin removed (site.revoke with a cut) on A grants on B: after the merge the grant is REVOKED on both', async () => {
    const { a, b, t } = await parted()
    const cut = a.heads().get(ADMIN2.id)?.seq ?? 0
    t.now += 10
    const removal = await a.append('site.revoke', { key: ADMIN2.publicKey, cut, reason: 'left' }, ADMIN)
    expect(removal.rejection).toBeNull()
    t.now += 10
    const grant = await append(b, GRANT, { member: 'carol', tool: 'laser', canTrain: true }, ADMIN2)
    expect(grant.code).toBeNull()
    expect(holds(b, 'carol', 'laser')).toBeDefined()

    exchange(a, b)
    expect(a.count).toBe(b.count)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      expect(l.query.rejectionOf(grant.id)?.code).toBe(Reason.REVOKED)
      expect(holds(l, 'carol', 'laser')).toBeUndefined()
      expect(l.roleOf(ADMIN2.id)).toBeNull()
    }
  })

  it('the cut holds even when the removed admin’s grant sorts before the revocation', async () => {
    const { a, b, t } = await parted()
    const cut = a.heads().get(ADMIN2.id)?.seq ?? 0
    t.now += 10
    const grant = await append(b, GRANT, { member: 'carol', tool: 'laser', canTrain: true }, ADMIN2)
    t.now += 10
    await a.append('site.revoke', { key: ADMIN2.publicKey, cut, reason: 'left' }, ADMIN)
    exchange(a, b)
    expect(a.stateHash).toBe(b.stateHash)
    for (const l of [a, b]) {
      expect(l.query.rejectionOf(grant.id)?.code).toBe(Reason.REVOKED)
      expect(holds(l, 'carol', 'laser')).toBeUndefined()
    }
  })

  for (const order of ['sign-off sorts first', 'revocation sorts first'] as const) {
    it(`a trainer loses trainer rights on A while signing off on B (${order}): judged at the sign-off's place`, async () => {
      const { a, b, t } = await parted()
      const base = t.now
      t.now = base + (order === 'sign-off sorts first' ? 200 : 100)
      await append(a, REVOKE, { member: 'bob', tool: 'laser', reason: 'trainer no more' }, ADMIN)
      t.now = base + (order === 'sign-off sorts first' ? 100 : 200)
      const signOff = await append(
        b,
        GRANT,
        boardGrant({ member: 'carol', tool: 'laser', trainer: 'bob' }, t.now),
        DEVICE,
      )
      expect(signOff.code).toBeNull()
      exchange(a, b)
      expect(a.stateHash).toBe(b.stateHash)
      for (const l of [a, b]) {
        expect(holds(l, 'bob', 'laser')).toBeUndefined()
        if (order === 'sign-off sorts first') {
          expect(l.query.rejectionOf(signOff.id)).toBeNull()
          expect(holds(l, 'carol', 'laser')?.grantedBy).toBe('bob')
        } else {
          expect(l.query.rejectionOf(signOff.id)?.code).toBe('certifications.NOT_TRAINER')
          expect(holds(l, 'carol', 'laser')).toBeUndefined()
        }
      }
    })
  }
})
