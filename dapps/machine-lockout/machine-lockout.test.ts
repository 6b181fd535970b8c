/**
 * machine-lockout on a sim board with fake time: decisions, relay / LED / buzzer GPIO history,
 * and the session records (usage minutes) left in the ledger.
 */
import { describe, expect, it } from 'vitest'
import type { ToolRelay } from '../../devices/outputs/index.ts'
import { FakeClock } from '../../runtime/core/clock.ts'
import { DEVICE2 } from '../../runtime/core/ledger/testing/fixtures.ts'
import { certKey } from '../certifications/model.ts'
import type { StateView } from '../contract.ts'
import { badgeKey } from '../credentials/model.ts'
import { badge, cert, member } from '../door-access/testing/fakes.ts'
import { type Harness, startHarness } from '../door-access/testing/harness.ts'
import { memberKey } from '../membership/model.ts'
import {
  createMachineLockout,
  decideTool,
  latchKey,
  type MachineLockoutOptions,
  type ToolOptions,
} from './index.ts'

const TZ = 'Europe/Berlin'
/** Tuesday 10 March 2026, 18:00 in Berlin. */
const T0 = Date.UTC(2026, 2, 10, 17, 0)
const MIN = 60_000
const DAY = 24 * 60 * MIN

const LASER: ToolOptions = {
  name: 'laser-1',
  toolClass: 'laser',
  reader: 'laser-reader',
  relay: 'laser-relay',
  led: 'laser-led',
  buzzer: 'laser-buzzer',
  currentSense: 'laser-current',
  estop: 'laser-estop',
  idleMs: 10 * MIN,
  maxSessionMs: 60 * MIN,
  warnMs: MIN,
}
const DRILL: ToolOptions = {
  name: 'drill',
  reader: 'drill-reader',
  relay: 'drill-relay',
  led: 'drill-led',
  idleMs: 10 * MIN,
  maxSessionMs: 120 * MIN,
  warnMs: MIN,
}
const LINE = {
  'laser-relay': 'pinctrl-bcm2711:17',
  'laser-led': 'pinctrl-bcm2711:18',
  'laser-buzzer': 'pinctrl-bcm2711:19',
  'drill-relay': 'pinctrl-bcm2711:20',
} as const

async function setup(
  opts: { syncedAt?: () => number; deferStart?: boolean; options?: Partial<MachineLockoutOptions> } = {},
) {
  const clock = new FakeClock(T0)
  const dapp = createMachineLockout({
    tools: [LASER, DRILL],
    timeZone: TZ,
    now: () => clock.now(),
    ...(opts.syncedAt ? { syncedAt: opts.syncedAt } : {}),
    ...opts.options,
  })
  const h = await startHarness({
    clock,
    dapps: [dapp],
    deferStart: true,
    outputs: [
      { name: 'laser-relay', kind: 'relay', line: { name: 'GPIO17' } },
      { name: 'laser-led', kind: 'led', line: { name: 'GPIO18' } },
      { name: 'laser-buzzer', kind: 'buzzer', line: { name: 'GPIO19' } },
      { name: 'drill-relay', kind: 'relay', line: { name: 'GPIO20' } },
      { name: 'drill-led', kind: 'led', line: { name: 'GPIO21' } },
    ],
    inputs: [
      { name: 'laser-estop', kind: 'estop', line: { name: 'GPIO5' } },
      { name: 'laser-current', kind: 'current-sense', line: { name: 'GPIO6' } },
    ],
  })
  const ok = async (type: string, body: unknown) => {
    const r = await h.admin(type, body)
    expect(r.rejection).toBeNull()
    return r
  }
  const people = [
    [member('alice'), 'em:2001'],
    [member('bob'), 'em:2002'],
    [member('carol', { staff: true }), 'em:2003'],
    [member('dave', { status: 'suspended' }), 'em:2004'],
    [member('erin'), 'em:2005'],
  ] as const
  for (const [m, id] of people) {
    await ok('membership.put', m)
    await ok('credentials.put', badge(id, m.id))
  }
  await ok('certifications.put', cert('alice', 'class:laser'))
  await ok('certifications.put', cert('alice', 'drill'))
  await ok('certifications.put', cert('dave', 'class:laser'))
  // Expired yesterday, Berlin time.
  await ok('certifications.put', cert('erin', 'laser-1', { expires: '2026-03-09' }))
  if (!opts.deferStart) await h.startDapps()
  return { h, clock, ok }
}

