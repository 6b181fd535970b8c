/**
 * door-access on a sim board with fake time: the decision, the lock's GPIO history and the
 * ledger records it leaves. The site is in Pacific/Auckland (UTC+12 in July), so the local
 * date and weekday differ from UTC's: a schedule read in UTC would get every case below wrong.
 */
import { describe, expect, it } from 'vitest'
import type { Lock } from '../../devices/outputs/index.ts'
import { FakeClock } from '../../runtime/core/clock.ts'
import type { StateView } from '../contract.ts'
import { badgeKey } from '../credentials/model.ts'
import { memberKey } from '../membership/model.ts'
import { createDoorAccess, type DoorAccessOptions, decide, doorKey, scheduleKey } from './index.ts'
import { badge, member } from './testing/fakes.ts'
import { type Harness, startHarness } from './testing/harness.ts'

const TZ = 'Pacific/Auckland'
/** Monday 6 July 2026, 09:30 in Auckland = Sunday 5 July, 21:30 UTC. */
const MON_0930 = Date.UTC(2026, 6, 5, 21, 30)
/** Sunday 5 July 2026, 09:30 in Auckland = Saturday 4 July, 21:30 UTC. */
const SUN_0930 = Date.UTC(2026, 6, 4, 21, 30)
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const PULSE = 3000
const LOCK = 'front-lock'

interface Setup {
  start?: number
  syncedAt?: () => number | null
  options?: Partial<DoorAccessOptions>
}

async function setup({ start = MON_0930, syncedAt, options }: Setup = {}) {
  const clock = new FakeClock(start)
  const dapp = createDoorAccess({
    doors: [
      {
        name: 'front',
        reader: 'front-reader',
        lock: LOCK,
        contact: 'front-contact',
        exit: 'front-exit',
        pulseMs: PULSE,
      },
    ],
    timeZone: TZ,
    now: () => clock.now(),
    ...(syncedAt ? { syncedAt } : {}),
    ...options,
  })
  const h = await startHarness({
    clock,
    dapps: [dapp],
    outputs: [{ name: LOCK, kind: 'lock', line: { name: 'GPIO17' } }],
    inputs: [
      { name: 'front-contact', kind: 'door-contact', line: { name: 'GPIO5' }, heldOpenMs: 30_000 },
      { name: 'front-exit', kind: 'exit-button', line: { name: 'GPIO6' } },
    ],
  })
  const ok = async (type: string, body: unknown) => {
    const r = await h.admin(type, body)
    expect(r.rejection).toBeNull()
    return r
  }
  await ok('door-access.schedule', {
    name: 'daytime',
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '22:00' }],
  })
  await ok('door-access.door', {
    door: 'front',
    groups: ['members', 'keyholders'],
    schedule: 'daytime',
    groupSchedules: { keyholders: null },
  })
  const people = [
    [member('alice'), 'em:1001', 'active'],
    [member('bob', { status: 'suspended' }), 'em:1002', 'active'],
    [member('carol', { staff: true }), 'em:1003', 'active'],
    [member('dave'), 'em:1004', 'lost'],
    // Expired on the 5th: already past in Auckland (the 6th) though UTC still says the 5th.
    [member('erin', { expires: '2026-07-05' }), 'em:1005', 'active'],
    [member('kim', { groups: ['keyholders'] }), 'em:1006', 'active'],
    [member('olga', { groups: ['woodshop'] }), 'em:1007', 'active'],
  ] as const
  for (const [m, id, status] of people) {
    await ok('membership.put', m)
    await ok('credentials.put', badge(id, m.id, status))
  }
  return { h, clock, ok }
}

const lock = (h: Harness) => h.output<Lock>(LOCK)
const events = (h: Harness) => h.records('door-access.event').map((r) => r.body)
const alerts = (h: Harness) => h.records('door-access.alert').map((r) => r.body)

