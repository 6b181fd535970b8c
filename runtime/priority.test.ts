import { once } from 'node:events'
import { readdirSync, readlinkSync } from 'node:fs'
import { getPriority } from 'node:os'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { HELPER_NICE, LOWER_THIS_THREAD_JS, lowerHelperThreads } from './priority.ts'

const tasks = () => readdirSync('/proc/self/task').map(Number)
/** The calling thread's nice value. */
const threadNice = () => getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()))

// Threads are tasks with their own nice value on Linux only; elsewhere the module does nothing,
// and the test has nothing to observe.
describe.runIf(process.platform === 'linux')('thread priorities', () => {
  it('a worker started from LOWER_THIS_THREAD_JS lowers itself, from its parent’s priority', async () => {
    const parent = threadNice()
    expect(parent).toBe(getPriority(process.pid)) // vitest runs this file in a process's main thread
    expect(parent).toBeLessThan(HELPER_NICE)
    const w = new Worker(
      `${LOWER_THIS_THREAD_JS}
      const { readlinkSync } = require('node:fs')
      const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
      require('node:worker_threads').parentPort.postMessage(require('node:os').getPriority(tid))`,
      { eval: true },
    )
    const [nice] = await once(w, 'message')
    await w.terminate()
    expect(nice).toBe(HELPER_NICE)
  })

  it('lowers every thread of the process but the main one, which keeps its priority', async () => {
    const main = getPriority(process.pid)
    expect(tasks().some((t) => t !== process.pid && getPriority(t) < HELPER_NICE)).toBe(true)
    const lowered = await lowerHelperThreads()
    expect(lowered).toBeGreaterThan(0)
    expect(getPriority(process.pid)).toBe(main)
    for (const tid of tasks())
      if (tid !== process.pid) expect(getPriority(tid)).toBeGreaterThanOrEqual(HELPER_NICE)
    expect(await lowerHelperThreads()).toBe(0) // nothing left to lower
  })
})
