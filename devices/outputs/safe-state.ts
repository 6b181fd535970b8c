/**
 * `applySafeStates(outputs)`: every output to its safe state, all at once, none skipped because
 * another failed. At boot it comes before anything else (it opens each output at its safe
 * level); at shutdown before the outputs close; the supervisor runs it after a crash.
 */
import { deviceErrors } from '../../runtime/core/errors/index.ts'
import type { SafeStateful } from './output.ts'

export async function applySafeStates(outputs: Iterable<SafeStateful>): Promise<void> {
  const list = [...outputs]
  const results = await Promise.allSettled(list.map((o) => o.applySafeState()))
  const failed: string[] = []
  const reasons: string[] = []
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      failed.push(list[i]!.name)
      reasons.push(`${list[i]!.name}: ${(r.reason as Error)?.message ?? String(r.reason)}`)
    }
  })
  if (failed.length > 0) throw deviceErrors.DEVICE_SAFE_STATE(failed, reasons)
}