describe('door-access: badge → decide → actuate → record', () => {
  it('a member in a group within the schedule: the lock pulses, then a granted event is recorded', async () => {
    const { h } = await setup()
    await h.badge('front-reader', 'em:1001')
    expect(h.levels(LOCK)).toEqual([0, 1]) // requested locked, then unlocked
    expect(lock(h).state).toBe('unlocked')
    expect(events(h)).toEqual([
      {
        door: 'front',
        credential: 'em:1001',
        member: 'alice',
        decision: 'granted',
        reason: 'allowed',
        at: MON_0930,
      },
    ])
    // The unlock was on the pins before the dapp even asked the ledger to append.
    const call = h.appends.find((a) => a.type === 'door-access.event')!
    const unlockAt = h.gpio.history.findIndex((c) => c.op === 'write' && c.value === 1)
    expect(unlockAt).toBeGreaterThanOrEqual(0)
    expect(unlockAt).toBeLessThan(call.historyAtCall)
    await h.advance(PULSE)
    expect(h.levels(LOCK)).toEqual([0, 1, 0])
    expect(lock(h).state).toBe('locked')
  })

  it('the lock opens while the ledger has written nothing: actuation never waits for the append', async () => {
    const { h } = await setup()
    const release = h.holdAppends()
    const done = h.badge('front-reader', 'em:1001')
    await new Promise((r) => setImmediate(r))
    expect(lock(h).state).toBe('unlocked')
    expect(h.appends.map((a) => a.type)).toEqual(['door-access.event'])
    expect(events(h)).toEqual([])
    let resolved = false
    void h.appends[0]!.result.then(() => {
      resolved = true
    })
    await new Promise((r) => setImmediate(r))
    expect(resolved).toBe(false)
    release()
    await done
    expect(resolved).toBe(true)
    expect(events(h)).toHaveLength(1)
  })

  it("the decision's info line waits for the append to commit, and names the record", async () => {
    const { h } = await setup()
    const release = h.holdAppends()
    const done = h.badge('front-reader', 'em:1001')
    await new Promise((r) => setImmediate(r))
    expect(lock(h).state).toBe('unlocked')
    const decisionLines = () => h.logs.filter((l) => l.msg === 'door front: allowed')
    expect(decisionLines()).toEqual([]) // unlocked, but nothing committed: no acknowledgement yet
    release()
    await done
    const { record } = await h.appends[0]!.result
    expect(decisionLines()).toMatchObject([
      {
        door: 'front',
        reader: 'front-reader',
        credential: 'em:1001',
        member: 'alice',
        granted: true,
        reason: 'allowed',
        latencyMs: 0, // fake time: the lock moved in the turn the badge arrived
        record: Buffer.from(record.id).toString('hex'),
      },
    ])
    // One info line per decision.
    expect(h.logs.filter((l) => l.level === 'info' && l.credential === 'em:1001')).toHaveLength(1)
  })

  it('outside the schedule in the site time zone: denied, recorded, no actuation (a keyholder at any time still gets in)', async () => {
    // Sunday morning in Auckland is Saturday evening in UTC.
    const { h } = await setup({ start: SUN_0930 })
    await h.badge('front-reader', 'em:1001')
    await h.badge('front-reader', 'em:1006')
    expect(events(h)).toEqual([
      {
        door: 'front',
        credential: 'em:1001',
        member: 'alice',
        decision: 'denied',
        reason: 'outside-schedule',
        at: SUN_0930,
      },
      {
        door: 'front',
        credential: 'em:1006',
        member: 'kim',
        decision: 'granted',
        reason: 'allowed',
        at: SUN_0930,
      },
    ])
    expect(h.levels(LOCK)).toEqual([0, 1]) // only kim's pulse
  })

  it('reads weekday and time in the site zone, not UTC', async () => {
    const { h } = await setup()
    const state = h.ledger.view
    const at = (now: number, id = 'em:1001') =>
      decide(state, { door: 'front', credential: { id, bits: 32 }, now, tz: TZ, offline: false }).reason
    expect(at(MON_0930)).toBe('allowed') // Sunday in UTC
    expect(at(SUN_0930)).toBe('outside-schedule') // Saturday in UTC
    expect(at(Date.UTC(2026, 6, 6, 11, 30))).toBe('outside-schedule') // Monday 23:30 local, 11:30 UTC
    expect(at(Date.UTC(2026, 6, 5, 20, 0))).toBe('allowed') // Monday 08:00 local: `from` is inclusive
    expect(at(Date.UTC(2026, 6, 6, 10, 0))).toBe('outside-schedule') // Monday 22:00 local: `to` is exclusive
    // Summer time: Monday 5 January 2026, 09:30 NZDT (UTC+13) = Sunday 4 January, 20:30 UTC.
    expect(at(Date.UTC(2026, 0, 4, 20, 30))).toBe('allowed')
    expect(at(MON_0930, 'em:1007')).toBe('not-in-group')
  })

  it('on a holiday: closed all day for scheduled groups, or open only in its hours', async () => {
    const { h, ok } = await setup()
    await ok('door-access.holiday', { date: '2026-07-06', name: 'Matariki', doors: null, hours: [] })
    await h.badge('front-reader', 'em:1001')
    await h.badge('front-reader', 'em:1006') // keyholders have no schedule: holidays do not apply
    expect(events(h).map((e) => [e.member, e.decision, e.reason])).toEqual([
      ['alice', 'denied', 'holiday'],
      ['kim', 'granted', 'allowed'],
    ])
    await ok('door-access.holiday', {
      date: '2026-07-06',
      name: 'Matariki',
      doors: ['front'],
      hours: [{ from: '10:00', to: '14:00' }],
    })
    await h.badge('front-reader', 'em:1001')
    await h.advance(HOUR) // 10:30 local
    await h.badge('front-reader', 'em:1001')
    expect(
      events(h)
        .slice(2)
        .map((e) => e.reason),
    ).toEqual(['holiday', 'allowed'])
    // A holiday for another door leaves this one on its weekly schedule.
    await ok('door-access.holiday', { date: '2026-07-06', name: 'Matariki', doors: ['back'], hours: [] })
    await h.badge('front-reader', 'em:1001')
    expect(events(h).at(-1)!.reason).toBe('allowed')
  })

  it('a suspended member, a lost badge, an unknown badge, an expired member: denied events, no actuation', async () => {
    const { h } = await setup()
    for (const id of ['em:1002', 'em:1004', 'em:9999', 'em:1005']) await h.badge('front-reader', id)
    expect(events(h).map((e) => [e.credential, e.member ?? null, e.decision, e.reason])).toEqual([
      ['em:1002', 'bob', 'denied', 'member-suspended'],
      ['em:1004', 'dave', 'denied', 'badge-lost'],
      ['em:9999', null, 'denied', 'unknown-badge'],
      ['em:1005', 'erin', 'denied', 'member-expired'],
    ])
    expect(h.levels(LOCK)).toEqual([0])
    expect(h.records('door-access.event').every((r) => r.rejection === null)).toBe(true)
  })

  it('a badge at a door the site has not configured is neither opened nor recorded', async () => {
    const { h } = await setup()
    await h.admin('door-access.door', { door: 'front', removed: true })
    await h.badge('front-reader', 'em:1001')
    expect(h.levels(LOCK)).toEqual([0])
    expect(events(h)).toEqual([])
    expect(h.logs.some((l) => String(l.msg).includes('which the site has not configured'))).toBe(true)
  })

  it('a reader that is not a door (a tool reader) is ignored', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:1001')
    expect(h.appends).toEqual([])
  })
})

