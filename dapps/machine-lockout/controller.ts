/**
 * Tool sessions at run time, one ToolController per tool on this board (DESIGN "Doors and
 * tools"; makeitlabs/ratt #6, #11, #13):
 *
 *   badge → decide (in memory) → enable relay → record session-start
 *   idle (no current, or no badge) / maximum length → warn `warnMs` before → cut relay → record session
 *   e-stop → cut relay at once → latch (recorded) → only a staff badge clears it, once released
 *
 * A badge by the session's member ends it ("badge out"), except during an idle warning, where it
 * keeps the session alive. A staff badge on someone else's session ends it ("override"); staff
 * badging an idle tool enable it without a certification. Every cut happens before its record
 * is written. All timers run on ctx.clock.
 */
import { offlinePolicy, offlineState } from '../access.ts'
import {
  appendOrLog,
  type BadgeEvent,
  type DappRuntimeContext,
  type InputEvent,
  logFailure,
} from '../contract.ts'
import { decideTool, type ToolDecision } from './decide.ts'
import { type EndedBy, isLatched, type OpenSession, sessionMinutes, type Usage, usageOf } from './model.ts'
import type { CheckedMachineLockoutOptions, CheckedTool } from './options.ts'
import type { DeniedBody, EstopBody, SessionBody, SessionStartBody } from './records.ts'
import { SessionTimers } from './session-timers.ts'
import { ToolSignals } from './signals.ts'

export { PATTERNS } from './signals.ts'

/** The badge a decision answers: it goes on the decision's one info line. */
interface Read {
  reader: string
  credential: string
  /** When the reader decoded it (ctx.clock ms). */
  at: number
}

interface Session {
  member: string
  staff: boolean
  credential: string
  /** Board wall time (epoch ms) and ctx.clock time at the start: durations come from the clock. */
  startWall: number
  startMono: number
  /** Id (hex) of the session-start record once appended; null if it could not be. */
  startId: Promise<string | null>
  idleWarning: boolean
  maxWarning: boolean
}

export class ToolController {
  readonly tool: CheckedTool
  session: Session | null = null
  latched = false
  estopEngaged = false
  current = false
  readonly #ctx: DappRuntimeContext
  readonly #opts: CheckedMachineLockoutOptions
  readonly #signals: ToolSignals
  readonly #timers: SessionTimers

  constructor(ctx: DappRuntimeContext, opts: CheckedMachineLockoutOptions, tool: CheckedTool) {
    this.#ctx = ctx
    this.#opts = opts
    this.tool = tool
    this.#signals = new ToolSignals(ctx, tool)
    this.#timers = new SessionTimers(ctx.clock)
  }

  start(): void {
    const { outputs, state } = this.#ctx
    // Outputs missing from the hardware config fail start, naming the output (LK_DAPP_OUTPUT).
    void outputs.relay(this.tool.relay).enabled
    if (this.tool.led) outputs.led(this.tool.led)
    if (this.tool.buzzer) outputs.buzzer(this.tool.buzzer)
    // A latch survives restarts: it is in the ledger.
    this.latched = isLatched(state, this.tool.name)
    if (this.latched) this.#signals.latched()
    endStaleSessions(this.#ctx, this.tool)
  }

  /** The badge path: decide from memory, act on the outputs, write one info line, record. */
  async onBadge(e: BadgeEvent): Promise<void> {
    const now = this.#opts.now()
    const d = decideTool(this.#ctx.state, {
      tool: this.tool.name,
      toolClass: this.tool.toolClass,
      credential: e.credential,
      now,
      tz: this.#opts.timeZone,
      offline: isOffline(this.#ctx, this.#opts, now),
    })
    const read: Read = { reader: e.reader, credential: e.credential.id, at: e.at }
    if (this.latched) return this.#badgeWhileLatched(read, d, now)
    const s = this.session
    if (s) {
      if (d.member === s.member) {
        if (!(s.idleWarning && d.granted)) return this.#end('badge', read)
        // A badge during the idle warning keeps the session alive.
        s.idleWarning = false
        if (!s.maxWarning) this.#signals.steady()
        this.#armIdle()
        this.#decided(
          read,
          { member: s.member, reason: 'keep-alive' },
          `tool ${this.tool.name}: session kept alive`,
        )
        return
      }
      if (d.granted && d.staff) return this.#end('override', read)
      return this.#deny(read, 'tool-in-use', d.member, now)
    }
    if (!d.granted) return this.#deny(read, d.reason, d.member, now)
    return this.#begin(read, d, now)
  }

