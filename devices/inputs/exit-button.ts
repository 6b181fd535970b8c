/**
 * A request-to-exit button (value 1 = pressed). Default wiring: normally-open button to ground
 * with a pull-up, so a pressed button is a low pin (active-low). What a press does (unlock,
 * open a window on the door contact) is the door controller's decision.
 */
import { DebouncedInput, type InputOptions, type Unsubscribe } from './debounced.ts'

export class ExitButton extends DebouncedInput {
  constructor(opts: InputOptions) {
    super({ bias: 'pull-up', activeLow: true, ...opts })
  }

  get pressed(): boolean {
    return this.value === 1
  }

  /** Calls `fn` once per press (debounced), with the time the button went down. */
  onPress(fn: (press: { at: number }) => void): Unsubscribe {
    return this.onChange(({ value, at }) => {
      if (value === 1) fn({ at })
    })
  }
}