describe('door-access: the decision is pure and in memory', () => {
  it('decide() is a function of a plain StateView: no ledger, no disk, same answer every time', () => {
    const entries = new Map<string, unknown>([
      [
        doorKey('front'),
        { door: 'front', groups: ['members'], schedule: 'daytime', groupSchedules: {}, removed: false },
      ],
      [scheduleKey('daytime'), { name: 'daytime', windows: [{ days: ['mon'], from: '08:00', to: '22:00' }] }],
      [memberKey('alice'), member('alice')],
      [badgeKey('em:1001'), badge('em:1001', 'alice')],
    ])
    const reads: string[] = []
    const state: StateView = {
      get: <T>(k: string) => {
        reads.push(k)
        return entries.get(k) as T | undefined
      },
      has: (k) => entries.has(k),
      list: () => [],
    }
    const input = {
      door: 'front',
      credential: { id: 'em:1001', bits: 32 },
      now: MON_0930,
      tz: TZ,
      offline: false,
    }
    const first = decide(state, input)
    expect(first).toEqual({ granted: true, reason: 'allowed', member: 'alice', staff: false })
    expect(decide(state, input)).toEqual(first)
    expect(decide(state, { ...input, now: SUN_0930 })).toMatchObject({
      granted: false,
      reason: 'outside-schedule',
    })
    // Every read is a state key: the decision touches nothing else.
    expect(reads.every((k) => k.includes('/'))).toBe(true)
  })
})

