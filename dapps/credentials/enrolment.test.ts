/**
 * Enrolment at a reader: a staff badge, then a new badge at the same reader within the window,
 * makes the board append a device-signed credentials.bind. Driven through the dapp host (the code
 * a node runs) on a FakeClock; one test runs a real node with its hardware events.
 */
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it, onTestFinished } from 'vitest'
import { initSite } from '../../runtime/cli/site-init.ts'
import { defaultConfig } from '../../runtime/config/load.ts'
import { FakeClock } from '../../runtime/core/clock.ts'
import { readKeyFile } from '../../runtime/core/keys.ts'
import type { Ledger } from '../../runtime/core/ledger/ledger.ts'
import { toHex } from '../../runtime/core/ledger/record.ts'
import {
  ADMIN,
  DEVICE,
  openTestLedger,
  provision,
  silentLogger,
} from '../../runtime/core/ledger/testing/fixtures.ts'
import { createLogger } from '../../runtime/core/log.ts'
import { DappHost } from '../../runtime/dapps.ts'
import { LatchkeyNode } from '../../runtime/node.ts'
import { tmpDir } from '../../test/helpers/index.ts'
import { ledgerDapp } from '../contract.ts'
import { membership } from '../membership/index.ts'
import type { Member } from '../membership/model.ts'
import { credentials } from './index.ts'
import { type BadgeEntry, badgeKey, expectKey } from './model.ts'

const STAFF_BADGE = 'em:1001'
const MEMBER_BADGE = 'em:2002'
const NEW_BADGE = 'em:3003'

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

/** Sam (staff, badge em:1001), Bob (badge em:2002), Alice (no badge yet) awaited at reader `front`. */
async function seed(append: Ledger['append'], admin: typeof ADMIN): Promise<void> {
  const records: Array<[string, unknown]> = [
    ['membership.put', member('sam', { staff: true })],
    ['membership.put', member('bob')],
    ['membership.put', member('alice')],
    ['credentials.bind', { badge: STAFF_BADGE, member: 'sam' }],
    ['credentials.bind', { badge: MEMBER_BADGE, member: 'bob' }],
    ['credentials.expect', { member: 'alice', reader: 'front' }],
  ]
  for (const [type, body] of records) expect((await append(type, body, admin)).rejection).toBeNull()
}

function collectingLogger() {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  return { log: createLogger({ level: 'debug', destination }), lines }
}

async function rig() {
  const ledger = await openTestLedger({ dapps: [membership, credentials].map(ledgerDapp) })
  onTestFinished(() => ledger.close())
  await provision(ledger)
  await seed(ledger.append.bind(ledger), ADMIN)
  const clock = new FakeClock(1_000)
  const { log, lines } = collectingLogger()
  const host = new DappHost({
    dapps: [membership, credentials],
    ledger,
    hardware: null,
    key: () => DEVICE,
    log,
    clock,
  })
  await host.ready()
  onTestFinished(() => host.close())
  /** Presents a badge and resolves with the enrolment decision logged for it. */
  const present = async (id: string, opts: { reader?: string; bits?: number } = {}) => {
    const seen = lines.length
    host.badge({
      reader: opts.reader ?? 'front',
      credential: { id, kind: 'em', bits: opts.bits ?? 32 },
      at: clock.now(),
    })
    let decision: Record<string, unknown> | undefined
    await expect
      .poll(() => (decision = lines.slice(seen).find((l) => l.dapp === 'credentials' && l.step)))
      .toBeTruthy()
    return decision as { step: string; msg: string }
  }
  return { ledger, clock, present }
}

