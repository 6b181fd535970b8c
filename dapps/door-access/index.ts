/**
 * door-access: doors × member groups × schedules (time-zone aware, with holidays), admin
 * overrides (lockdown, hold-open, unlock-once), access events and door alerts on the ledger.
 *
 * `createDoorAccess(options)` builds the dapp for a node's doors (options.ts says what the node
 * passes); `doorAccess` is the dapp with no doors, for nodes and tools that only fold its records.
 * Records and reason codes: records.ts. The decision: decide.ts. Run time: controller.ts.
 */
import type { Dapp } from '../contract.ts'
import { DoorController } from './controller.ts'
import { checkDoorAccessOptions, type DoorAccessOptions } from './options.ts'
import { DOOR_ACCESS_TYPES, registerRecords } from './records.ts'

export { doorAccessErrors } from '../../runtime/core/errors/index.ts'
export { type Holder, type HolderReason, resolveHolder } from '../credentials/holder.ts'
export { type DecideInput, type Decision, type DoorReason, decide } from './decide.ts'
export { isTimeZone, localDate, localTime } from './local-time.ts'
export * from './model.ts'
export type { DoorAccessOptions, DoorOptions } from './options.ts'
export { DOOR_ACCESS_TYPES, Reasons as DoorAccessReasons } from './records.ts'

export function createDoorAccess(options: DoorAccessOptions = { doors: [] }): Dapp {
  const opts = checkDoorAccessOptions(options)
  return {
    name: 'door-access',
    version: '1.0.0',
    dependencies: { membership: '1', credentials: '1' },
    types: DOOR_ACCESS_TYPES,
    records: registerRecords,
    start(ctx) {
      // One controller per start: run-time state lives on the instance, never in the module.
      new DoorController(ctx, opts).start()
    },
  }
}

/** The door-access dapp with no doors of its own: folds and validates the records, serves `status`. */
export const doorAccess: Dapp = createDoorAccess()
