/**
 * CPU placement: the event loop thread decides at the doors, so once a node is started, the other
 * threads of its process (V8's GC and compiler helpers, libuv's thread pool, worker threads: WAL
 * checkpoints, bulk verification) run on all the process's cores but one. The event loop
 * keeps every core; the node's own background work never takes the spare one, so the event loop
 * always finds a core that holds none of it.
 *
 * Why: while a node catches up, its event loop is busy most of the time. On a core shared with
 * other busy threads, the scheduler (Linux's EEVDF, 250 Hz tick on this machine) now and then
 * hands the core to one of them for a whole tick: the event loop sat runnable and off the CPU for
 * 4.0 ms at a time (`perf record -e sched:sched_switch` of `npm run bench -- sync`), in front of a
 * member at the door. Lowering the helpers' priority (nice 10, tried before this) did not stop
 * that, and added waits of its own: the event loop waits for GC helpers at every parallel
 * collection and in pthread_cond_signal when it posts them work, and a helper at nice 10 could be
 * kept off the CPU for a tick. Measured figures: docs/operations.md.
 *
 * The event loop thread's own mask is left whole, so processes it spawns inherit every core.
 *
 * Linux only, and only with two or more allowed cores (the process's mask: a systemd
 * `CPUAffinity=` or a cpuset is honoured). Affinity is set with `taskset` (util-linux, on every
 * Debian and Raspberry Pi OS system): Node has no call for it. Setting the affinity of the
 * process's own threads needs no privilege.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Placement {
  /** The core kept free of helper threads: the highest the process may use. */
  eventLoopCpu: number
  /** The cores every thread but the event loop's runs on. */
  helperCpus: number[]
  /** The cores the event loop thread runs on: all of the process's. */
  allCpus: number[]
}

/** Parses a Linux CPU list ("0-3,6,8-9"). */
export function parseCpuList(list: string): number[] {
  const out: number[] = []
  for (const part of list.trim().split(',')) {
    if (!part) continue
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) throw new Error(`not a CPU list: "${list}"`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    for (let c = lo; c <= hi; c++) out.push(c)
  }
  return out
}

export const formatCpuList = (cpus: readonly number[]): string => cpus.join(',')

/**
 * The cores a task may run on (its affinity mask; by default this process's main thread), or
 * null where that cannot be read.
 */
export function allowedCpus(status = '/proc/self/status'): number[] | null {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(status, 'utf8'))
    return m ? parseCpuList(m[1]!) : null
  } catch {
    return null
  }
}

/** The cores that are online (Linux: /sys/devices/system/cpu/online), or null. */
export function onlineCpus(file = '/sys/devices/system/cpu/online'): number[] | null {
  try {
    return parseCpuList(readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

/**
 * The cores the process can run on: its mask, less the cores that are offline (the mask may
 * name every core the kernel could have: `maxcpus=`, hotplug, a VM's spare slots).
 */
export function usableCpus(allowed: number[] | null, online: number[] | null): number[] | null {
  if (!allowed || !online) return allowed
  const on = new Set(online)
  return allowed.filter((c) => on.has(c))
}

/** Helpers kept off the highest allowed core; null below two cores. */
export function planPlacement(cpus: readonly number[]): Placement | null {
  if (cpus.length < 2) return null
  const sorted = [...cpus].sort((a, b) => a - b)
  return { eventLoopCpu: sorted.at(-1)!, helperCpus: sorted.slice(0, -1), allCpus: sorted }
}

let current: Placement | null = null

/** The placement in force in this process, if isolateEventLoop() set one. */
export const currentPlacement = (): Placement | null => current

export type IsolateResult = { placement: Placement } | { skipped: string }

/**
 * Moves every thread of this process onto the helper cores, then gives the event loop thread its
 * whole mask back (also when the first step failed). Starts libuv's thread pool first, so its
 * threads are there to move. Threads created later inherit the event loop's mask: worker threads
 * move themselves (`helperThreadJs`); a thread a native addon starts later (the epoll addon's
 * watcher, on the first GPIO watch) keeps every core, and mostly sleeps.
 */
export async function isolateEventLoop(): Promise<IsolateResult> {
  if (current) return { placement: current }
  if (process.platform !== 'linux') return { skipped: 'CPU placement is done on Linux only' }
  const cpus = usableCpus(allowedCpus(), onlineCpus())
  const plan = cpus && planPlacement(cpus)
  if (!plan) return { skipped: `the process may use ${cpus?.length ?? 'an unknown number of'} core(s)` }
  await access('/proc/self/task') // a thread-pool job: the pool's threads now exist
  const pid = String(process.pid)
  const moveAll = () => run('taskset', ['-a', '-p', '-c', formatCpuList(plan.helperCpus), pid])
  let failed: string | null = null
  try {
    // taskset stops at the first thread it cannot move (one that ended meanwhile): once more.
    await moveAll().catch(moveAll)
  } catch (err) {
    failed = tasksetError(err)
  }
  try {
    // Whatever happened above, the event loop thread gets every core back.
    await run('taskset', ['-p', '-c', formatCpuList(plan.allCpus), pid])
  } catch (err) {
    failed ??= tasksetError(err)
  }
  if (failed) return { skipped: failed }
  current = plan
  return { placement: plan }
}

function tasksetError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string }
  return e.code === 'ENOENT'
    ? 'taskset (util-linux) is not installed'
    : `taskset failed: ${e.stderr || e.message}`
}

/**
 * Source text a worker thread created from a string runs first (`new Worker(src, { eval: true })`):
 * it moves the worker onto the helper cores. Empty while no placement is in force (the worker then
 * inherits the process's mask, and a later isolateEventLoop() moves it with the rest).
 */
export function helperThreadJs(): string {
  if (!current) return ''
  return `
try {
  const tid = process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self').split('/').pop()
  process.getBuiltinModule('node:child_process').execFileSync('taskset', ['-p', '-c', ${JSON.stringify(formatCpuList(current.helperCpus))}, tid], { stdio: 'ignore' })
} catch {}
`
}