describe('door-access: admin overrides', () => {
  it('lockdown denies everyone but staff, and ends when cancelled', async () => {
    const { h, ok } = await setup()
    await ok('door-access.override', { door: 'front', kind: 'lockdown', reason: 'police request' })
    await h.advance(1000)
    await h.badge('front-reader', 'em:1001')
    await h.badge('front-reader', 'em:1006') // keyholder, any time: still not in a lockdown
    await h.badge('front-reader', 'em:1003') // staff
    expect(events(h).map((e) => [e.member, e.decision, e.reason])).toEqual([
      ['alice', 'denied', 'lockdown'],
      ['kim', 'denied', 'lockdown'],
      ['carol', 'granted', 'allowed'],
    ])
    expect(h.levels(LOCK)).toEqual([0, 1])
    expect(
      (h.query('door-access', 'status') as { doors: Array<{ overrides: string[] }> }).doors[0]!.overrides,
    ).toEqual(['lockdown'])
    await ok('door-access.override', { door: 'front', kind: 'lockdown', reason: 'all clear', cancel: true })
    await h.badge('front-reader', 'em:1001')
    expect(events(h).at(-1)).toMatchObject({ member: 'alice', decision: 'granted' })
  })

  it("governance's site-wide lockdown admits staff only, at every door", async () => {
    const { h, ok } = await setup()
    await ok('governance.put', { lockdown: true })
    await h.badge('front-reader', 'em:1001')
    await h.badge('front-reader', 'em:1003')
    expect(events(h).map((e) => [e.member, e.decision, e.reason])).toEqual([
      ['alice', 'denied', 'lockdown'],
      ['carol', 'granted', 'allowed'],
    ])
    expect(h.query('door-access', 'status')).toMatchObject({ siteLockdown: true })
  })

  it('lockdown cuts a hold-open short and locks the door at once', async () => {
    const { h, ok } = await setup()
    await ok('door-access.override', {
      door: 'front',
      kind: 'hold-open',
      until: MON_0930 + 2 * HOUR,
      reason: 'open day',
    })
    await h.advance(1000)
    expect(lock(h).state).toBe('unlocked')
    await ok('door-access.override', { door: 'front', kind: 'lockdown', reason: 'fire alarm test' })
    await h.advance(1000)
    expect(lock(h).state).toBe('locked')
    expect(h.levels(LOCK)).toEqual([0, 1, 0])
  })

  it('hold-open keeps the door unlocked until `until`, then locks it exactly then', async () => {
    const { h, ok } = await setup()
    const until = MON_0930 + 2 * HOUR
    await ok('door-access.override', { door: 'front', kind: 'hold-open', until, reason: 'open day' })
    await h.advance(1000)
    expect(lock(h).state).toBe('unlocked')
    // Badges are still decided and recorded; the door stays held (no relock after the pulse).
    await h.badge('front-reader', 'em:1001')
    await h.advance(PULSE * 2)
    expect(lock(h).state).toBe('unlocked')
    expect(events(h).map((e) => e.decision)).toEqual(['granted'])
    // The door stands open through the hold: neither forced nor held open.
    await h.drive('front-contact', 1)
    await h.advance(60_000)
    await h.drive('front-contact', 0)
    expect(alerts(h)).toEqual([])
    await h.advance(until - h.clock.now() - 1)
    expect(lock(h).state).toBe('unlocked')
    await h.advance(1)
    expect(lock(h).state).toBe('locked')
    const writes = h.gpio.history.filter((c) => c.line === 'pinctrl-bcm2711:17')
    expect(writes.map((c) => c.value)).toEqual([0, 1, 0])
    expect(writes.at(-1)!.at).toBe(until)
  })

  it('unlock-once pulses the door once, records who asked through the override id, and is done', async () => {
    const { h, ok } = await setup()
    const { record } = await ok('door-access.override', {
      door: 'front',
      kind: 'unlock-once',
      until: MON_0930 + 5 * MIN,
      reason: 'parcel delivery',
    })
    await h.advance(1000)
    expect(h.levels(LOCK)).toEqual([0, 1])
    expect(events(h)).toEqual([
      {
        door: 'front',
        credential: null,
        decision: 'granted',
        reason: 'unlock-once',
        at: MON_0930 + 1000,
        override: Buffer.from(record.id).toString('hex'),
      },
    ])
    await h.advance(10_000)
    expect(h.levels(LOCK)).toEqual([0, 1, 0]) // relocked, never pulsed again
    expect(events(h)).toHaveLength(1)
    expect(
      (h.query('door-access', 'status') as { doors: Array<{ overrides: string[] }> }).doors[0]!.overrides,
    ).toEqual([])
  })

  it('an unlock-once that reaches the board after its deadline does nothing', async () => {
    const { h, ok } = await setup()
    await ok('door-access.override', {
      door: 'front',
      kind: 'unlock-once',
      until: MON_0930 - MIN,
      reason: 'late',
    })
    await h.advance(2000)
    expect(h.levels(LOCK)).toEqual([0])
    expect(events(h)).toEqual([])
  })
})

