/**
 * The error catalogue: every code of latchkey, each defined once, grouped by section. A module
 * that throws a catalogued error imports its factory from here; no module outside this folder
 * defines a code (a test may call `define()` to check the registry refuses a second definition).
 * The catalogue is data only: it imports nothing above core.
 */

export {
  badgeErrors,
  certErrors,
  dappErrors,
  doorAccessErrors,
  doorErrors,
  govErrors,
  machineLockoutErrors,
  memberErrors,
} from './dapps.ts'
export { define, definedCodes, type ErrorKind, isLatchkeyError, LatchkeyError } from './define.ts'
export { deviceErrors, readerErrors } from './devices.ts'
export { httpErrors } from './http.ts'
export { refusals } from './ledger.ts'
export { errors } from './runtime.ts'
