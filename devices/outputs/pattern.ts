/**
 * Plays `[on ms, off ms, on ms, …]` on a line by the clock. Each step is due at the pattern's
 * start plus the durations before it (absolute times: no drift however late a write returns).
 * The line is off when a play ends or is stopped.
 */
import type { Clock, TimerHandle } from '../../runtime/core/clock.ts'
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import type { Level } from '../gpio/types.ts'

export type Pattern = readonly number[]

export function checkPattern(device: string, pattern: Pattern): Pattern {
  if (
    !Array.isArray(pattern) ||
    pattern.length === 0 ||
    !pattern.every((ms) => typeof ms === 'number' && Number.isFinite(ms) && ms > 0)
  ) {
    throw deviceErrors.DEVICE_CONFIG(
      device,
      'pattern',
      `must be a non-empty list of positive durations in ms ([on, off, on, …]), got ${JSON.stringify(pattern)}`,
    )
  }
  return pattern
}

export class PatternPlayer {
  #clock: Clock
  #drive: (level: Level) => Promise<void>
  #timer: TimerHandle | null = null
  #finish: ((err?: Error) => void) | null = null

  constructor(clock: Clock, drive: (level: Level) => Promise<void>) {
    this.#clock = clock
    this.#drive = drive
  }

  get playing(): boolean {
    return this.#finish !== null
  }

  /** Plays `pattern` `repeat` times (or until stopped); resolves when it ends or is stopped. */
  play(pattern: Pattern, repeat: number): Promise<void> {
    this.stop()
    return new Promise<void>((resolve, reject) => {
      let due = this.#clock.now()
      let step = 0
      let round = 0
      const finish = (err?: Error) => {
        if (this.#finish !== finish) return
        this.#clock.clearTimeout(this.#timer)
        this.#timer = null
        this.#finish = null
        if (err) reject(err)
        else resolve()
      }
      this.#finish = finish
      const fail = (err: Error) => finish(err)
      const next = () => {
        if (this.#finish !== finish) return
        if (step === pattern.length) {
          step = 0
          round++
        }
        if (round >= repeat) {
          // An odd-length pattern ends on an "on" step: switch off at its end.
          if (pattern.length % 2 === 1) this.#drive(0).then(() => finish(), fail)
          else finish()
          return
        }
        const level: Level = step % 2 === 0 ? 1 : 0
        due += pattern[step]!
        step++
        this.#drive(level).catch(fail)
        this.#timer = this.#clock.setTimeout(next, due - this.#clock.now())
      }
      next()
    })
  }

  /** Stops a play (its promise resolves); the caller switches the line off. */
  stop(): void {
    this.#finish?.()
  }
}