describe('enrolment at a reader', () => {
  it('staff badge, then a new badge in time at the same reader: the board appends a device-signed bind, applied', async () => {
    const { ledger, clock, present } = await rig()
    expect(await present(STAFF_BADGE)).toMatchObject({ step: 'armed' })
    clock.advance(29_000)
    const before = ledger.count
    expect(await present(NEW_BADGE)).toMatchObject({ step: 'bind', member: 'alice', enrolledBy: 'sam' })
    expect(ledger.count).toBe(before + 1)
    const tail = [...ledger.query.records()].find(
      (r) => r.type === 'credentials.bind' && toHex(r.author) === DEVICE.id,
    )!
    expect(tail).toBeDefined()
    expect(ledger.query.rejectionOf(toHex(tail.id))).toBeNull()
    expect(ledger.view.get<BadgeEntry>(badgeKey(NEW_BADGE))).toEqual({
      id: NEW_BADGE,
      member: 'alice',
      status: 'active',
      enrolledBy: 'sam',
      reason: null,
    })
    expect(ledger.view.has(expectKey('alice'))).toBe(false)
    // The same new badge again is now a known badge: nothing more.
    expect(await present(NEW_BADGE)).toMatchObject({ step: 'ignored' })
    expect(ledger.count).toBe(before + 1)
  })

  it('too late: a new badge 30.001 s after the staff badge changes nothing', async () => {
    const { ledger, clock, present } = await rig()
    await present(STAFF_BADGE)
    clock.advance(30_001)
    const before = ledger.count
    const d = await present(NEW_BADGE)
    expect(d).toMatchObject({ step: 'ignored' })
    expect(d.msg).toContain('more than 30 s')
    expect(ledger.count).toBe(before)
    expect(ledger.view.has(badgeKey(NEW_BADGE))).toBe(false)
  })

  it('a non-staff badge first arms nothing: the new badge after it changes nothing', async () => {
    const { ledger, clock, present } = await rig()
    expect(await present(MEMBER_BADGE)).toMatchObject({
      step: 'ignored',
      msg: 'enrolment: not a staff badge',
    })
    clock.advance(1_000)
    const before = ledger.count
    expect(await present(NEW_BADGE)).toMatchObject({ step: 'ignored' })
    expect(ledger.count).toBe(before)
  })

  it('nothing either at another reader, after a known badge, from a 24-bit reader, or with two members awaited', async () => {
    const { ledger, clock, present } = await rig()
    const before = ledger.count
    await present(STAFF_BADGE)
    expect((await present(NEW_BADGE, { reader: 'back' })).msg).toContain('without a staff badge')
    await present(STAFF_BADGE)
    await present(MEMBER_BADGE) // a known badge ends the arming
    expect(await present(NEW_BADGE)).toMatchObject({ step: 'ignored' })
    await present(STAFF_BADGE)
    expect((await present('em:3003', { bits: 24 })).msg).toContain('reads only 24 bits')
    expect(
      (await ledger.append('credentials.expect', { member: 'bob', reader: null }, ADMIN)).rejection,
    ).toBeNull()
    clock.advance(5_000)
    await present(STAFF_BADGE)
    expect((await present(NEW_BADGE)).msg).toContain('2 members await a badge at reader front (alice, bob)')
    expect(ledger.count).toBe(before + 1) // only the admin's arming
  })
})

describe('enrolment on a running node', () => {
  it('hardware badge events reach the dapp; the node key (an enrolled device) signs the bind', async () => {
    const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
    const config = defaultConfig({ env })
    await initSite({ config, log: silentLogger(), name: 'Enrol Space' })
    const node = new LatchkeyNode({ config, log: silentLogger(), dapps: [membership, credentials] })
    await node.ready()
    onTestFinished(() => node.close())
    const ledger = node.ledger!
    await seed(ledger.append.bind(ledger), readKeyFile(join(config.node.dataDir, 'keys', 'admin.key')))
    const read = (id: string) =>
      node.dapps!.badge({
        reader: 'front',
        credential: { id, kind: 'em', bits: 32 },
        at: 0,
      })
    read(STAFF_BADGE)
    await new Promise((r) => setImmediate(r))
    read(NEW_BADGE)
    await expect.poll(() => ledger.view.get<BadgeEntry>(badgeKey(NEW_BADGE))?.member).toBe('alice')
    const bind = [...ledger.query.records()].find(
      (r) => r.type === 'credentials.bind' && toHex(r.author) === node.key!.id,
    )
    expect(bind).toBeDefined()
    expect(ledger.roleOf(node.key!.id)).toBe('device')
  })
})
