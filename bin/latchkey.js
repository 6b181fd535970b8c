#!/usr/bin/env node
// Entry point of the `latchkey` command in a checkout. latchkey runs on one pinned Node
// (package.json devDependencies.node); when another Node started this file, re-run it on the
// pinned one from node_modules so the CLI, `npm start` and tests all see the same runtime.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.node
const pinnedNode = join(root, 'node_modules', 'node', 'bin', 'node')
const V8_FLAGS = ['--max-semi-space-size=4']

if (process.versions.node !== pinned && existsSync(pinnedNode) && !process.env.LATCHKEY_NO_REEXEC) {
  // A small young generation keeps garbage-collection pauses short (docs/operations.md).
  const r = spawnSync(pinnedNode, [...V8_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LATCHKEY_NO_REEXEC: '1' },
  })
  process.exit(r.status ?? 1)
}
if (Number(process.versions.node.split('.')[0]) < 24) {
  process.stderr.write(`latchkey: needs Node ${pinned} (this is ${process.version}); run \`npm ci\` first\n`)
  process.exit(1)
}

const { main } = await import('../runtime/cli/main.ts')
const { processIo } = await import('../runtime/cli/io.ts')
const code = await main(process.argv.slice(2), processIo())
process.exitCode = code
