/**
 * Test helpers that register their own teardown (after hypercore's test/helpers): a temp
 * dir is removed, a spawned process is killed, when the test that made it ends.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'latchkey.js')

export function tmpDir(prefix = 'latchkey-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Whether a system tool is on PATH. In CI (CI=true) a missing tool is an error, not a skip:
 * `.ci/run` installs every tool the tests need, so a missing one means the install broke.
 */
export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    return true
  } catch {
    if (process.env.CI === 'true')
      throw new Error(`CI: required tool \`${tool}\` is missing; .ci/run must install it`)
    return false
  }
}

export interface Spawned {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first stdout JSON log line for which `match` is true. */
  waitForLog: (
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ) => Promise<Record<string, unknown>>
}

/** Spawns a process that is killed (whole process group) when the test ends. */
export function spawnTracked(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Spawned {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  child.stdout!.on('data', (d) => {
    out += d
    for (const w of waiters) w()
  })
  child.stderr!.on('data', (d) => {
    err += d
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  const waitForLog: Spawned['waitForLog'] = (match, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>
            if (match(parsed)) {
              cleanup()
              resolve(parsed)
              return
            }
          } catch {
            // partial line
          }
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for a log line; stdout:\n${out}\nstderr:\n${err}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        const i = waiters.indexOf(check)
        if (i >= 0) waiters.splice(i, 1)
      }
      waiters.push(check)
      exited.then(() => {
        check()
        cleanup()
        reject(new Error(`process exited before the log line; stdout:\n${out}\nstderr:\n${err}`))
      })
      check()
    })
  return { child, stdout: () => out, stderr: () => err, exited, waitForLog }
}

/** Runs the latchkey CLI to completion as a real process. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const s = spawnTracked(process.execPath, [BIN, ...args], opts)
  return s.exited.then(({ code }) => ({ code, stdout: s.stdout(), stderr: s.stderr() }))
}

/**
 * `n` distinct free loopback ports: all are bound at once, then released, so two calls in one
 * test never return the same port (the durability bench's helper; the bench cannot import this
 * vitest-bound module, so the test side imports it).
 */
export { freePorts } from '../../bench/durability-processes.ts'
