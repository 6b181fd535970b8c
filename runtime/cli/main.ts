/**
 * The `latchkey` command line. Every command has `--help`; an unknown command or a bad
 * argument gets one sentence on stderr and exit code 2; a catalogued error gets its sentence
 * and its exit code; anything else is a bug and is rethrown with its stack.
 */
import { Command, CommanderError } from 'commander'
import { isLatchkeyError } from '../core/errors/index.ts'
import { versionLine } from '../version.ts'
import { badgeCommand } from './commands/badge.ts'
import { certCommand } from './commands/cert.ts'
import { doctorCommand } from './commands/doctor.ts'
import { doorCommand } from './commands/door.ts'
import { ledgerCommand } from './commands/ledger.ts'
import { memberCommand } from './commands/member.ts'
import { runCommand } from './commands/run.ts'
import { safeStateCommand } from './commands/safe-state.ts'
import { selfTestCommand } from './commands/self-test.ts'
import { siteCommand } from './commands/site.ts'
import { statusCommand } from './commands/status.ts'
import { verifyReleaseCommand } from './commands/verify-release.ts'
import type { Io } from './io.ts'

export function buildProgram(io: Io): Command {
  const program = new Command('latchkey')
    .description('Access control for makerspace doors and tool lockouts')
    .version(versionLine(), '-V, --version', 'print version, commit, Node version and architecture')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => {} })
  const commands = [
    runCommand,
    statusCommand,
    doctorCommand,
    siteCommand,
    memberCommand,
    badgeCommand,
    doorCommand,
    certCommand,
    ledgerCommand,
    safeStateCommand,
    selfTestCommand,
    verifyReleaseCommand,
  ]
  for (const command of commands) program.addCommand(command(io))
  const configure = (cmd: Command) => {
    cmd.exitOverride().showSuggestionAfterError(true).configureOutput(program.configureOutput())
    for (const sub of cmd.commands) configure(sub)
  }
  for (const cmd of program.commands) configure(cmd)
  return program
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return io.exitCode ?? 0
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0
      if (err.code === 'commander.help') return 2 // bare `latchkey`: help was printed, but nothing was asked
      io.err(`latchkey: ${oneSentence(err.message)}\n`)
      return 2
    }
    if (isLatchkeyError(err)) {
      io.err(`latchkey: ${err.message}\n`)
      return err.exit
    }
    throw err
  }
}

function oneSentence(message: string): string {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n')
  const hint = rest.join(' ').trim()
  return hint ? `${first} ${hint.replace(/^\(Did you/, '(did you')}` : first
}
