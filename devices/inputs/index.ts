/**
 * devices/inputs — what the runtime watches: door contacts (forced-door and held-open alarms),
 * request-to-exit buttons, tool e-stops and current sensors; all debounced by the injected
 * clock. Inputs report; deciding what to do (unlock, cut a relay) belongs to the controllers.
 *
 * May import: devices/gpio (the contract), runtime/core/clock.ts, the error catalogue (runtime/core/errors/),
 * runtime/core/errors.ts, runtime/core/lifecycle.ts, runtime/core/log.ts, node built-ins, npm packages.
 * Never the ledger, dapps or mesh: inputs know nothing about members.
 */
export { CurrentSense } from './current-sense.ts'
export { DebouncedInput, type InputChange, type InputOptions, type Unsubscribe } from './debounced.ts'
export { type DoorAlarm, DoorContact, type DoorContactOptions } from './door-contact.ts'
export { EStop } from './estop.ts'
export { ExitButton } from './exit-button.ts'
