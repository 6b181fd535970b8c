/**
 * A current-sense input (value 1 = the tool draws current), e.g. a current transformer behind
 * a comparator. Debounced longer by default (250 ms): such sensors chatter at mains frequency.
 */
import { DebouncedInput, type InputOptions } from './debounced.ts'

export class CurrentSense extends DebouncedInput {
  constructor(opts: InputOptions) {
    super(opts, { debounceMs: 250 })
  }

  get running(): boolean {
    return this.value === 1
  }
}
