/**
 * Door access at run time, on one board. The badge path reads in named steps and never waits
 * for the network or the disk before the lock moves (DESIGN "Doors and tools"):
 *
 *   resolve door (reader → door) → decide (in-memory state) → actuate (lock pulse) → record
 *
 * The event is appended after the pulse has been driven; the append is not awaited first. The
 * decision's info line follows the append's commit and carries the record id.
 * Overrides (lockdown, hold-open, unlock-once) are admin records that reach the board through
 * the ledger: `reconcile()` applies them on a timer and exactly at a hold's end.
 * Door-contact alarms become `door-access.alert` records.
 */

import type { TimerHandle } from '../../runtime/core/clock.ts'
import { toHex } from '../../runtime/core/ledger/record.ts'
import {
  type AlarmEvent,
  appendOrLog,
  type BadgeEvent,
  type DappRuntimeContext,
  type InputEvent,
  logFailure,
} from '../contract.ts'
import { decide } from './decide.ts'
import {
  type AlertType,
  activeOverride,
  alertKey,
  OVERRIDE_KINDS,
  offlinePolicy,
  offlineState,
  siteLockdown,
} from './model.ts'
import type { CheckedDoor, CheckedDoorAccessOptions } from './options.ts'
import type { AlertBody, EventBody } from './records.ts'
import { UnlockWindows } from './unlock-windows.ts'

export class DoorController {
  readonly #ctx: DappRuntimeContext
  readonly #opts: CheckedDoorAccessOptions
  readonly #byReader = new Map<string, CheckedDoor>()
  readonly #byContact = new Map<string, CheckedDoor>()
  readonly #byExit = new Map<string, CheckedDoor>()
  /** Unlock windows this board opened (ctx.clock ms): an opening inside one is not forced. */
  readonly #windows = new UnlockWindows()
  /** Doors held unlocked for a hold-open override. */
  readonly #held = new Set<string>()
  /** Doors locked for a lockdown. */
  readonly #lockedDown = new Set<string>()
  /** unlock-once overrides this board has performed (record ids). */
  readonly #performed = new Set<string>()
  /** Alerts raised by this board and not yet cleared: `door/type`. */
  readonly #raised = new Set<string>()
  readonly #holdTimers = new Map<string, TimerHandle>()

  constructor(ctx: DappRuntimeContext, opts: CheckedDoorAccessOptions) {
    this.#ctx = ctx
    this.#opts = opts
    for (const d of opts.doors) {
      this.#byReader.set(d.reader, d)
      if (d.contact) this.#byContact.set(d.contact, d)
      if (d.exit) this.#byExit.set(d.exit, d)
    }
  }

