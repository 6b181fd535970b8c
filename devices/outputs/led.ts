/** An indicator LED: on, off, or blinking a pattern. Safe state: off. */
import type { Level } from '../gpio/types.ts'
import { Output, type OutputOptions } from './output.ts'
import { checkPattern, type Pattern, PatternPlayer } from './pattern.ts'

export class Led extends Output {
  #player: PatternPlayer
  #on = false

  constructor(opts: OutputOptions) {
    super(opts)
    this.#player = new PatternPlayer(this.clock, (level) => {
      this.#on = level === 1
      return this._drive(level)
    })
  }

  get safeLevel(): Level {
    return 0
  }

  get lit(): boolean {
    return this.#on
  }

  /** Lights the LED, ending any blinking. */
  async on(): Promise<void> {
    this._check()
    this.#player.stop()
    this.#on = true
    await this._drive(1)
  }

  /** Darkens the LED, ending any blinking. */
  async off(): Promise<void> {
    this._check()
    this.#player.stop()
    this.#on = false
    await this._drive(0)
  }

  /** Blinks `[on ms, off ms, …]`, forever unless `repeat` is given; resolves when done or replaced. */
  async blink(pattern: Pattern, repeat = Number.POSITIVE_INFINITY): Promise<void> {
    checkPattern(this.name, pattern)
    this._check()
    await this.#player.play(pattern, repeat)
  }

  protected _reset(): void {
    this.#player.stop()
    this.#on = false
  }
}
