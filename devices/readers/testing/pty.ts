/**
 * A linked pseudo-terminal pair for serial reader tests (DESIGN "Serial readers are testable for
 * real"): `socat -d -d pty,raw,echo=0,link=<dir>/a pty,raw,echo=0,link=<dir>/b`. The driver
 * opens `a` with the real serialport package; the test plays the device on `b`. `unplug()` ends
 * socat (both ends vanish, the driver's port closes), `replug()` starts a new socat on the same
 * link paths. The pair registers its own teardown with vitest `onTestFinished`. Callers check
 * `hasTool('socat')` first (test/helpers).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

export interface PtyPair {
  /** The end the driver opens. */
  readonly a: string
  /** The end the test plays the device on. */
  readonly b: string
  /** Ends socat and waits until it has exited and both links are gone. */
  unplug(): Promise<void>
  /** Starts socat again with the same link paths; resolves when both exist. */
  replug(): Promise<void>
}

export interface PtyOptions {
  /** Bound on waiting for socat to start or stop. Default 10000 ms. */
  timeoutMs?: number
}

export async function startPty(dir: string, opts: PtyOptions = {}): Promise<PtyPair> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  let child: ChildProcess | null = null

  const removeLinks = () => {
    rmSync(a, { force: true })
    rmSync(b, { force: true })
  }

  const start = async () => {
    removeLinks() // a SIGKILLed socat leaves dangling links behind
    const p = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    p.stderr!.on('data', (d) => {
      stderr += d
    })
    child = p
    const deadline = Date.now() + timeoutMs
    while (!(existsSync(a) && existsSync(b))) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`socat exited early:\n${stderr}`)
      if (Date.now() > deadline)
        throw new Error(`socat did not create ${a} and ${b} within ${timeoutMs} ms:\n${stderr}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  const stop = async () => {
    const p = child
    child = null
    if (!p || p.exitCode !== null || p.signalCode !== null) {
      removeLinks()
      return
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
      p.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      p.kill('SIGTERM')
    })
    removeLinks()
  }

  onTestFinished(async () => {
    const p = child
    child = null
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r))
      p.kill('SIGKILL')
      await exited
    }
    removeLinks()
  })

  await start()
  return { a, b, unplug: stop, replug: start }
}
