/**
 * Who may certify: an admin key, or a board carrying a trainer's in-person sign-off at its
 * reader. The validator's side, through records: each refusal code, the accepted case, and a
 * verdict that depends on the record alone (no clock).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ADMIN, DEVICE } from '../../runtime/core/ledger/testing/fixtures.ts'
import { type Certification, certKey } from './model.ts'
import { SIGNOFF_CLOCK_SLACK_MS, SIGNOFF_MAX_AGE_MS, SIGNOFF_WINDOW_MS, type Signoff } from './signoff.ts'
import { append, BADGE, fakeTime, openLedger, signoff, site, wiresOf } from './testing.ts'

const GRANT = 'certifications.grant'

/** A site where bob trains on the laser (bootstrapped by ADMIN), on fake time `t`. */
async function withTrainer() {
  const { t, clock } = fakeTime()
  const l = await site(clock())
  expect((await append(l, GRANT, { member: 'bob', tool: 'laser', canTrain: true }, ADMIN)).code).toBeNull()
  t.now += 60_000
  const cert = (m: string) => l.view.get<Certification>(certKey(m, 'laser'))
  /** A board's grant of the laser to alice by bob, with `so` (default: a good sign-off now). */
  const board = (so: Signoff | null = signoff('bob', 'alice', t.now), over: object = {}) =>
    append(l, GRANT, { member: 'alice', tool: 'laser', trainer: 'bob', signoff: so, ...over }, DEVICE)
  return { l, t, cert, board }
}

/** bob's sign-off of alice with the trainee's read at `at` and the trainer's `gap` ms before. */
const reads = (
  at: number,
  gap = 5_000,
  badges = { trainer: BADGE.bob!, trainee: BADGE.alice! },
): Signoff => ({
  reader: 'laser-reader',
  trainer: { badge: badges.trainer, at: at - gap },
  trainee: { badge: badges.trainee, at },
})

