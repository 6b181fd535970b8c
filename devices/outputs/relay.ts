/**
 * A tool-lockout relay: enabled = energised = the tool has power. `fail: 'secure'` (default)
 * makes the de-energised, tool-off state the safe one.
 */
import type { Level } from '../gpio/types.ts'
import { type FailMode, Output, type OutputOptions } from './output.ts'

export interface RelayOptions extends OutputOptions {
  /** The safe state: `secure` = tool off (default), `safe` = tool on. */
  fail?: FailMode
}

export class ToolRelay extends Output {
  readonly fail: FailMode
  #on: boolean

  constructor(opts: RelayOptions) {
    super(opts)
    this.fail = opts.fail ?? 'secure'
    this.#on = this.fail === 'safe'
  }

  get safeLevel(): Level {
    return this.fail === 'secure' ? 0 : 1
  }

  get enabled(): boolean {
    return this.#on
  }

  /** Powers the tool. */
  async enable(): Promise<void> {
    this._check()
    this.#on = true
    await this._drive(1)
  }

  /** Cuts the tool's power. */
  async disable(): Promise<void> {
    this._check()
    this.#on = false
    await this._drive(0)
  }

  protected _reset(): void {
    this.#on = this.fail === 'safe'
  }
}