describe('door-access: door contact alerts', () => {
  it('a door opened without a badge raises a forced alert, cleared when it closes', async () => {
    const { h } = await setup()
    await h.drive('front-contact', 1)
    await h.drive('front-contact', 0)
    expect(alerts(h)).toEqual([
      // Stamped with when the door moved (the contact's time), not when the record was written.
      { door: 'front', type: 'forced', active: true, at: MON_0930 },
      { door: 'front', type: 'forced', active: false, at: MON_0930 + 300 },
    ])
    expect(
      (h.query('door-access', 'status') as { doors: Array<{ alerts: string[] }> }).doors[0]!.alerts,
    ).toEqual([])
  })

  it('opened after a granted badge: no forced alert; left open past heldOpenMs: a held-open alert until closed', async () => {
    const { h } = await setup()
    await h.badge('front-reader', 'em:1001')
    await h.drive('front-contact', 1)
    expect(alerts(h)).toEqual([])
    await h.advance(30_000)
    expect(alerts(h)).toEqual([{ door: 'front', type: 'held-open', active: true, at: MON_0930 + 30_000 }])
    expect(
      (h.query('door-access', 'status') as { doors: Array<{ alerts: string[] }> }).doors[0]!.alerts,
    ).toEqual(['held-open'])
    await h.drive('front-contact', 0)
    expect(alerts(h).at(-1)).toMatchObject({ type: 'held-open', active: false })
  })

  it('the exit button unlocks for egress (not recorded), and the opening that follows is not forced', async () => {
    const { h } = await setup()
    await h.drive('front-exit', 0) // pressed (active low)
    expect(lock(h).state).toBe('unlocked')
    await h.drive('front-exit', 1)
    await h.drive('front-contact', 1)
    await h.drive('front-contact', 0)
    expect(alerts(h)).toEqual([])
    expect(events(h)).toEqual([])
  })

  it('an opening after the unlock window has closed is forced again', async () => {
    const { h } = await setup()
    await h.badge('front-reader', 'em:1001')
    await h.advance(PULSE + 1000)
    await h.drive('front-contact', 1)
    expect(alerts(h)).toMatchObject([{ type: 'forced', active: true }])
  })
})

describe('door-access: offline bound', () => {
  it('synced within the grace period (or standalone): normal decisions, status online', async () => {
    const { h } = await setup({ syncedAt: () => MON_0930 - 20 * 3600 * 1000 })
    await h.badge('front-reader', 'em:1001')
    expect(events(h)[0]).not.toHaveProperty('offline')
    expect(h.query('door-access', 'status')).toMatchObject({
      offline: false,
      since: null,
      graceMs: DAY,
      policy: 'members-cached',
    })
    const standalone = await setup()
    expect(standalone.h.query('door-access', 'status')).toMatchObject({ offline: false, lastSync: null })
  })

  it('past the default grace (24 hours, governance default) with no policy: members-cached, events say offline', async () => {
    const synced = MON_0930 - 2 * DAY
    const { h } = await setup({ syncedAt: () => synced })
    await h.badge('front-reader', 'em:1001')
    expect(events(h)[0]).toMatchObject({ decision: 'granted', offline: true })
    expect(h.query('door-access', 'status')).toMatchObject({
      offline: true,
      since: synced + DAY,
      lastSync: synced,
      policy: 'members-cached',
    })
  })

  it('past the site grace period with policy admins-only: only staff get in, and status says so', async () => {
    const synced = MON_0930 - 2 * DAY
    const { h, ok } = await setup({ syncedAt: () => synced })
    await ok('governance.put', { gracePeriodMs: DAY, offlinePolicy: 'admins-only' })
    await h.badge('front-reader', 'em:1001')
    await h.badge('front-reader', 'em:1003')
    expect(events(h).map((e) => [e.member, e.decision, e.reason, e.offline])).toEqual([
      ['alice', 'denied', 'offline-admins-only', true],
      ['carol', 'granted', 'allowed', true],
    ])
    expect(h.levels(LOCK)).toEqual([0, 1])
    expect(h.query('door-access', 'status')).toMatchObject({
      offline: true,
      since: synced + DAY,
      graceMs: DAY,
      policy: 'admins-only',
    })
  })

  it('policy deny-all refuses even staff while offline', async () => {
    const { h, ok } = await setup({ syncedAt: () => MON_0930 - 2 * DAY })
    await ok('governance.put', { gracePeriodMs: DAY, offlinePolicy: 'deny-all' })
    await h.badge('front-reader', 'em:1003')
    expect(events(h)[0]).toMatchObject({ decision: 'denied', reason: 'offline-deny-all' })
    expect(h.levels(LOCK)).toEqual([0])
  })
})

