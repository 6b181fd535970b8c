/**
 * Thread priorities: the event loop thread decides at the door, so it runs ahead of the rest of
 * the process. V8's GC helpers, libuv's thread pool and the worker threads (WAL checkpoints,
 * bulk verification) run at nice HELPER_NICE: they still get every core the event loop leaves
 * idle, but on a busy board the scheduler picks the event loop first.
 *
 * Why: while a node catches up, its event loop is busy most of the time and shares the board's
 * cores with those threads. In `npm run bench -- sync`, most late badge decisions were times
 * the event loop had been off the CPU for 3–5 ms (its thread CPU time against wall time), in
 * front of a member at the door. The helpers' share of that could not be told apart from the
 * machine's noise; the order of priorities is the one a door controller wants regardless.
 *
 * Linux only (a thread is a task under /proc/self/task, and setpriority() takes its id);
 * elsewhere nothing changes. Lowering a priority needs no privilege.
 */
import { readdirSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { getPriority, setPriority } from 'node:os'

export const HELPER_NICE = 10

/**
 * Lowers every thread of this process but the main one to `nice` (threads already lower are
 * left alone). Starts libuv's thread pool first, so its threads are there to lower. Returns how
 * many threads were lowered.
 */
export async function lowerHelperThreads(nice = HELPER_NICE): Promise<number> {
  if (process.platform !== 'linux') return 0
  await access('/proc/self/task') // a thread-pool job: the pool's threads now exist
  let lowered = 0
  for (const name of readdirSync('/proc/self/task')) {
    const tid = Number(name)
    if (tid === process.pid) continue
    try {
      if (getPriority(tid) >= nice) continue
      setPriority(tid, nice)
      lowered++
    } catch {
      // The thread ended meanwhile.
    }
  }
  return lowered
}

/**
 * The same, run by a worker thread on itself when it starts (source text, for workers created
 * from a string: `new Worker(source, { eval: true })`).
 */
export const LOWER_THIS_THREAD_JS = `
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())
  if (require('node:os').getPriority(tid) < ${HELPER_NICE}) require('node:os').setPriority(tid, ${HELPER_NICE})
} catch {}
`
