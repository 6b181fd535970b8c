/**
 * The unlock windows a board opened, per door, on the dapp's clock: a door opening inside one is
 * authorised, not forced. A pulse during a window extends it from the window's start.
 */
export class UnlockWindows {
  readonly #windows = new Map<string, { from: number; until: number }>()

  /** A pulse of `ms` at `t` on `door`. */
  open(door: string, t: number, ms: number): void {
    const w = this.#windows.get(door)
    this.#windows.set(door, { from: w && w.until >= t ? w.from : t, until: t + ms })
  }

  /** Whether `door` opening at `at` falls inside a window this board opened. */
  covers(door: string, at: number): boolean {
    const w = this.#windows.get(door)
    return !!w && w.from <= at && at <= w.until
  }

  /** Ends `door`'s window (a lockdown ended it). */
  close(door: string): void {
    this.#windows.delete(door)
  }
}
