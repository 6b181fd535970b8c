/**
 * machine-lockout: tool sessions (badge-in enables the relay for active, certified members;
 * idle timeout, maximum session, warning before a cutoff, staff override, latching e-stop) with
 * usage minutes on the ledger.
 *
 * `createMachineLockout(options)` builds the dapp for a node's tools (options.ts);
 * `machineLockout` is the dapp with no tools, for nodes and tools that only fold its records.
 * Records and reason codes: records.ts. The decision: decide.ts. Run time: controller.ts.
 */
import type { Dapp } from '../contract.ts'
import { MachineLockoutController } from './controller.ts'
import { checkMachineLockoutOptions, type MachineLockoutOptions } from './options.ts'
import { MACHINE_LOCKOUT_TYPES, registerRecords } from './records.ts'

export { machineLockoutErrors } from '../../runtime/core/errors/index.ts'
export { PATTERNS as TOOL_PATTERNS } from './controller.ts'
export { decideTool, type ToolDecideInput, type ToolDecision, type ToolReason } from './decide.ts'
export * from './model.ts'
export type { MachineLockoutOptions, ToolOptions } from './options.ts'
export { MACHINE_LOCKOUT_TYPES, Reasons as MachineLockoutReasons } from './records.ts'

export function createMachineLockout(options: MachineLockoutOptions = { tools: [] }): Dapp {
  const opts = checkMachineLockoutOptions(options)
  return {
    name: 'machine-lockout',
    version: '1.0.0',
    dependencies: { membership: '1', credentials: '1', certifications: '1' },
    types: MACHINE_LOCKOUT_TYPES,
    records: registerRecords,
    start(ctx) {
      // One controller per start: run-time state lives on the instance, never in the module.
      new MachineLockoutController(ctx, opts).start()
    },
  }
}

/** The machine-lockout dapp with no tools of its own: folds and validates the records, serves queries. */
export const machineLockout: Dapp = createMachineLockout()
