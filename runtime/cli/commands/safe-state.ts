import { Command } from 'commander'
import { applyConfiguredSafeStates } from '../../hardware.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { cliLogger } from '../local-ledger.ts'

/** The supervisor hook (systemd ExecStopPost): every output to its safe state, whatever happened. */
export function safeStateCommand(io: Io): Command {
  return new Command('safe-state')
    .description(
      'drive every configured output to its safe state (run by systemd after the node stops or crashes)',
    )
    .option(...configOption)
    .action(async (opts: { config?: string }) => {
      const config = configFrom(io, opts.config)
      const log = cliLogger(io, config.log.level)
      const names = await applyConfiguredSafeStates({ config: config.hardware, log, env: io.env })
      io.out(
        `safe state applied to ${names.length} output(s)${names.length ? `: ${names.join(', ')}` : ''}\n`,
      )
    })
}
