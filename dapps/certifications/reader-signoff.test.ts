/**
 * Sign-off at a tool's reader, on a sim board with fake time: the certifications dapp (given the
 * tool's reader) beside machine-lockout, badge events in, records and GPIO out. A trainer badges
 * twice, an uncertified member badges: the board appends the grant with the reads, signed by its
 * key, and the member can then start the tool; anything less certifies no one.
 */
import { describe, expect, it } from 'vitest'
import type { ToolRelay } from '../../devices/outputs/index.ts'
import { defaultConfig } from '../../runtime/config/load.ts'
import { FakeClock } from '../../runtime/core/clock.ts'
import { DEVICE } from '../../runtime/core/ledger/testing/fixtures.ts'
import { dappsFor } from '../../runtime/dapp-list.ts'
import type { Dapp, DappRuntimeContext } from '../contract.ts'
import {
  badge,
  fakeCredentials,
  fakeGovernance,
  fakeMembership,
  member,
} from '../door-access/testing/fakes.ts'
import { startHarness } from '../door-access/testing/harness.ts'
import { createMachineLockout, type ToolOptions } from '../machine-lockout/index.ts'
import {
  type CertificationsOptions,
  certifications,
  createCertifications,
  SIGNED_OFF_PATTERN,
  SIGNOFF_WINDOW_MS,
  TAP_MS,
} from './index.ts'
import { type Certification, certKey } from './model.ts'

/** Tuesday 10 March 2026, 17:00 UTC. */
const T0 = Date.UTC(2026, 2, 10, 17, 0)
const MIN = 60_000

const LASER: ToolOptions = {
  name: 'laser-1',
  toolClass: 'laser',
  reader: 'laser-reader',
  relay: 'laser-relay',
  buzzer: 'laser-buzzer',
  idleMs: 10 * MIN,
  maxSessionMs: 60 * MIN,
  warnMs: MIN,
}
const DRILL: ToolOptions = {
  name: 'drill',
  reader: 'drill-reader',
  relay: 'drill-relay',
  idleMs: 10 * MIN,
  maxSessionMs: 60 * MIN,
  warnMs: MIN,
}
const BUZZER_LINE = 'pinctrl-bcm2711:19'

const BADGES = { alice: 'em:2001', bob: 'em:2002', carol: 'em:2003', erin: 'em:2005', fay: 'em:2006' }

/**
 * bob trains on laser-1; alice and fay hold nothing; carol is staff; erin holds laser-1. Both
 * dapps run as a node builds them (runtime/dapp-list.ts): certifications knows the tools' readers.
 */
async function rig() {
  const clock = new FakeClock(T0)
  const now = () => clock.now()
  const tools = [LASER, DRILL]
  const h = await startHarness({
    clock,
    ledgerNow: now,
    fakes: [fakeMembership, fakeCredentials, fakeGovernance],
    dapps: [
      createCertifications({
        signoffReaders: tools.map((t) => ({
          reader: t.reader,
          tool: t.name,
          ...(t.toolClass ? { toolClass: t.toolClass } : {}),
          ...(t.buzzer ? { buzzer: t.buzzer } : {}),
        })),
        now,
      }),
      createMachineLockout({ tools, now }),
    ],
    deferStart: true,
    outputs: [
      { name: 'laser-relay', kind: 'relay', line: { name: 'GPIO17' } },
      { name: 'laser-buzzer', kind: 'buzzer', line: { name: 'GPIO19' } },
      { name: 'drill-relay', kind: 'relay', line: { name: 'GPIO20' } },
    ],
  })
  const ok = async (type: string, body: unknown) => expect((await h.admin(type, body)).rejection).toBeNull()
  for (const [id, b] of Object.entries(BADGES)) {
    await ok('membership.put', member(id, { staff: id === 'carol' }))
    await ok('credentials.put', badge(b, id))
  }
  await ok('certifications.grant', { member: 'bob', tool: 'laser-1', canTrain: true })
  await ok('certifications.grant', { member: 'erin', tool: 'laser-1' })
  await h.startDapps()
  const at = (who: keyof typeof BADGES, reader = 'laser-reader') => h.badge(reader, BADGES[who])
  const grants = () => h.records('certifications.grant').filter((g) => g.author === DEVICE.id)
  const holds = (m: string, tool = 'laser-1') => h.ledger.view.get<Certification>(certKey(m, tool))
  const relay = () => h.output<ToolRelay>('laser-relay').enabled
  return { h, clock, at, grants, holds, relay }
}

