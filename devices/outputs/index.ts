/**
 * devices/outputs — what the runtime switches: door locks (pulse or hold), tool-lockout relays,
 * LEDs and buzzers (`[on ms, off ms, …]` patterns). Each output declares its safe state
 * (fail-secure or fail-safe), is requested directly at it, returns to it on close, and
 * `applySafeStates()` applies it at boot, at shutdown and after a crash.
 *
 * May import: devices/gpio (the contract), runtime/core/clock.ts, the error catalogue (runtime/core/errors/),
 * runtime/core/errors.ts, runtime/core/lifecycle.ts, runtime/core/log.ts, node built-ins, npm packages.
 * Never the ledger, dapps or mesh: outputs know nothing about members.
 */
export { BUZZ, Buzzer } from './buzzer.ts'
export { Led } from './led.ts'
export { Lock, type LockOptions, type LockState } from './lock.ts'
export { type FailMode, Output, type OutputOptions, type SafeStateful } from './output.ts'
export type { Pattern } from './pattern.ts'
export { type RelayOptions, ToolRelay } from './relay.ts'
export { applySafeStates } from './safe-state.ts'
