/**
 * Entry point of the single binary (scripts/build-binary.ts bundles from here). Unlike
 * bin/latchkey.js it never re-executes: the binary is its own pinned Node.
 */
import { processIo } from './io.ts'
import { main } from './main.ts'

main(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
