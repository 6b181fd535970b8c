/**
 * `latchkey doctor`: checks what a node needs on this board and says what to fix.
 * Each check is a named step returning ok / warn / fail with one sentence.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Command } from 'commander'
import pkg from '../../../package.json' with { type: 'json' }
import { type Config, defaultConfig, loadConfigFile } from '../../config/load.ts'
import { isLatchkeyError } from '../../core/errors/index.ts'
import { readKeyFile } from '../../core/keys.ts'
import { openDb } from '../../core/ledger/store.ts'
import type { Io } from '../io.ts'
import { ledgerFile } from '../site-init.ts'

type Verdict = 'ok' | 'warn' | 'fail'
interface Check {
  name: string
  verdict: Verdict
  detail: string
}

const require = createRequire(import.meta.url)

function checkNode(): Check {
  const pinned = pkg.devDependencies.node
  return process.versions.node === pinned
    ? { name: 'node', verdict: 'ok', detail: `Node ${process.version}` }
    : {
        name: 'node',
        verdict: 'warn',
        detail: `Node ${process.version} runs this, the pinned version is ${pinned}`,
      }
}

function checkDataDir(config: Config): Check {
  const dir = config.node.dataDir
  if (!existsSync(dir))
    return { name: 'data-dir', verdict: 'warn', detail: `${dir} does not exist yet (created at first start)` }
  try {
    accessSync(dir, constants.W_OK)
    return { name: 'data-dir', verdict: 'ok', detail: `${dir} is writable` }
  } catch {
    return { name: 'data-dir', verdict: 'fail', detail: `${dir} is not writable by this user` }
  }
}

function checkNodeKey(config: Config): Check {
  const file = join(config.node.dataDir, 'keys', 'node.key')
  if (!existsSync(file))
    return {
      name: 'node-key',
      verdict: 'warn',
      detail: `${file} does not exist yet (created at first start)`,
    }
  try {
    const pair = readKeyFile(file)
    return {
      name: 'node-key',
      verdict: 'ok',
      detail: `${file} (mode ${(statSync(file).mode & 0o777).toString(8)}), key ${pair.id.slice(0, 16)}…`,
    }
  } catch (err) {
    if (isLatchkeyError(err)) return { name: 'node-key', verdict: 'fail', detail: err.message }
    throw err
  }
}

/** The ledger file opens: not empty, a SQLite database, not truncated (runtime/core/ledger/store.ts). */
function checkLedger(config: Config): Check {
  const file = ledgerFile(config)
  if (!existsSync(file))
    return { name: 'ledger', verdict: 'warn', detail: `${file} does not exist yet (created at first start)` }
  try {
    openDb(file, { readonly: true }).close()
    return { name: 'ledger', verdict: 'ok', detail: `${file} opens` }
  } catch (err) {
    return { name: 'ledger', verdict: 'fail', detail: (err as Error).message.split('\n')[0]! }
  }
}

function checkAddon(name: string, probe: () => string): Check {
  try {
    return { name, verdict: 'ok', detail: probe() }
  } catch (err) {
    return { name, verdict: 'fail', detail: `cannot load: ${(err as Error).message.split('\n')[0]}` }
  }
}

function checkTool(tool: string, why: string): Check {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    return { name: tool, verdict: 'ok', detail: `found (${why})` }
  } catch {
    return { name: tool, verdict: 'warn', detail: `not found; needed for ${why}` }
  }
}

export function doctorCommand(io: Io): Command {
  return new Command('doctor')
    .description('check this board and config for what a node needs')
    .option('-c, --config <file>', 'node config file (YAML)')
    .option('--json', 'print the checks as JSON')
    .action((opts: { config?: string; json?: boolean }) => {
      const config = opts.config
        ? loadConfigFile(opts.config, { env: io.env })
        : defaultConfig({ env: io.env, cwd: io.cwd })
      const checks: Check[] = [
        checkNode(),
        {
          name: 'config',
          verdict: 'ok',
          detail: opts.config ? `${opts.config} is valid` : 'embedded defaults',
        },
        checkDataDir(config),
        checkNodeKey(config),
        checkLedger(config),
        checkAddon('sqlite', () => {
          const Database = require('better-sqlite3')
          const db = new Database(':memory:')
          const { v } = db.prepare('select sqlite_version() as v').get() as { v: string }
          db.close()
          return `better-sqlite3 with SQLite ${v}`
        }),
      ]
      if (process.platform === 'linux') {
        checks.push(
          checkAddon('epoll', () => {
            require('epoll')
            return 'onoff epoll addon loads (sysfs GPIO backend)'
          }),
        )
        checks.push(checkTool('gpioset', 'the gpiod GPIO backend'))
        checks.push(checkTool('taskset', 'keeping helper threads off the event loop core'))
      }
      if (opts.json) io.out(`${JSON.stringify({ checks })}\n`)
      else for (const c of checks) io.out(`${c.verdict.padEnd(4)}  ${c.name.padEnd(9)} ${c.detail}\n`)
      if (checks.some((c) => c.verdict === 'fail')) io.exitCode = 1
    })
}
