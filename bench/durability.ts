/**
 * Durability benchmark: `npm run bench -- durability [--rounds N] [--seed S] [--minutes M]`.
 * Prints one JSON line; exits 1 when an acknowledged record was lost or the ledger did not verify.
 *
 * Rounds (default 200) of a real node process on one data dir, written to through its HTTP API
 * (signed admin submits) and through a badge reader on a pseudo-terminal (its own access
 * events), each ended by SIGKILL at a seeded random moment; after each kill the ledger file is
 * opened and checked (bench/durability-harness.ts). No round starts after M minutes (default
 * 14), so the whole run stays within 15 minutes; `rounds` says how many ran.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runDurability } from './durability-harness.ts'
import { killLiveProcesses } from './durability-processes.ts'

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}

export async function run(args: string[]): Promise<void> {
  const seed = arg(args, 'seed', Math.floor(Math.random() * 2 ** 31))
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      killLiveProcesses()
      rmSync(dir, { recursive: true, force: true })
      process.exit(1)
    })
  try {
    const report = await runDurability({
      dir,
      rounds: arg(args, 'rounds', 200),
      seed,
      budgetMs: arg(args, 'minutes', 14) * 60_000,
      onRound: args.includes('--verbose') ? (r) => process.stderr.write(`${JSON.stringify(r)}\n`) : undefined,
    })
    const { first_problem, ...figures } = report
    process.stdout.write(`${JSON.stringify({ bench: 'durability', ...figures })}\n`)
    if (first_problem) process.stderr.write(`durability: ${first_problem}\n`)
    if (report.lost > 0 || report.corrupt > 0) process.exitCode = 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
