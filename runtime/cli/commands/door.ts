/**
 * `latchkey door`: which groups a door admits (admin-signed door-access.door records). The
 * door's wiring (reader, lock, contact) stays in the node config; this is the ledger side,
 * so every board that guards the door sees the same rule.
 */
import { Command } from 'commander'
import { doorErrors } from '../../core/errors/index.ts'
import { configFrom, configOption } from '../common.ts'
import type { Io } from '../io.ts'
import { adminKey, adminKeyOption, writeChecked } from './member.ts'

const DOOR_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/

function doorArg(text: string): string {
  if (!DOOR_ID.test(text)) throw doorErrors.INVALID(`door "${text}" must be [a-z0-9][a-z0-9._-], at most 64`)
  return text
}

export function doorCommand(io: Io): Command {
  const cmd = new Command('door').description('set which groups a door admits, or remove a door')

  cmd
    .command('set')
    .description('admit these groups at a door, optionally within a schedule (door-access.door)')
    .argument('<door>', 'door id, as in the node config `doors:`')
    .requiredOption('--groups <groups>', 'groups admitted, separated by ";" or ","')
    .option('--schedule <name>', 'only within this door-access schedule')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(
      async (
        text: string,
        opts: { groups: string; schedule?: string; config?: string; adminKey?: string },
      ) => {
        const door = doorArg(text)
        const groups = opts.groups
          .split(/[;,]/)
          .map((g) => g.trim())
          .filter(Boolean)
        const config = configFrom(io, opts.config)
        const key = adminKey(config, opts.adminKey)
        const body = { door, groups, schedule: opts.schedule ?? null }
        const w = await writeChecked(io, config, key, 'door-access.door', body, doorErrors)
        io.out(
          `door ${door} admits ${groups.join(', ') || 'nobody'} (record ${w.id.slice(0, 16)}…, via the ${w.via})\n`,
        )
      },
    )

  cmd
    .command('remove')
    .description('remove a door: it admits nobody (door-access.door, removed)')
    .argument('<door>', 'door id')
    .option(...configOption)
    .option(...adminKeyOption)
    .action(async (text: string, opts: { config?: string; adminKey?: string }) => {
      const door = doorArg(text)
      const config = configFrom(io, opts.config)
      const key = adminKey(config, opts.adminKey)
      const w = await writeChecked(io, config, key, 'door-access.door', { door, removed: true }, doorErrors)
      io.out(`door ${door} removed (record ${w.id.slice(0, 16)}…, via the ${w.via})\n`)
    })
  return cmd
}
