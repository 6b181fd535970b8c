/**
 * A tool's emergency stop (value 1 = engaged). Default wiring: normally-closed contact to
 * ground with a pull-up, so pressing it or cutting the wire both read as engaged. Engaging
 * counts at once; releasing is debounced. Cutting the tool's relay is the tool controller's job.
 */
import { DebouncedInput, type InputOptions } from './debounced.ts'

export class EStop extends DebouncedInput {
  constructor(opts: InputOptions) {
    super({ bias: 'pull-up', ...opts }, { debounceMs: 50, immediate: 1 })
  }

  get engaged(): boolean {
    return this.value === 1
  }
}
