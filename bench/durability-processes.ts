/**
 * The processes and ports of the durability bench (bench/durability-harness.ts): every process it
 * starts is tracked until it exits, so a bench stopped by a signal kills what still runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** Processes the harness started and has not seen exit: the node of the round, socat. */
const live = new Set<ChildProcess>()

/** SIGKILLs every process the harness started that still runs (for a bench stopped by a signal). */
export function killLiveProcesses(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
}

export function track(p: ChildProcess): void {
  live.add(p)
  p.once('exit', () => live.delete(p))
}

export interface Socat {
  /** The end the reader opens. */
  a: string
  /** The end the badge frames are written to. */
  b: string
  stop(): Promise<void>
}

/** `socat -d -d pty,raw,echo=0 pty,raw,echo=0` with links a and b in `dir` (as devices/readers/testing/pty.ts). */
export async function startSocat(dir: string): Promise<Socat> {
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  rmSync(a, { force: true })
  rmSync(b, { force: true })
  const p = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  track(p)
  let stderr = ''
  p.stderr!.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
  const stop = async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    await exited
    rmSync(a, { force: true })
    rmSync(b, { force: true })
  }
  const deadline = Date.now() + 10_000
  while (!(existsSync(a) && existsSync(b))) {
    if (p.exitCode !== null || p.signalCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`socat did not create ${a} and ${b}:\n${stderr}`)
    }
    await sleep(10)
  }
  return { a, b, stop }
}

/** `n` distinct free loopback ports (bound together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve) => {
          const s = createServer()
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
  return ports
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(what)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
