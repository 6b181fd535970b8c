/**
 * devices/gpio — the GPIO interface (`types.ts`) and its backends: `gpiod` (libgpiod
 * command-line tools, v1 and v2), `onoff` (legacy sysfs, base resolved from the chip label),
 * `sim` (in memory, inspectable), and `createGpio()` which picks one (`auto`). `contract.ts` is
 * the test suite every backend passes; `fake-gpiod.ts` generates fake tools for it. Neither is
 * exported here: production code never loads test code.
 *
 * May import: runtime/core/errors.ts, runtime/core/lifecycle.ts, runtime/core/log.ts, runtime/core/clock.ts,
 * the error catalogue (runtime/core/errors/), node built-ins, npm packages. Never the ledger, dapps or mesh.
 */
export { type CreateGpioOptions, createGpio, type DetectOptions, detectGpioBackend } from './auto.ts'
export type { GpioBaseOptions } from './base.ts'
export { type ChipTable, PI4_CHIPS } from './chips.ts'
export { GpiodGpio, type GpiodOptions } from './gpiod.ts'
export {
  OnoffGpio,
  type OnoffGpioClass,
  type OnoffOptions,
  readSysfsChips,
  type SysfsChip,
  sysfsLine,
} from './onoff.ts'
export { readSimJournal, type SimChange, SimGpio, type SimGpioOptions, type SimJournalEntry } from './sim.ts'
export {
  type Bias,
  describeLine,
  type GpioDriver,
  type GpioKind,
  type InputLine,
  type InputRequest,
  type Level,
  type LineEvent,
  type LineInfo,
  type LineRef,
  type OutputLine,
  type OutputRequest,
} from './types.ts'
