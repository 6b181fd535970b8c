/**
 * Commands whose capability lands with a later part of the system. They are listed (with
 * help) so the command surface is stable, and say plainly that this build cannot do them yet.
 */
import { Command } from 'commander'
import { errors } from '../../core/errors.ts'
import type { Io } from '../io.ts'

const later: ReadonlyArray<[name: string, description: string, arrives: string]> = [
  ['device', 'enrol, list and revoke boards', 'the mesh'],
  ['demo', 'run a self-contained demo site with simulated doors and tools', 'the dapps'],
]

export function laterCommands(_io: Io): Command[] {
  return later.map(([name, description, arrives]) =>
    new Command(name)
      .description(`${description} (arrives with ${arrives})`)
      .allowUnknownOption(false)
      .argument('[args...]')
      .action(() => {
        throw errors.NOT_AVAILABLE(name, arrives)
      }),
  )
}