describe('a board grants only with an in-person sign-off', () => {
  it('a board cannot grant a certification on its own say', async () => {
    const { l, cert, board } = await withTrainer()
    const count = l.count
    const g = await board(null)
    expect(g.code).toBe('certifications.NO_SIGNOFF')
    expect(l.count).toBe(count + 1) // the refused record stays in the ledger, with its reason
    expect(cert('alice')).toBeUndefined()
    // Naming no trainer at all is no better.
    expect((await append(l, GRANT, { member: 'alice', tool: 'laser' }, DEVICE)).code).toBe(
      'certifications.NO_SIGNOFF',
    )
  })

  it('accepted: the trainer badged, then the trainee within the window, recorded at once', async () => {
    const { t, cert, board } = await withTrainer()
    const g = await board(reads(t.now, SIGNOFF_WINDOW_MS))
    expect(g.code).toBeNull()
    expect(cert('alice')).toMatchObject({ grantedBy: 'bob', signer: DEVICE.id, trainer: false, grant: g.id })
  })

  it('an admin still grants on its own authority, or records a named trainer, without a sign-off', async () => {
    const { l, cert } = await withTrainer()
    expect(
      (await append(l, GRANT, { member: 'alice', tool: 'laser', trainer: 'bob' }, ADMIN)).code,
    ).toBeNull()
    expect(cert('alice')?.grantedBy).toBe('bob')
    expect((await append(l, GRANT, { member: 'carol', tool: 'laser' }, ADMIN)).code).toBeNull()
  })

  it('NOT_ADMIN: a sign-off does not let a board hand out trainer rights', async () => {
    const { cert, board } = await withTrainer()
    expect((await board(undefined, { canTrain: true })).code).toBe('certifications.NOT_ADMIN')
    expect(cert('alice')).toBeUndefined()
  })

  it('NOT_TRAINER: a sign-off by a member without trainer rights for the tool', async () => {
    const { l, t } = await withTrainer()
    const g = await append(
      l,
      GRANT,
      { member: 'alice', tool: 'laser', trainer: 'carol', signoff: signoff('carol', 'alice', t.now) },
      DEVICE,
    )
    expect(g.code).toBe('certifications.NOT_TRAINER')
  })

  const badBadges: Array<[string, (l: Awaited<ReturnType<typeof withTrainer>>) => Promise<Signoff>]> = [
    [
      "the trainer's badge is another member's",
      async ({ t }) => reads(t.now, 5_000, { trainer: BADGE.carol!, trainee: BADGE.alice! }),
    ],
    [
      "the trainee's badge is another member's",
      async ({ t }) => reads(t.now, 5_000, { trainer: BADGE.bob!, trainee: BADGE.dave! }),
    ],
    [
      'a badge the site never bound',
      async ({ t }) => reads(t.now, 5_000, { trainer: BADGE.bob!, trainee: 'em:424242' }),
    ],
    [
      "the trainer's badge was reported lost",
      async ({ l, t }) => {
        await l.append('credentials.revoke', { badge: BADGE.bob, status: 'lost', reason: 'lost' }, ADMIN)
        return reads(t.now)
      },
    ],
    [
      "the trainee's badge was revoked",
      async ({ l, t }) => {
        await l.append(
          'credentials.revoke',
          { badge: BADGE.alice, status: 'revoked', reason: 'returned' },
          ADMIN,
        )
        return reads(t.now)
      },
    ],
  ]
  for (const [name, make] of badBadges) {
    it(`SIGNOFF_BADGE: ${name}`, async () => {
      const s = await withTrainer()
      const g = await s.board(await make(s))
      expect(g.code).toBe('certifications.SIGNOFF_BADGE')
      expect(s.cert('alice')).toBeUndefined()
    })
  }

  for (const [name, gap] of [
    ['both badges at the same moment', 0],
    ["the trainee's badge before the trainer's", -1_000],
    ['the trainee a moment past the window', SIGNOFF_WINDOW_MS + 1],
  ] as const) {
    it(`SIGNOFF_WINDOW: ${name}`, async () => {
      const { t, board } = await withTrainer()
      expect((await board(reads(t.now, gap))).code).toBe('certifications.SIGNOFF_WINDOW')
    })
  }

  it('SIGNOFF_CLOCK: a sign-off minted long after the reads, or stamped before them', async () => {
    const { t, board } = await withTrainer()
    expect((await board(reads(t.now - SIGNOFF_MAX_AGE_MS - 1))).code).toBe('certifications.SIGNOFF_CLOCK')
    expect((await board(reads(t.now + SIGNOFF_CLOCK_SLACK_MS + 1))).code).toBe('certifications.SIGNOFF_CLOCK')
    // The edges themselves are accepted (the record's clock is t.now: nothing later was seen).
    t.now += 1_000
    expect((await board(reads(t.now - SIGNOFF_MAX_AGE_MS))).code).toBeNull()
    t.now += 1_000
    expect((await board(reads(t.now + SIGNOFF_CLOCK_SLACK_MS))).code).toBeNull()
  })

  it('an admin-signed grant carrying a sign-off has it checked too', async () => {
    const { l, t } = await withTrainer()
    const body = {
      member: 'alice',
      tool: 'laser',
      trainer: 'bob',
      signoff: reads(t.now, SIGNOFF_WINDOW_MS + 1),
    }
    expect((await append(l, GRANT, body, ADMIN)).code).toBe('certifications.SIGNOFF_WINDOW')
  })

  const badShapes: Array<[string, (good: Signoff) => object]> = [
    ['a sign-off without a trainer named', (so) => ({ signoff: so })],
    ['a sign-off that is not a map', () => ({ trainer: 'bob', signoff: [1] })],
    ['an unknown sign-off field', (so) => ({ trainer: 'bob', signoff: { ...so, extra: 1 } })],
    [
      'a read without its time',
      (so) => ({ trainer: 'bob', signoff: { ...so, trainee: { badge: BADGE.alice } } }),
    ],
    [
      'a read time that is not epoch ms',
      (so) => ({ trainer: 'bob', signoff: { ...so, trainee: { badge: BADGE.alice, at: '1000' } } }),
    ],
    [
      'a badge id that is not canonical',
      (so) => ({ trainer: 'bob', signoff: { ...so, trainer: { badge: '1002', at: so.trainer.at } } }),
    ],
    ['a reader name with a slash', (so) => ({ trainer: 'bob', signoff: { ...so, reader: 'a/b' } })],
  ]
  for (const [name, make] of badShapes) {
    it(`BAD_BODY: ${name}`, async () => {
      const { l, t } = await withTrainer()
      const body = { member: 'alice', tool: 'laser', ...make(reads(t.now)) }
      expect((await append(l, GRANT, body, DEVICE)).code).toBe('certifications.BAD_BODY')
    })
  }
})

describe('the verdict depends on the record alone', () => {
  it('re-judged a day later, on a fresh node and after a rebuild: the same verdicts, the same state', async () => {
    const { l, t, board } = await withTrainer()
    const ok = await board()
    const late = await board(reads(t.now - SIGNOFF_MAX_AGE_MS - 1))
    const none = await board(null)
    const verdicts = () => [ok, late, none].map((g) => l.query.rejectionOf(g.id)?.code ?? null)
    expect(verdicts()).toEqual([null, 'certifications.SIGNOFF_CLOCK', 'certifications.NO_SIGNOFF'])
    const hash = l.stateHash
    t.now += 24 * 3600_000
    l.admin.rebuild()
    expect(l.stateHash).toBe(hash)
    expect(verdicts()).toEqual([null, 'certifications.SIGNOFF_CLOCK', 'certifications.NO_SIGNOFF'])
    const fresh = await openLedger() // the real wall clock, months after the records
    fresh.ingest(wiresOf(l))
    expect(fresh.stateHash).toBe(hash)
    expect(fresh.query.rejectionOf(late.id)?.code).toBe('certifications.SIGNOFF_CLOCK')
  })

  it('the rule files read no clock', () => {
    for (const f of ['grant.ts', 'signoff.ts', 'authority.ts', 'body.ts']) {
      const src = readFileSync(new URL(f, import.meta.url), 'utf8')
      expect(src, f).not.toMatch(/Date\.now|performance\.now|new Date\(\)/)
    }
  })
})
