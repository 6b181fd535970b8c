import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { hasTool } from '../../test/helpers/index.ts'
import { allowedCpus, formatCpuList, parseCpuList, planPlacement, usableCpus } from './placement.ts'

describe('CPU lists', () => {
  it('parses ranges and single cores, and formats them back', () => {
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9])
    expect(parseCpuList('5')).toEqual([5])
    expect(formatCpuList([0, 2, 3])).toBe('0,2,3')
    expect(() => parseCpuList('0-x')).toThrow('not a CPU list: "0-x"')
  })

  it('keeps helpers off the highest core; no placement below two cores', () => {
    expect(planPlacement([3, 1, 2])).toEqual({ eventLoopCpu: 3, helperCpus: [1, 2], allCpus: [1, 2, 3] })
    expect(planPlacement([0])).toBeNull()
    expect(planPlacement([])).toBeNull()
  })

  it('leaves offline cores out of the mask (a mask may name cores that are not online)', () => {
    expect(usableCpus([0, 1, 2, 3], [0, 1])).toEqual([0, 1])
    expect(planPlacement(usableCpus([0, 1, 2, 3], [0, 1])!)).toMatchObject({
      eventLoopCpu: 1,
      helperCpus: [0],
    })
    expect(usableCpus([0, 1], null)).toEqual([0, 1]) // online list unreadable: the mask as it is
    expect(usableCpus(null, [0, 1])).toBeNull()
  })
})

/**
 * A child process places its threads (as a node does once started), then starts a worker with
 * helperThreadJs() and prints every thread's mask. In a child so the test runner's own threads
 * keep theirs.
 */
const CHILD = `
import { readdirSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import { allowedCpus, helperThreadJs, isolateEventLoop } from ${JSON.stringify(new URL('./placement.ts', import.meta.url).href)}
const result = await isolateEventLoop()
// The worker stays alive (listening) until terminated, so its mask can be read.
const w = new Worker(helperThreadJs() + "const { parentPort } = process.getBuiltinModule('node:worker_threads'); parentPort.on('message', () => {}); parentPort.postMessage(process.getBuiltinModule('node:fs').readlinkSync('/proc/thread-self').split('/').pop())", { eval: true })
const [workerTid] = await once(w, 'message')
const read = () => {
  const masks = {}
  for (const tid of readdirSync('/proc/self/task')) masks[tid] = allowedCpus('/proc/self/task/' + tid + '/status')
  return masks
}
const masks = read()
await w.terminate()
const again = await isolateEventLoop()
process.stdout.write(JSON.stringify({ result, pid: process.pid, workerTid, masks, again, mainAfter: read()[process.pid] }))
`

// Threads have their own CPU masks on Linux only (elsewhere the module places nothing), a
// placement needs two cores the process may use (on a one-core runner there is nothing to place),
// and it is set with taskset (CI installs util-linux's, and fails if it is missing).
const cores = allowedCpus()?.length ?? 0
describe.runIf(process.platform === 'linux' && cores >= 2 && hasTool('taskset'))(
  'placement of a process’s threads',
  () => {
    it('moves every thread but the event loop’s off the highest core; workers move themselves', () => {
      const out = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8' }),
      ) as {
        result: { placement: { eventLoopCpu: number; helperCpus: number[]; allCpus: number[] } }
        pid: number
        workerTid: string
        masks: Record<string, number[]>
        again: unknown
        mainAfter: number[]
      }
      const all = allowedCpus()!
      const { placement } = out.result
      expect(placement.allCpus).toEqual(all)
      expect(placement.eventLoopCpu).toBe(Math.max(...all))
      expect(placement.helperCpus).toEqual(all.filter((c) => c !== placement.eventLoopCpu))
      const tids = Object.keys(out.masks)
      expect(tids.length).toBeGreaterThan(4) // V8's helpers and libuv's pool, at least
      expect(out.masks[String(out.pid)]).toEqual(all) // the event loop keeps every core
      expect(out.masks[out.workerTid]).toEqual(placement.helperCpus) // a worker started later
      for (const tid of tids) {
        // null: a thread that ended between listing and reading
        if (tid !== String(out.pid) && out.masks[tid]) expect(out.masks[tid]).toEqual(placement.helperCpus)
      }
      expect(out.again).toEqual(out.result) // a second call changes nothing
      expect(out.mainAfter).toEqual(all)
    })
  },
)