  async onInput(e: InputEvent): Promise<void> {
    if (e.kind === 'estop' && e.name === this.tool.estop) return this.#estop(e)
    if (e.kind === 'current-sense' && e.name === this.tool.currentSense) this.#currentSense(e.value === 1)
  }

  status() {
    const s = this.session
    return {
      tool: this.tool.name,
      relay: this.#ctx.outputs.relay(this.tool.relay).enabled,
      latched: this.latched,
      estopEngaged: this.estopEngaged,
      session: s
        ? {
            member: s.member,
            start: s.startWall,
            staff: s.staff,
            warning: s.maxWarning ? 'max' : s.idleWarning ? 'idle' : null,
          }
        : null,
    }
  }

  // ── session ─────────────────────────────────────────────────────────────────────────────

  async #begin(read: Read, d: ToolDecision, now: number): Promise<void> {
    // Actuate first: the relay is driven before the append is started.
    const enabled = this.#ctx.outputs.relay(this.tool.relay).enable()
    const body: SessionStartBody = {
      tool: this.tool.name,
      member: d.member!,
      credential: read.credential,
      start: now,
      staff: d.reason === 'staff',
    }
    const startId = this.#ctx.append('machine-lockout.session-start', body).then(
      ({ record, rejection }) => {
        if (!rejection) return Buffer.from(record.id).toString('hex')
        this.#ctx.log.error({ rejection, body }, `session-start was not applied: ${rejection.code}`)
        return null
      },
      (err) => {
        this.#ctx.log.error({ err, body }, 'session-start could not be appended')
        return null
      },
    )
    this.session = {
      member: body.member,
      staff: body.staff,
      credential: body.credential,
      startWall: now,
      startMono: this.#ctx.clock.now(),
      startId,
      idleWarning: false,
      maxWarning: false,
    }
    this.#decided(
      read,
      { member: body.member, reason: d.reason, granted: true },
      `tool ${this.tool.name} enabled`,
    )
    this.#signals.started()
    const { maxSessionMs, warnMs } = this.tool
    this.#timers.arm(
      'max',
      maxSessionMs,
      warnMs,
      () => this.#warn('max'),
      () => void this.#end('max'),
    )
    this.#armIdle()
    await Promise.all([this.#logged(enabled, 'enabling the relay'), startId])
  }

  /** Ends the session: by a badge (`read` given: the decision's line), a cutoff or the e-stop. */
  async #end(endedBy: EndedBy, read?: Read): Promise<void> {
    const s = this.session
    if (!s) return
    this.session = null
    this.#timers.clear('idle')
    this.#timers.clear('max')
    // Cut first, then record.
    const relay = this.#ctx.outputs.relay(this.tool.relay)
    const cut = relay.enabled ? relay.disable() : Promise.resolve()
    this.#signals.idle(this.latched)
    const durationMs = Math.max(0, Math.round(this.#ctx.clock.now() - s.startMono))
    const end = s.startWall + durationMs
    const msg = `tool ${this.tool.name} disabled (${endedBy})`
    if (read) this.#decided(read, { member: s.member, reason: endedBy, endedBy }, msg)
    else this.#ctx.log.info({ tool: this.tool.name, member: s.member, endedBy }, msg)
    const [id] = await Promise.all([s.startId, this.#logged(cut, 'cutting the relay')])
    if (!id) {
      this.#ctx.log.error(
        { tool: this.tool.name, member: s.member },
        'session end not recorded: its start was not',
      )
      return
    }
    const body: SessionBody = {
      session: id,
      tool: this.tool.name,
      member: s.member,
      start: s.startWall,
      end,
      minutes: sessionMinutes(s.startWall, end),
      endedBy,
    }
    await appendOrLog(this.#ctx, 'machine-lockout.session', body)
  }

  #armIdle(): void {
    this.#timers.clear('idle')
    const s = this.session
    // While the tool draws current it is in use, not idle.
    if (!s || (this.tool.currentSense && this.current)) return
    this.#timers.arm(
      'idle',
      this.tool.idleMs,
      this.tool.warnMs,
      () => this.#warn('idle'),
      () => void this.#end('idle'),
    )
  }

  #warn(kind: 'idle' | 'max'): void {
    const s = this.session
    if (!s) return
    if (kind === 'idle') s.idleWarning = true
    else s.maxWarning = true
    this.#ctx.log.info(
      { tool: this.tool.name, member: s.member, kind },
      `tool ${this.tool.name}: ${kind} cutoff soon`,
    )
    this.#signals.warning()
  }

  #currentSense(on: boolean): void {
    this.current = on
    const s = this.session
    if (!s) return
    if (!on) {
      this.#armIdle()
      return
    }
    this.#timers.clear('idle')
    if (s.idleWarning) {
      s.idleWarning = false
      if (!s.maxWarning) this.#signals.steady()
    }
  }

  // ── e-stop ──────────────────────────────────────────────────────────────────────────────

  async #estop(e: InputEvent): Promise<void> {
    if (e.value === 0) {
      // Released: the latch stays until a staff badge.
      this.estopEngaged = false
      return
    }
    this.estopEngaged = true
    const relay = this.#ctx.outputs.relay(this.tool.relay)
    const cut = relay.enabled ? relay.disable() : Promise.resolve()
    const work: Array<Promise<unknown>> = [this.#logged(cut, 'e-stop cut')]
    this.#ctx.log.warn({ tool: this.tool.name }, `tool ${this.tool.name}: e-stop`)
    if (!this.latched) {
      this.latched = true
      const body: EstopBody = { tool: this.tool.name, latched: true, at: wallAt(this.#ctx, this.#opts, e.at) }
      work.push(appendOrLog(this.#ctx, 'machine-lockout.estop', body))
    }
    work.push(this.#end('estop'))
    this.#signals.latched()
    await Promise.all(work)
  }

  async #badgeWhileLatched(read: Read, d: ToolDecision, now: number): Promise<void> {
    if (!(d.granted && d.staff)) return this.#deny(read, 'estop-latched', d.member, now)
    if (this.estopEngaged) return this.#deny(read, 'estop-engaged', d.member, now)
    this.latched = false
    this.#signals.cleared()
    this.#decided(
      read,
      { member: d.member, reason: 'estop-cleared', granted: true },
      `tool ${this.tool.name}: e-stop latch cleared`,
    )
    const body: EstopBody = { tool: this.tool.name, latched: false, at: now, member: d.member! }
    await appendOrLog(this.#ctx, 'machine-lockout.estop', body)
  }

  // ── records and outputs ─────────────────────────────────────────────────────────────────

  async #deny(read: Read, reason: string, member: string | undefined, now: number): Promise<void> {
    this.#signals.denied()
    const body: DeniedBody = {
      tool: this.tool.name,
      credential: read.credential,
      ...(member ? { member } : {}),
      reason,
      at: now,
    }
    this.#decided(read, { member, reason, granted: false }, `tool ${this.tool.name}: ${reason}`)
    await appendOrLog(this.#ctx, 'machine-lockout.denied', body)
  }

  /**
   * The one info line of a badge decision: tool, reader, credential, holder, reason, and
   * `latencyMs` from the read to this line (the outputs are driven before it), on ctx.clock.
   */
  #decided(read: Read, fields: Record<string, unknown>, msg: string): void {
    const latencyMs = Math.max(0, this.#ctx.clock.now() - read.at)
    this.#ctx.log.info(
      { tool: this.tool.name, reader: read.reader, credential: read.credential, ...fields, latencyMs },
      msg,
    )
  }

  #logged(p: Promise<unknown>, what: string): Promise<void> {
    return logFailure(this.#ctx, p, what, { tool: this.tool.name })
  }
}

/** Sessions this board left open (a crash or power cut): ended as `restart`, length unknown, 0 minutes. */
function endStaleSessions(ctx: DappRuntimeContext, tool: CheckedTool): void {
  const prefix = 'machine-lockout/open/'
  for (const [key, open] of ctx.state.list<OpenSession>(prefix)) {
    if (open.tool !== tool.name || open.author !== ctx.node.key) continue
    const body: SessionBody = {
      session: key.slice(prefix.length),
      tool: open.tool,
      member: open.member,
      start: open.start,
      end: open.start,
      minutes: 0,
      endedBy: 'restart',
    }
    void appendOrLog(ctx, 'machine-lockout.session', body)
  }
}

/** Whether the board counts as offline at `now` (no sync within the site's grace period). */
function isOffline(ctx: DappRuntimeContext, opts: CheckedMachineLockoutOptions, now: number): boolean {
  const { graceMs } = offlinePolicy(ctx.state, opts.graceMs ?? undefined)
  return offlineState(opts.syncedAt(), now, graceMs).offline
}

/** Board wall time (epoch ms) of a device time (ctx.clock ms). */
function wallAt(ctx: DappRuntimeContext, opts: CheckedMachineLockoutOptions, deviceMs: number): number {
  return Math.round(opts.now() - Math.max(0, ctx.clock.now() - deviceMs))
}

/** Routes this board's badge reads and inputs to its tools; serves `status` and `usage`. */
export class MachineLockoutController {
  readonly #ctx: DappRuntimeContext
  readonly #opts: CheckedMachineLockoutOptions
  readonly #tools: ToolController[]
  readonly #byReader = new Map<string, ToolController>()
  readonly #byInput = new Map<string, ToolController>()

  constructor(ctx: DappRuntimeContext, opts: CheckedMachineLockoutOptions) {
    this.#ctx = ctx
    this.#opts = opts
    this.#tools = opts.tools.map((t) => new ToolController(ctx, opts, t))
    for (const tc of this.#tools) {
      this.#byReader.set(tc.tool.reader, tc)
      for (const input of [tc.tool.estop, tc.tool.currentSense]) if (input) this.#byInput.set(input, tc)
    }
  }

  start(): void {
    for (const tc of this.#tools) tc.start()
    const ctx = this.#ctx
    ctx.on('badge', (e) => this.#byReader.get(e.reader)?.onBadge(e))
    ctx.on('input', (e) => this.#byInput.get(e.name)?.onInput(e))
    ctx.query('status', (_p, state) => {
      const now = this.#opts.now()
      const { graceMs, policy } = offlinePolicy(state, this.#opts.graceMs ?? undefined)
      const lastSync = this.#opts.syncedAt()
      return {
        ...offlineState(lastSync, now, graceMs),
        lastSync,
        graceMs,
        policy,
        tools: this.#tools.map((tc) => tc.status()),
      }
    })
    ctx.query('usage', (params, state) => {
      if (params.member) return usageOf(state, params.member)
      const prefix = 'machine-lockout/usage/'
      return state.list<Usage>(prefix).map(([k, u]) => {
        const [member, tool] = k.slice(prefix.length).split('/')
        return { member, tool, ...u }
      })
    })
  }
}