describe('sign-off at a tool reader', () => {
  it('trainer badges twice, then an uncertified member: the board grants with the reads, and the member can start the tool', async () => {
    const { h, clock, at, grants, holds, relay } = await rig()
    await at('bob') // the trainer's badge still starts the tool
    expect(relay()).toBe(true)
    await h.advance(1_000)
    await at('bob') // …and ends the session: the second read arms the sign-off
    expect(relay()).toBe(false)
    const armedAt = clock.now()
    await h.advance(6_000)
    const badgedAt = clock.now()
    await at('alice')
    await h.settle()

    // machine-lockout still refuses the uncertified badge for starting the tool…
    expect(relay()).toBe(false)
    expect(h.records('machine-lockout.denied').map((d) => d.body)).toEqual([
      expect.objectContaining({ member: 'alice', reason: 'not-certified' }),
    ])
    // …and the board records the sign-off, signed by its key, applied.
    expect(grants()).toEqual([
      {
        type: 'certifications.grant',
        author: DEVICE.id,
        rejection: null,
        body: {
          member: 'alice',
          tool: 'laser-1',
          trainer: 'bob',
          signoff: {
            reader: 'laser-reader',
            trainer: { badge: BADGES.bob, at: armedAt },
            trainee: { badge: BADGES.alice, at: badgedAt },
          },
          canTrain: false,
          expires: null,
          after: [],
        },
      },
    ])
    expect(holds('alice')).toMatchObject({ grantedBy: 'bob', signer: DEVICE.id, trainer: false })

    // Three short beeps once the grant is recorded (after the machine's refusal).
    await h.advance(1_000)
    const writes = h.gpio.history.filter(
      (c) => c.line === BUZZER_LINE && c.op === 'write' && c.at >= badgedAt,
    )
    const highs = writes.flatMap((w, i) => (w.value === 1 && writes[i + 1] ? [writes[i + 1]!.at - w.at] : []))
    expect(highs.slice(-3)).toEqual([SIGNED_OFF_PATTERN[0], SIGNED_OFF_PATTERN[2], SIGNED_OFF_PATTERN[4]])

    // The member now starts the tool; the same badge again signs nothing off.
    await at('alice')
    expect(relay()).toBe(true)
    expect(h.records('machine-lockout.session-start').at(-1)?.body).toMatchObject({ member: 'alice' })
    expect(grants()).toHaveLength(1)
  })

  it('one trainer badge arms nothing: the next member is refused for the running tool and certified by no one', async () => {
    const { h, at, grants, holds, relay } = await rig()
    await at('bob')
    await h.advance(2_000)
    await at('alice')
    expect(relay()).toBe(true) // bob's session runs on
    expect(h.records('machine-lockout.denied').map((d) => d.body.reason)).toEqual(['tool-in-use'])
    expect(grants()).toEqual([])
    expect(holds('alice')).toBeUndefined()
  })

  it('nothing either: taps too far apart, a member too late, staff, the certified, another reader, a non-trainer', async () => {
    const { h, at, grants, holds } = await rig()
    // Two trainer taps further apart than TAP_MS.
    await at('bob')
    await h.advance(TAP_MS + 1)
    await at('bob')
    await h.advance(1_000)
    await at('alice')
    // Armed, but the member comes after the window.
    await h.advance(1_000)
    await at('bob')
    await h.advance(1_000)
    await at('bob')
    await h.advance(SIGNOFF_WINDOW_MS + 1)
    await at('alice')
    // Armed, then staff, then a certified member: each read also ends the arming.
    for (const who of ['carol', 'erin'] as const) {
      await h.advance(1_000)
      await at('bob')
      await h.advance(1_000)
      await at('bob')
      await h.advance(1_000)
      await at(who)
      await h.advance(1_000)
      await at('fay') // the arming was spent on the read before
    }
    // Armed at the laser; the member badges at the drill, where bob trains no one.
    await h.advance(1_000)
    await at('bob')
    await h.advance(1_000)
    await at('bob')
    await h.advance(1_000)
    await at('alice', 'drill-reader')
    await at('bob', 'drill-reader')
    await at('bob', 'drill-reader')
    await at('alice', 'drill-reader')
    // A member with no trainer rights badging twice arms nothing (the laser's arming lapsed).
    await h.advance(SIGNOFF_WINDOW_MS + 1)
    await at('erin')
    await at('erin')
    await at('erin')
    await at('erin')
    await h.advance(1_000)
    await at('alice')
    await h.settle()
    expect(grants()).toEqual([])
    for (const m of ['alice', 'carol', 'fay']) expect(holds(m)).toBeUndefined()
    expect(holds('alice', 'drill')).toBeUndefined()
  })
})

