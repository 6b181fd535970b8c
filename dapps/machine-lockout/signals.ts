/**
 * What a tool shows its user: the LED and the buzzer, when the tool has them. Each signal is
 * fire-and-forget; a failing output is logged, never thrown into the session logic.
 */
import { type DappRuntimeContext, logFailure } from '../contract.ts'
import type { CheckedTool } from './options.ts'

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

export class ToolSignals {
  readonly #ctx: DappRuntimeContext
  readonly #tool: CheckedTool

  constructor(ctx: DappRuntimeContext, tool: CheckedTool) {
    this.#ctx = ctx
    this.#tool = tool
  }

  /** A session started: LED on, a short beep. */
  started(): void {
    this.#led((led) => led.on())
    this.#buzz(PATTERNS.accepted)
  }

  /** A staff badge cleared the e-stop latch: LED off, a short beep. */
  cleared(): void {
    this.#led((led) => led.off())
    this.#buzz(PATTERNS.accepted)
  }

  denied(): void {
    this.#buzz(PATTERNS.denied)
  }

  /** A cutoff is near: the LED blinks and the buzzer chirps until `steady()` or `idle()`. */
  warning(): void {
    this.#led((led) => led.blink(PATTERNS.warnLed))
    this.#buzz(PATTERNS.warnBuzzer, Number.POSITIVE_INFINITY)
  }

  /** In use, no warning: LED on, buzzer quiet. */
  steady(): void {
    this.#led((led) => led.on())
    this.#buzzerStop()
  }

  /** Not in use: LED off, buzzer quiet (or the latch blink while latched). */
  idle(latched: boolean): void {
    if (latched) this.latched()
    else this.#led((led) => led.off())
    this.#buzzerStop()
  }

  /** E-stop latched: the LED blinks fast until a staff badge clears it. */
  latched(): void {
    this.#led((led) => led.blink(PATTERNS.latchedLed))
  }

  #led(fn: (led: ReturnType<DappRuntimeContext['outputs']['led']>) => Promise<void>): void {
    if (this.#tool.led) void this.#logged(fn(this.#ctx.outputs.led(this.#tool.led)), 'LED')
  }

  #buzz(pattern: readonly number[], repeat = 1): void {
    if (this.#tool.buzzer)
      void this.#logged(this.#ctx.outputs.buzzer(this.#tool.buzzer).play(pattern, { repeat }), 'buzzer')
  }

  #buzzerStop(): void {
    if (this.#tool.buzzer) void this.#logged(this.#ctx.outputs.buzzer(this.#tool.buzzer).stop(), 'buzzer')
  }

  #logged(p: Promise<unknown>, what: string): Promise<void> {
    return logFailure(this.#ctx, p, what, { tool: this.#tool.name })
  }
}