const relay = (h: Harness, name = 'laser-relay') => h.output<ToolRelay>(name)
const bodies = (h: Harness, type: string) => h.records(`machine-lockout.${type}`).map((r) => r.body)
/** Times the line went to `value` (writes only), from `from` on. */
const writesTo = (h: Harness, line: string, value: number, from = 0) =>
  h.gpio.history
    .filter((c) => c.line === line && c.op === 'write' && c.value === value && c.at >= from)
    .map((c) => c.at)

describe('machine-lockout: badge-in', () => {
  it('each badge decision is one info line: tool, reader, credential, holder, reason, latency', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2002') // bob: not certified
    await h.badge('laser-reader', 'em:2001') // alice: session starts
    await h.badge('laser-reader', 'em:2001') // alice: badge out
    const lines = h.logs.filter((l) => l.level === 'info' && l.reader === 'laser-reader')
    expect(lines).toMatchObject([
      { tool: 'laser-1', credential: 'em:2002', member: 'bob', granted: false, latencyMs: 0 },
      { tool: 'laser-1', credential: 'em:2001', member: 'alice', granted: true, latencyMs: 0 },
      { tool: 'laser-1', credential: 'em:2001', member: 'alice', reason: 'badge', latencyMs: 0 },
    ])
    expect(h.logs.filter((l) => l.level === 'info' && l.dapp === 'machine-lockout')).toHaveLength(3)
  })

  it('a certified, active member: the relay is enabled first, then the session start is recorded', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2001')
    expect(relay(h).enabled).toBe(true)
    expect(h.levels('laser-relay')).toEqual([0, 1])
    expect(bodies(h, 'session-start')).toEqual([
      { tool: 'laser-1', member: 'alice', credential: 'em:2001', start: T0, staff: false },
    ])
    const call = h.appends.find((a) => a.type === 'machine-lockout.session-start')!
    const enabledAt = h.gpio.history.findIndex(
      (c) => c.line === LINE['laser-relay'] && c.op === 'write' && c.value === 1,
    )
    expect(enabledAt).toBeLessThan(call.historyAtCall)
    expect(h.output('laser-led')).toMatchObject({ lit: true })
    expect(writesTo(h, LINE['laser-buzzer'], 1)).toEqual([T0]) // one accepted beep
    expect(h.query('machine-lockout', 'status')).toMatchObject({
      tools: [
        { tool: 'laser-1', relay: true, session: { member: 'alice', start: T0, warning: null } },
        { tool: 'drill' },
      ],
    })
  })

  it('the relay is on while the ledger has written nothing', async () => {
    const { h } = await setup()
    const release = h.holdAppends()
    const done = h.badge('laser-reader', 'em:2001')
    await new Promise((r) => setImmediate(r))
    expect(relay(h).enabled).toBe(true)
    expect(bodies(h, 'session-start')).toEqual([])
    release()
    await done
    expect(bodies(h, 'session-start')).toHaveLength(1)
  })

  it('uncertified, suspended, expired certification, unknown badge: denied records, relay never moves', async () => {
    const { h } = await setup()
    for (const id of ['em:2002', 'em:2004', 'em:2005', 'em:9999']) {
      await h.badge('laser-reader', id)
      await h.advance(1000)
    }
    expect(bodies(h, 'denied').map((b) => [b.member ?? null, b.reason])).toEqual([
      ['bob', 'not-certified'],
      ['dave', 'member-suspended'],
      ['erin', 'not-certified'],
      [null, 'unknown-badge'],
    ])
    expect(h.levels('laser-relay')).toEqual([0])
    expect(bodies(h, 'session-start')).toEqual([])
    // The denied pattern: three beeps each.
    expect(writesTo(h, LINE['laser-buzzer'], 1)).toHaveLength(3 * 4)
    expect(writesTo(h, LINE['laser-buzzer'], 1).slice(0, 3)).toEqual([T0, T0 + 300, T0 + 600])
  })
})