describe('sign-off after a revocation', () => {
  it("a new sign-off lifts a trainer's revocation; after an admin's, the board appends nothing", async () => {
    const { h, at, grants, holds } = await rig()
    const signOff = async (who: 'alice' | 'fay') => {
      await h.advance(1_000)
      await at('bob')
      await h.advance(1_000)
      await at('bob')
      await h.advance(1_000)
      await at(who)
      await h.settle()
    }
    const trainers = await h.device('certifications.revoke', {
      member: 'alice',
      tool: 'laser-1',
      reason: 'unsafe use',
      trainer: 'bob',
    })
    expect(trainers.rejection).toBeNull()
    await signOff('alice')
    expect(grants().map((g) => [g.body.member, g.body.after, g.rejection])).toEqual([
      ['alice', [Buffer.from(trainers.record.id).toString('hex')], null],
    ])
    expect(holds('alice')).toBeDefined()

    expect(
      (await h.admin('certifications.revoke', { member: 'fay', tool: 'laser-1', reason: 'banned' }))
        .rejection,
    ).toBeNull()
    await signOff('fay')
    expect(grants()).toHaveLength(1)
    expect(holds('fay')).toBeUndefined()
  })
})

describe('which readers sign off', () => {
  /** The events a dapp's start listens to, with a context that records nothing else. */
  async function listened(dapp: Dapp): Promise<string[]> {
    const events: string[] = []
    await dapp.start!({
      query: () => {},
      on: (event: string) => events.push(event),
    } as unknown as DappRuntimeContext)
    return events
  }

  it("a node's dapp list gives certifications its tools' readers; the bare dapp listens to no badge", async () => {
    const base = defaultConfig({ env: {} })
    const config = { ...base, tools: [{ ...LASER, idleMs: LASER.idleMs, maxSessionMs: LASER.maxSessionMs }] }
    const cert = dappsFor(config as typeof base).find((d) => d.name === 'certifications')!
    expect(await listened(cert)).toEqual(['badge'])
    expect(await listened(dappsFor(base).find((d) => d.name === 'certifications')!)).toEqual([])
    expect(await listened(certifications)).toEqual([])
  })

  const bad: Array<[string, unknown]> = [
    ['an unknown option', { readers: [] }],
    [
      'a reader listed twice',
      {
        signoffReaders: [
          { reader: 'r', tool: 'a' },
          { reader: 'r', tool: 'b' },
        ],
      },
    ],
    ['a tool class as the tool', { signoffReaders: [{ reader: 'r', tool: 'class:laser' }] }],
    ['an unknown reader option', { signoffReaders: [{ reader: 'r', tool: 'a', relay: 'x' }] }],
  ]
  for (const [name, opts] of bad) {
    it(`LK_CERT_CONFIG: ${name}`, () => {
      expect(() => createCertifications(opts as CertificationsOptions)).toThrow(
        expect.objectContaining({ code: 'LK_CERT_CONFIG' }),
      )
    })
  }
})
