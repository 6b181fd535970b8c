/** A buzzer playing `[on ms, off ms, …]` patterns (accepted, denied, door-held alarm). Safe state: silent. */
import type { Level } from '../gpio/types.ts'
import { Output, type OutputOptions } from './output.ts'
import { checkPattern, type Pattern, PatternPlayer } from './pattern.ts'

/** Patterns worth sharing between sites (ms). */
export const BUZZ = {
  accepted: [80],
  denied: [200, 100, 200, 100, 200],
  heldOpen: [500, 500],
} as const satisfies Record<string, Pattern>

export class Buzzer extends Output {
  #player: PatternPlayer

  constructor(opts: OutputOptions) {
    super(opts)
    this.#player = new PatternPlayer(this.clock, (level) => this._drive(level))
  }

  get safeLevel(): Level {
    return 0
  }

  get playing(): boolean {
    return this.#player.playing
  }

  /** Plays a pattern `repeat` times (default once; Infinity until stopped); resolves when done or replaced. */
  async play(pattern: Pattern, opts: { repeat?: number } = {}): Promise<void> {
    checkPattern(this.name, pattern)
    this._check()
    await this.#player.play(pattern, opts.repeat ?? 1)
  }

  /** Silences the buzzer now. */
  async stop(): Promise<void> {
    this._check()
    this.#player.stop()
    await this._drive(0)
  }

  protected _reset(): void {
    this.#player.stop()
  }
}