describe('machine-lockout: idle timeout', () => {
  it('no activity: warns warnMs before, cuts the relay at idleMs and records the session minutes', async () => {
    const { h } = await setup()
    await h.badge('drill-reader', 'em:2001')
    await h.advance(9 * MIN - 1)
    expect(writesTo(h, 'pinctrl-bcm2711:21', 0)).toEqual([]) // LED steady on, no warning yet
    await h.advance(1)
    expect(h.query('machine-lockout', 'status')).toMatchObject({
      tools: [{}, { session: { warning: 'idle' } }],
    })
    await h.advance(MIN - 1)
    expect(relay(h, 'drill-relay').enabled).toBe(true)
    expect(writesTo(h, 'pinctrl-bcm2711:21', 0, T0 + 9 * MIN).length).toBeGreaterThan(100) // blinking
    await h.advance(1)
    expect(relay(h, 'drill-relay').enabled).toBe(false)
    expect(h.levels('drill-relay')).toEqual([0, 1, 0])
    const [start] = h.records('machine-lockout.session-start')
    expect(bodies(h, 'session')).toEqual([
      {
        session: expect.stringMatching(/^[0-9a-f]{64}$/),
        tool: 'drill',
        member: 'alice',
        start: T0,
        end: T0 + 10 * MIN,
        minutes: 10,
        endedBy: 'idle',
      },
    ])
    expect(start!.rejection).toBeNull()
    expect(h.records('machine-lockout.session')[0]!.rejection).toBeNull()
    expect(h.query('machine-lockout', 'usage', { member: 'alice' })).toEqual([
      { tool: 'drill', minutes: 10, sessions: 1 },
    ])
  })

  it('a badge during the idle warning keeps the session alive; a badge outside it badges out', async () => {
    const { h } = await setup()
    await h.badge('drill-reader', 'em:2001')
    await h.advance(9 * MIN + 30_000) // in the warning
    await h.badge('drill-reader', 'em:2001')
    expect(h.output('drill-led')).toMatchObject({ lit: true })
    await h.advance(5 * MIN) // past the first cutoff
    expect(relay(h, 'drill-relay').enabled).toBe(true)
    await h.badge('drill-reader', 'em:2001') // not warning: badge out
    expect(relay(h, 'drill-relay').enabled).toBe(false)
    expect(bodies(h, 'session')).toMatchObject([
      { endedBy: 'badge', minutes: 15, end: T0 + 14 * MIN + 30_000 },
    ])
  })

  it('with current sense, a running tool is never idle; idle counts from when the current stops', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2001')
    await h.drive('laser-current', 1) // +300 ms
    await h.advance(30 * MIN)
    expect(relay(h).enabled).toBe(true)
    h.gpio.drive({ name: 'GPIO6' }, 0)
    const stoppedAt = h.clock.now()
    await h.advance(10 * MIN + 250) // debounce, then idleMs
    expect(relay(h).enabled).toBe(false)
    const [session] = bodies(h, 'session')
    expect(session).toMatchObject({ endedBy: 'idle', end: stoppedAt + 250 + 10 * MIN })
    expect(session!.minutes).toBe(Math.ceil((stoppedAt + 250 + 10 * MIN - T0) / MIN))
  })
})

describe('machine-lockout: maximum session', () => {
  it('plays the warning pattern from warnMs before the cutoff, then cuts at maxSessionMs', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2001')
    h.gpio.drive({ name: 'GPIO6' }, 1) // in use all along
    const warnAt = T0 + 59 * MIN
    await h.advance(59 * MIN - 1)
    expect(writesTo(h, LINE['laser-led'], 0)).toEqual([])
    expect(writesTo(h, LINE['laser-buzzer'], 1)).toEqual([T0]) // only the accepted beep
    await h.advance(MIN)
    // LED: 250 ms on / 250 ms off from the warning on; buzzer: a 100 ms chirp every second.
    const led = writesTo(h, LINE['laser-led'], 1, warnAt)
    expect(led.slice(0, 4)).toEqual([warnAt, warnAt + 500, warnAt + 1000, warnAt + 1500])
    const chirps = writesTo(h, LINE['laser-buzzer'], 1, warnAt)
    expect(chirps.slice(0, 3)).toEqual([warnAt, warnAt + 1000, warnAt + 2000])
    expect(chirps).toHaveLength(60)
    expect(relay(h).enabled).toBe(true)
    await h.advance(1)
    expect(relay(h).enabled).toBe(false)
    expect(h.output('laser-led')).toMatchObject({ lit: false })
    expect(h.output('laser-buzzer')).toMatchObject({ playing: false })
    expect(bodies(h, 'session')).toMatchObject([{ endedBy: 'max', minutes: 60, end: T0 + 60 * MIN }])
  })
})

describe('machine-lockout: staff', () => {
  it('a staff badge enables any tool without a certification', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2003')
    expect(relay(h).enabled).toBe(true)
    expect(bodies(h, 'session-start')).toMatchObject([{ member: 'carol', staff: true }])
  })

  it("a staff badge on someone else's session ends it (override); another member is refused", async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2001')
    await h.badge('laser-reader', 'em:2002')
    expect(relay(h).enabled).toBe(true)
    expect(bodies(h, 'denied')).toMatchObject([{ member: 'bob', reason: 'tool-in-use' }])
    await h.advance(90_000)
    await h.badge('laser-reader', 'em:2003')
    expect(relay(h).enabled).toBe(false)
    expect(bodies(h, 'session')).toMatchObject([{ member: 'alice', endedBy: 'override', minutes: 2 }])
  })
})