  start(): void {
    const ctx = this.#ctx
    // A lock missing from the hardware config fails start, naming the output (LK_DAPP_OUTPUT).
    for (const d of this.#opts.doors) void ctx.outputs.lock(d.lock).state
    ctx.on('badge', (e) => this.onBadge(e))
    ctx.on('alarm', (e) => this.onAlarm(e))
    ctx.on('input', (e) => this.onInput(e))
    ctx.query('status', (_p, state) => this.status(state))
    ctx.every(this.#opts.reconcileMs, () => this.reconcile())
    this.reconcile().catch((err) => ctx.log.error({ err }, 'applying door overrides failed'))
  }

  /** The badge path. Resolves once the event is recorded (the lock moved before that). */
  async onBadge(e: BadgeEvent): Promise<void> {
    // 1. resolve: is this reader one of our doors? (machine-lockout owns the others)
    const door = this.#byReader.get(e.reader)
    if (!door) return
    // 2. decide, from memory only
    const now = this.#opts.now()
    const offline = isOffline(this.#ctx, this.#opts, now)
    const decision = decide(this.#ctx.state, {
      door: door.name,
      credential: e.credential,
      now,
      tz: this.#opts.timeZone,
      offline,
    })
    if (decision.reason === 'unknown-door') {
      // Not recorded: the ledger would refuse it (door-access.UNKNOWN_DOOR). The door's
      // config record has not reached this board yet, or the hardware config names a door the site lacks.
      this.#ctx.log.warn(
        { door: door.name, credential: e.credential.id },
        `badge at door ${door.name}, which the site has not configured`,
      )
      return
    }
    // 3. actuate first: the lock is driven before the append is even started
    const actuated = decision.granted ? this.#pulse(door) : Promise.resolve()
    const latencyMs = Math.max(0, this.#ctx.clock.now() - e.at)
    // 4. record
    const body: EventBody = {
      door: door.name,
      credential: e.credential.id,
      ...(decision.member ? { member: decision.member } : {}),
      decision: decision.granted ? 'granted' : 'denied',
      reason: decision.reason,
      at: now,
      ...(offline ? { offline: true } : {}),
    }
    // The decision's one info line comes once the append has resolved (committed durably), and
    // names the record: an operator or a crash test can count on that record being in the ledger.
    // `latencyMs` is from the read to the lock being driven, on the reader's clock.
    const recorded = this.#record('door-access.event', body).then((record) =>
      this.#ctx.log.info(
        { door: door.name, reader: e.reader, credential: e.credential.id, ...decision, latencyMs, record },
        `door ${door.name}: ${decision.reason}`,
      ),
    )
    await Promise.all([this.#logged(actuated, `unlocking ${door.name}`), recorded])
  }

  async onAlarm(e: AlarmEvent): Promise<void> {
    const door = this.#byContact.get(e.name)
    if (!door) return
    const key = `${door.name}/${e.type}`
    if (e.active) {
      // The contract gives dapps no access to the contact's unlock window (DoorContact.allowFor),
      // so the device calls every opening forced: an opening inside a window this board opened is not.
      if (e.type === 'forced' && this.#windows.covers(door.name, e.at)) return
      // Held open on purpose: neither forced nor held-open.
      if (this.#held.has(door.name)) return
      if (this.#raised.has(key)) return
      this.#raised.add(key)
    } else {
      if (!this.#raised.delete(key)) return
    }
    this.#ctx.log[e.active ? 'warn' : 'info'](
      { door: door.name, alert: e.type, active: e.active },
      `door ${door.name} ${e.type} ${e.active ? 'alert' : 'cleared'}`,
    )
    const body: AlertBody = {
      door: door.name,
      type: e.type as AlertType,
      active: e.active,
      at: wallAt(this.#ctx, this.#opts, e.at),
    }
    await this.#append('door-access.alert', body)
  }

  async onInput(e: InputEvent): Promise<void> {
    if (e.kind !== 'exit-button' || e.value !== 1) return
    const door = this.#byExit.get(e.name)
    if (!door) return
    // Egress always works, lockdown included; it is not an access decision and is not recorded.
    await this.#logged(this.#pulse(door), `exit unlock of ${door.name}`)
  }

  /** Applies the overrides in state to this board's doors: lockdown, hold-open, unlock-once. */
  async reconcile(): Promise<void> {
    const now = this.#opts.now()
    const state = this.#ctx.state
    const work: Array<Promise<unknown>> = []
    for (const door of this.#opts.doors) {
      const lock = this.#ctx.outputs.lock(door.lock)
      const lockdown = activeOverride(state, door.name, 'lockdown', now)
      const hold = lockdown ? undefined : activeOverride(state, door.name, 'hold-open', now)
      if (lockdown && !this.#lockedDown.has(door.name)) {
        // Lockdown beats everything: end a pulse or a hold now.
        this.#lockedDown.add(door.name)
        this.#held.delete(door.name)
        this.#windows.close(door.name)
        work.push(this.#logged(lock.lock(), `lockdown of ${door.name}`))
      } else if (!lockdown) this.#lockedDown.delete(door.name)
      if (hold) {
        if (!this.#held.has(door.name)) {
          this.#held.add(door.name)
          work.push(this.#logged(lock.unlock(), `hold-open of ${door.name}`))
        }
        this.#relockAt(door.name, hold.until!, now)
      } else if (this.#held.has(door.name)) {
        this.#held.delete(door.name)
        work.push(this.#logged(lock.lock(), `end of hold-open of ${door.name}`))
      }
      const once = lockdown ? undefined : activeOverride(state, door.name, 'unlock-once', now)
      if (once && !this.#performed.has(once.id)) {
        this.#performed.add(once.id)
        work.push(this.#logged(this.#pulse(door), `unlock-once of ${door.name}`))
        const body: EventBody = {
          door: door.name,
          credential: null,
          decision: 'granted',
          reason: 'unlock-once',
          at: now,
          override: once.id,
        }
        work.push(this.#append('door-access.event', body))
      }
    }
    await Promise.all(work)
  }

  status(state = this.#ctx.state) {
    const now = this.#opts.now()
    const { graceMs, policy } = offlinePolicy(state, this.#opts.graceMs ?? undefined)
    const lastSync = this.#opts.syncedAt()
    const { offline, since } = offlineState(lastSync, now, graceMs)
    return {
      offline,
      since,
      lastSync,
      graceMs,
      policy,
      siteLockdown: siteLockdown(state),
      timeZone: this.#opts.timeZone,
      doors: this.#opts.doors.map((d) => ({
        door: d.name,
        lock: this.#ctx.outputs.lock(d.lock).state,
        overrides: OVERRIDE_KINDS.filter((k) => activeOverride(state, d.name, k, now)),
        alerts: (['forced', 'held-open'] as const).filter((t) => state.has(alertKey(d.name, t))),
      })),
    }
  }

  /** Opens an unlock window and pulses the lock (a synchronous GPIO backend drives it before this returns). */
  #pulse(door: CheckedDoor): Promise<void> {
    this.#windows.open(door.name, this.#ctx.clock.now(), door.pulseMs)
    try {
      return this.#ctx.outputs.lock(door.lock).pulse(door.pulseMs)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #relockAt(door: string, until: number, now: number): void {
    this.#ctx.clock.clearTimeout(this.#holdTimers.get(door))
    this.#holdTimers.set(
      door,
      this.#ctx.clock.setTimeout(
        () => {
          this.#holdTimers.delete(door)
          void this.reconcile()
        },
        Math.max(0, until - now),
      ),
    )
  }

  #append(type: string, body: unknown): Promise<void> {
    return appendOrLog(this.#ctx, type, body)
  }

  /** Appends like #append; resolves with the committed record's id (hex), or null when the append failed. */
  async #record(type: string, body: unknown): Promise<string | null> {
    try {
      const { record, rejection } = await this.#ctx.append(type, body)
      if (rejection)
        this.#ctx.log.error({ type, body, rejection }, `${type} was not applied: ${rejection.code}`)
      return toHex(record.id)
    } catch (err) {
      this.#ctx.log.error({ err, type, body }, `${type} could not be appended`)
      return null
    }
  }

  #logged(p: Promise<unknown>, what: string): Promise<void> {
    return logFailure(this.#ctx, p, what)
  }
}

/** Whether the board counts as offline at `now` (no sync within the site's grace period). */
function isOffline(ctx: DappRuntimeContext, opts: CheckedDoorAccessOptions, now: number): boolean {
  const { graceMs } = offlinePolicy(ctx.state, opts.graceMs ?? undefined)
  return offlineState(opts.syncedAt(), now, graceMs).offline
}

/** Board wall time (epoch ms) of a device time (ctx.clock ms), e.g. when the door opened. */
function wallAt(ctx: DappRuntimeContext, opts: CheckedDoorAccessOptions, deviceMs: number): number {
  return Math.round(opts.now() - Math.max(0, ctx.clock.now() - deviceMs))
}
