#!/usr/bin/env node
// Entry point of the `latchkey` command in a checkout. latchkey runs on one pinned Node
// (package.json devDependencies.node); when another Node started this file, re-run it on the
// pinned one from node_modules so the CLI, `npm start` and tests all see the same runtime.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { constants as osConstants } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.node
const pinnedNode = join(root, 'node_modules', 'node', 'bin', 'node')
const V8_FLAGS = ['--max-semi-space-size=4']

if (process.versions.node !== pinned && existsSync(pinnedNode) && !process.env.LATCHKEY_NO_REEXEC) {
  // A small young generation keeps garbage-collection pauses short (docs/operations.md).
  const child = spawn(pinnedNode, [...V8_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LATCHKEY_NO_REEXEC: '1' },
  })
  // A signal to this launcher reaches the node it started: a supervisor that stops the launcher
  // stops the node, which releases its ports and lock (no orphan holds them).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    })
  }
  child.on('error', (err) => {
    process.stderr.write(`latchkey: cannot start ${pinnedNode}: ${err.message}\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the same way the child did, so the caller sees the signal; 128+n if that fails.
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(s)
      process.kill(process.pid, signal)
      setTimeout(() => process.exit(128 + (osConstants.signals[signal] ?? 0)), 1000)
      return
    }
    process.exit(code ?? 1)
  })
} else {
  await runHere()
}

async function runHere() {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    process.stderr.write(
      `latchkey: needs Node ${pinned} (this is ${process.version}); run \`npm ci\` first\n`,
    )
    process.exit(1)
  }

  const { main } = await import('../runtime/cli/main.ts')
  const { processIo } = await import('../runtime/cli/io.ts')
  const code = await main(process.argv.slice(2), processIo())
  process.exitCode = code
}