describe('machine-lockout: site lockdown', () => {
  it("governance's site-wide lockdown: certified members are refused, staff still enable tools", async () => {
    const { h, ok } = await setup()
    await ok('governance.put', { lockdown: true })
    await h.badge('laser-reader', 'em:2001')
    expect(bodies(h, 'denied')).toMatchObject([{ member: 'alice', reason: 'lockdown' }])
    await h.badge('laser-reader', 'em:2003')
    expect(relay(h).enabled).toBe(true)
  })
})

describe('machine-lockout: e-stop', () => {
  it('cuts the relay at once, latches, and only a staff badge clears it once released', async () => {
    const { h } = await setup()
    await h.badge('laser-reader', 'em:2001')
    await h.advance(5 * MIN)
    h.gpio.drive({ name: 'GPIO5' }, 1) // pressed: engaging counts at once, no debounce
    const pressedAt = h.clock.now()
    expect(relay(h).enabled).toBe(false)
    expect(h.gpio.history.filter((c) => c.line === LINE['laser-relay']).at(-1)).toMatchObject({
      value: 0,
      at: pressedAt,
    })
    await h.settle()
    expect(bodies(h, 'estop')).toEqual([{ tool: 'laser-1', latched: true, at: pressedAt }])
    expect(bodies(h, 'session')).toMatchObject([{ member: 'alice', endedBy: 'estop', minutes: 5 }])
    expect(h.ledger.view.has(latchKey('laser-1'))).toBe(true)

    await h.badge('laser-reader', 'em:2001')
    await h.badge('laser-reader', 'em:2003') // staff, but the button is still pressed
    await h.drive('laser-estop', 0)
    await h.badge('laser-reader', 'em:2001') // released, still latched
    expect(bodies(h, 'denied').map((b) => [b.member, b.reason])).toEqual([
      ['alice', 'estop-latched'],
      ['carol', 'estop-engaged'],
      ['alice', 'estop-latched'],
    ])
    expect(h.levels('laser-relay')).toEqual([0, 1, 0])
    expect(h.query('machine-lockout', 'status')).toMatchObject({
      tools: [{ latched: true, estopEngaged: false }, {}],
    })

    await h.badge('laser-reader', 'em:2003') // clears the latch; does not start a session
    expect(bodies(h, 'estop').at(-1)).toMatchObject({ latched: false, member: 'carol' })
    expect(relay(h).enabled).toBe(false)
    expect(h.ledger.view.has(latchKey('laser-1'))).toBe(false)
    await h.badge('laser-reader', 'em:2001')
    expect(relay(h).enabled).toBe(true)
  })

  it('an e-stop with no session latches too', async () => {
    const { h } = await setup()
    await h.drive('laser-estop', 1)
    await h.badge('laser-reader', 'em:2001')
    expect(h.levels('laser-relay')).toEqual([0])
    expect(bodies(h, 'denied')).toMatchObject([{ reason: 'estop-latched' }])
  })
})

describe('machine-lockout: restart', () => {
  it('a latch in the ledger holds after a restart; sessions the board left open are ended as restart', async () => {
    const { h } = await setup({ deferStart: true })
    const { record } = await h.device('machine-lockout.session-start', {
      tool: 'laser-1',
      member: 'alice',
      credential: 'em:2001',
      start: T0 - 30 * MIN,
      staff: false,
    })
    await h.device('machine-lockout.estop', { tool: 'laser-1', latched: true, at: T0 - 20 * MIN })
    await h.startDapps()
    expect(bodies(h, 'session')).toEqual([
      {
        session: Buffer.from(record.id).toString('hex'),
        tool: 'laser-1',
        member: 'alice',
        start: T0 - 30 * MIN,
        end: T0 - 30 * MIN,
        minutes: 0,
        endedBy: 'restart',
      },
    ])
    expect(h.records('machine-lockout.session')[0]!.rejection).toBeNull()
    await h.badge('laser-reader', 'em:2001')
    expect(relay(h).enabled).toBe(false)
    expect(bodies(h, 'denied')).toMatchObject([{ reason: 'estop-latched' }])
    expect(writesTo(h, LINE['laser-led'], 1).length).toBeGreaterThan(0) // blinking: latched
  })
})

