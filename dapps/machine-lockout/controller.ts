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
import type { TimerHandle } from '../../runtime/core/clock.ts'
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

/** [on ms, off ms, …] */
export const PATTERNS = {
  accepted: [80],
  denied: [200, 100, 200, 100, 200],
  /** Before a cutoff: LED blinks, buzzer chirps once a second. */
  warnLed: [250, 250],
  warnBuzzer: [100, 900],
  /** E-stop latched. */
  latchedLed: [100, 100],
} as const

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
  #idleTimers: TimerHandle[] = []
  #maxTimers: TimerHandle[] = []

  constructor(ctx: DappRuntimeContext, opts: CheckedMachineLockoutOptions, tool: CheckedTool) {
    this.#ctx = ctx
    this.#opts = opts
    this.tool = tool
  }

  start(): void {
    const { outputs, state } = this.#ctx
    // Outputs missing from the hardware config fail start, naming the output (LK_DAPP_OUTPUT).
    void outputs.relay(this.tool.relay).enabled
    if (this.tool.led) outputs.led(this.tool.led)
    if (this.tool.buzzer) outputs.buzzer(this.tool.buzzer)
    // A latch survives restarts: it is in the ledger.
    this.latched = isLatched(state, this.tool.name)
    if (this.latched) this.#showLatched()
    this.#endStaleSessions()
  }

  async onBadge(e: BadgeEvent): Promise<void> {
    const now = this.#opts.now()
    const d = decideTool(this.#ctx.state, {
      tool: this.tool.name,
      toolClass: this.tool.toolClass,
      credential: e.credential,
      now,
      tz: this.#opts.timeZone,
      offline: this.#offline(now),
    })
    if (this.latched) return this.#badgeWhileLatched(e, d, now)
    const s = this.session
    if (s) {
      if (d.member === s.member) return s.idleWarning && d.granted ? this.#keepAlive() : this.#end('badge')
      if (d.granted && d.staff) return this.#end('override')
      return this.#deny(e, 'tool-in-use', d.member, now)
    }
    if (!d.granted) return this.#deny(e, d.reason, d.member, now)
    return this.#begin(e, d, now)
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

  async #begin(e: BadgeEvent, d: ToolDecision, now: number): Promise<void> {
    // Actuate first: the relay is driven before the append is started.
    const enabled = this.#ctx.outputs.relay(this.tool.relay).enable()
    const body: SessionStartBody = {
      tool: this.tool.name,
      member: d.member!,
      credential: e.credential.id,
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
    this.#ctx.log.info(
      { tool: this.tool.name, member: body.member, reason: d.reason },
      `tool ${this.tool.name} enabled`,
    )
    this.#led((led) => led.on())
    this.#buzz(PATTERNS.accepted)
    this.#armMax()
    this.#armIdle()
    await Promise.all([this.#logged(enabled, 'enabling the relay'), startId])
  }

  async #end(endedBy: EndedBy): Promise<void> {
    const s = this.session
    if (!s) return
    this.session = null
    this.#clear('idle')
    this.#clear('max')
    // Cut first, then record.
    const relay = this.#ctx.outputs.relay(this.tool.relay)
    const cut = relay.enabled ? relay.disable() : Promise.resolve()
    if (this.latched) this.#showLatched()
    else this.#led((led) => led.off())
    this.#buzzerStop()
    const durationMs = Math.max(0, Math.round(this.#ctx.clock.now() - s.startMono))
    const end = s.startWall + durationMs
    this.#ctx.log.info(
      { tool: this.tool.name, member: s.member, endedBy },
      `tool ${this.tool.name} disabled (${endedBy})`,
    )
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
    await this.#append('machine-lockout.session', body)
  }

  #keepAlive(): void {
    const s = this.session!
    s.idleWarning = false
    if (!s.maxWarning) this.#stopWarning()
    this.#armIdle()
  }

  #armIdle(): void {
    this.#clear('idle')
    const s = this.session
    // While the tool draws current it is in use, not idle.
    if (!s || (this.tool.currentSense && this.current)) return
    const { idleMs, warnMs } = this.tool
    if (warnMs > 0)
      this.#idleTimers.push(this.#ctx.clock.setTimeout(() => this.#warn('idle'), idleMs - warnMs))
    this.#idleTimers.push(this.#ctx.clock.setTimeout(() => void this.#end('idle'), idleMs))
  }

  #armMax(): void {
    this.#clear('max')
    const { maxSessionMs, warnMs } = this.tool
    if (warnMs > 0)
      this.#maxTimers.push(this.#ctx.clock.setTimeout(() => this.#warn('max'), maxSessionMs - warnMs))
    this.#maxTimers.push(this.#ctx.clock.setTimeout(() => void this.#end('max'), maxSessionMs))
  }

  #clear(which: 'idle' | 'max'): void {
    const timers = which === 'idle' ? this.#idleTimers : this.#maxTimers
    for (const t of timers) this.#ctx.clock.clearTimeout(t)
    if (which === 'idle') this.#idleTimers = []
    else this.#maxTimers = []
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
    this.#led((led) => led.blink(PATTERNS.warnLed))
    this.#buzz(PATTERNS.warnBuzzer, Number.POSITIVE_INFINITY)
  }

  #stopWarning(): void {
    this.#led((led) => led.on())
    this.#buzzerStop()
  }

  #currentSense(on: boolean): void {
    this.current = on
    const s = this.session
    if (!s) return
    if (!on) {
      this.#armIdle()
      return
    }
    this.#clear('idle')
    if (s.idleWarning) {
      s.idleWarning = false
      if (!s.maxWarning) this.#stopWarning()
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
      const body: EstopBody = { tool: this.tool.name, latched: true, at: this.#wallAt(e.at) }
      work.push(this.#append('machine-lockout.estop', body))
    }
    work.push(this.#end('estop'))
    this.#showLatched()
    await Promise.all(work)
  }

  async #badgeWhileLatched(e: BadgeEvent, d: ToolDecision, now: number): Promise<void> {
    if (!(d.granted && d.staff)) return this.#deny(e, 'estop-latched', d.member, now)
    if (this.estopEngaged) return this.#deny(e, 'estop-engaged', d.member, now)
    this.latched = false
    this.#led((led) => led.off())
    this.#buzz(PATTERNS.accepted)
    this.#ctx.log.info(
      { tool: this.tool.name, member: d.member },
      `tool ${this.tool.name}: e-stop latch cleared`,
    )
    const body: EstopBody = { tool: this.tool.name, latched: false, at: now, member: d.member! }
    await this.#append('machine-lockout.estop', body)
  }

  #showLatched(): void {
    this.#led((led) => led.blink(PATTERNS.latchedLed))
  }

  // ── records and outputs ─────────────────────────────────────────────────────────────────

  async #deny(e: BadgeEvent, reason: string, member: string | undefined, now: number): Promise<void> {
    this.#buzz(PATTERNS.denied)
    const body: DeniedBody = {
      tool: this.tool.name,
      credential: e.credential.id,
      ...(member ? { member } : {}),
      reason,
      at: now,
    }
    this.#ctx.log.info(
      { tool: this.tool.name, credential: e.credential.id, member, reason },
      `tool ${this.tool.name}: ${reason}`,
    )
    await this.#append('machine-lockout.denied', body)
  }

  /** Sessions this board left open (a crash or power cut): ended as `restart`, length unknown, 0 minutes. */
  #endStaleSessions(): void {
    const prefix = 'machine-lockout/open/'
    for (const [key, open] of this.#ctx.state.list<OpenSession>(prefix)) {
      if (open.tool !== this.tool.name || open.author !== this.#ctx.node.key) continue
      const body: SessionBody = {
        session: key.slice(prefix.length),
        tool: open.tool,
        member: open.member,
        start: open.start,
        end: open.start,
        minutes: 0,
        endedBy: 'restart',
      }
      void this.#append('machine-lockout.session', body)
    }
  }

  #offline(now: number): boolean {
    const { graceMs } = offlinePolicy(this.#ctx.state, this.#opts.graceMs ?? undefined)
    return offlineState(this.#opts.syncedAt(), now, graceMs).offline
  }

  /** Board wall time (epoch ms) of a device time (ctx.clock ms). */
  #wallAt(deviceMs: number): number {
    return Math.round(this.#opts.now() - Math.max(0, this.#ctx.clock.now() - deviceMs))
  }

  #led(fn: (led: ReturnType<DappRuntimeContext['outputs']['led']>) => Promise<void>): void {
    if (this.tool.led) void this.#logged(fn(this.#ctx.outputs.led(this.tool.led)), 'LED')
  }

  #buzz(pattern: readonly number[], repeat = 1): void {
    if (this.tool.buzzer)
      void this.#logged(this.#ctx.outputs.buzzer(this.tool.buzzer).play(pattern, { repeat }), 'buzzer')
  }

  #buzzerStop(): void {
    if (this.tool.buzzer) void this.#logged(this.#ctx.outputs.buzzer(this.tool.buzzer).stop(), 'buzzer')
  }

  #append(type: string, body: unknown): Promise<void> {
    return appendOrLog(this.#ctx, type, body)
  }

  #logged(p: Promise<unknown>, what: string): Promise<void> {
    return logFailure(this.#ctx, p, what, { tool: this.tool.name })
  }
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