describe('door-access: validators', () => {
  it('refuses bad input with stable reason codes', async () => {
    const { h } = await setup()
    const code = async (p: Promise<{ rejection: { code: string } | null }>) =>
      (await p).rejection?.code ?? null
    const event = { door: 'side', credential: 'em:1', decision: 'denied', reason: 'unknown-badge', at: 1 }
    expect(await code(h.device('door-access.event', event))).toBe('door-access.UNKNOWN_DOOR')
    expect(
      await code(h.device('door-access.alert', { door: 'side', type: 'forced', active: true, at: 1 })),
    ).toBe('door-access.UNKNOWN_DOOR')
    expect(await code(h.device('door-access.event', { ...event, door: 'front' }))).toBeNull()
    expect(await code(h.device('door-access.door', { door: 'side', groups: [], schedule: null }))).toBe(
      'door-access.NOT_ADMIN',
    )
    expect(
      await code(h.device('door-access.override', { door: 'front', kind: 'lockdown', reason: 'mine now' })),
    ).toBe('door-access.NOT_ADMIN')
    expect(await code(h.admin('door-access.override', { door: 'side', kind: 'lockdown', reason: 'x' }))).toBe(
      'door-access.UNKNOWN_DOOR',
    )
    expect(
      await code(h.admin('door-access.override', { door: 'front', kind: 'hold-open', reason: 'x' })),
    ).toBe('door-access.BAD_BODY')
    expect(
      await code(h.admin('door-access.door', { door: 'side', groups: ['members'], schedule: 'nights' })),
    ).toBe('door-access.UNKNOWN_SCHEDULE')
    expect(await code(h.admin('door-access.schedule', { name: 'daytime', removed: true }))).toBe(
      'door-access.SCHEDULE_IN_USE',
    )
    expect(
      await code(
        h.admin('door-access.schedule', {
          name: 'late',
          windows: [{ days: ['mon'], from: '22:00', to: '02:00' }],
        }),
      ),
    ).toBe('door-access.BAD_BODY')
    expect(
      await code(h.admin('door-access.holiday', { date: '2026-13-01', name: 'x', doors: null, hours: [] })),
    ).toBe('door-access.BAD_BODY')
    // A removed door keeps its tombstone: facts recorded for it while offline still merge.
    await h.admin('door-access.door', { door: 'front', removed: true })
    expect(await code(h.device('door-access.event', { ...event, door: 'front' }))).toBeNull()
    expect(
      await code(h.admin('door-access.override', { door: 'front', kind: 'lockdown', reason: 'x' })),
    ).toBe('door-access.UNKNOWN_DOOR')
  })
})

describe('door-access: options', () => {
  it('are checked once, naming the key', () => {
    const code = (o: DoorAccessOptions) => {
      try {
        createDoorAccess(o)
        return null
      } catch (err) {
        return [(err as { code: string }).code, (err as Error).message]
      }
    }
    expect(code({ doors: [], timeZone: 'Mars/Olympus' })).toEqual([
      'LK_DOOR_ACCESS_CONFIG',
      expect.stringContaining('`timeZone`'),
    ])
    const door = { name: 'front', reader: 'r1', lock: 'l1' }
    expect(code({ doors: [door, { ...door, name: 'back', lock: 'l2' }] })).toEqual([
      'LK_DOOR_ACCESS_CONFIG',
      expect.stringContaining('`doors[1].reader`'),
    ])
    expect(code({ doors: [{ ...door, pulsems: 10 } as never] })).toEqual([
      'LK_DOOR_ACCESS_CONFIG',
      expect.stringContaining('`doors[0].pulsems`'),
    ])
    expect(code({ doors: [door], timeZone: 'Europe/Berlin' })).toBeNull()
  })

  it('a lock missing from the hardware config fails start with the output named', async () => {
    const clock = new FakeClock(MON_0930)
    const dapp = createDoorAccess({ doors: [{ name: 'front', reader: 'r', lock: 'no-such-lock' }] })
    await expect(startHarness({ clock, dapps: [dapp] })).rejects.toMatchObject({ code: 'LK_DAPP_OUTPUT' })
  })
})