describe('machine-lockout: validators', () => {
  it('a session end without a start is rejected with machine-lockout.NO_SESSION, as is a second end', async () => {
    const { h } = await setup()
    const end = {
      session: 'ab'.repeat(32),
      tool: 'laser-1',
      member: 'alice',
      start: T0,
      end: T0 + 90_000,
      minutes: 2,
      endedBy: 'badge',
    }
    expect((await h.device('machine-lockout.session', end)).rejection?.code).toBe(
      'machine-lockout.NO_SESSION',
    )
    const { record } = await h.device('machine-lockout.session-start', {
      tool: 'laser-1',
      member: 'alice',
      credential: 'em:2001',
      start: T0,
      staff: false,
    })
    const session = Buffer.from(record.id).toString('hex')
    expect(
      (await h.device('machine-lockout.session', { ...end, session, member: 'bob' })).rejection?.code,
    ).toBe('machine-lockout.SESSION_MISMATCH')
    expect((await h.device('machine-lockout.session', { ...end, session, minutes: 1 })).rejection?.code).toBe(
      'machine-lockout.BAD_BODY',
    )
    // Another board may not end this board's session; an admin may.
    await h.admin('site.enrol', { key: DEVICE2.publicKey, role: 'device', name: 'other-board' })
    expect(
      (await h.ledger.append('machine-lockout.session', { ...end, session }, DEVICE2)).rejection?.code,
    ).toBe('machine-lockout.NOT_SESSION_OWNER')
    expect((await h.device('machine-lockout.session', { ...end, session })).rejection).toBeNull()
    expect((await h.device('machine-lockout.session', { ...end, session })).rejection?.code).toBe(
      'machine-lockout.NO_SESSION',
    )
    expect(h.query('machine-lockout', 'usage')).toEqual([
      { member: 'alice', tool: 'laser-1', minutes: 2, sessions: 1 },
    ])
  })
})

describe('machine-lockout: offline bound', () => {
  it('past the grace period with admins-only: members are refused, staff still get in', async () => {
    const { h, ok } = await setup({ syncedAt: () => T0 - 2 * DAY })
    await ok('governance.put', { gracePeriodMs: DAY, offlinePolicy: 'admins-only' })
    await h.badge('laser-reader', 'em:2001')
    expect(bodies(h, 'denied')).toMatchObject([{ member: 'alice', reason: 'offline-admins-only' }])
    await h.badge('laser-reader', 'em:2003')
    expect(relay(h).enabled).toBe(true)
    expect(h.query('machine-lockout', 'status')).toMatchObject({
      offline: true,
      since: T0 - DAY,
      policy: 'admins-only',
    })
  })
})

describe('machine-lockout: decision and options', () => {
  it('decideTool() is a pure function of a StateView (certification by tool class, on the local date)', () => {
    const entries = new Map<string, unknown>([
      [memberKey('alice'), member('alice')],
      [badgeKey('em:2001'), badge('em:2001', 'alice')],
      [certKey('alice', 'class:laser'), cert('alice', 'class:laser', { expires: '2026-03-10' })],
    ])
    const state: StateView = {
      get: <T>(k: string) => entries.get(k) as T | undefined,
      has: (k) => entries.has(k),
      list: () => [],
    }
    const input = {
      tool: 'laser-1',
      toolClass: 'laser',
      credential: { id: 'em:2001', bits: 32 },
      now: T0,
      tz: TZ,
      offline: false,
    }
    expect(decideTool(state, input)).toEqual({
      granted: true,
      reason: 'certified',
      member: 'alice',
      staff: false,
    })
    expect(decideTool(state, { ...input, toolClass: null })).toMatchObject({
      granted: false,
      reason: 'not-certified',
    })
    // 23:30 UTC on the 10th is already the 11th in Berlin: the certification has expired there.
    expect(decideTool(state, { ...input, now: Date.UTC(2026, 2, 10, 23, 30) })).toMatchObject({
      granted: false,
      reason: 'not-certified',
    })
  })

  it('options are checked once, naming the key', () => {
    const code = (o: MachineLockoutOptions) => {
      try {
        createMachineLockout(o)
        return null
      } catch (err) {
        return [(err as { code: string }).code, (err as Error).message]
      }
    }
    expect(code({ tools: [{ ...DRILL, warnMs: DRILL.idleMs }] })).toEqual([
      'LK_MACHINE_LOCKOUT_CONFIG',
      expect.stringContaining('`tools[0].warnMs`'),
    ])
    expect(code({ tools: [DRILL, { ...LASER, relay: 'drill-relay' }] })).toEqual([
      'LK_MACHINE_LOCKOUT_CONFIG',
      expect.stringContaining('`tools[1].relay`'),
    ])
    expect(code({ tools: [LASER, DRILL], timeZone: TZ })).toBeNull()
  })
})
