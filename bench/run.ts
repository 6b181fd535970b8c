/**
 * `npm run bench -- <name> [options]`: runs one benchmark, which prints one JSON line.
 * Benchmarks register here by file name: bench/<name>.ts exporting `run(args)`.
 */
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.includes('-'))
  .map((f) => f.slice(0, -3))
const [name, ...args] = process.argv.slice(2)

if (!name || !available.includes(name) || !existsSync(join(here, `${name}.ts`))) {
  const list = available.length ? available.join(', ') : '(none yet)'
  process.stderr.write(
    name
      ? `bench: no benchmark named "${name}"; available: ${list}\n`
      : `usage: npm run bench -- <name>; available: ${list}\n`,
  )
  process.exit(2)
}
const mod = (await import(join(here, `${name}.ts`))) as { run: (args: string[]) => Promise<void> }
await mod.run(args)
