import { afterAll, beforeAll, it } from 'vitest'
import { afterMerge } from './cases.ts'
import { type Shared, startShared, status } from './harness.ts'

let s: Shared
beforeAll(async () => {
  s = await startShared()
}, 20_000)
afterAll(async () => {
  await s?.close()
})
for (const c of afterMerge)
  it(c.name, async () => {
    const before = await status(s)
    let got: unknown
    try {
      got = await c.run(s)
    } catch (e) {
      got = `THREW ${(e as Error).name}: ${(e as Error).message.slice(0, 100)}`
    }
    const after = await status(s)
    console.log(
      `[${c.pending}] ${c.name} → ${JSON.stringify(got).slice(0, 300)} | expect ${JSON.stringify(c.expect)} | same state: ${before.stateHash === after.stateHash && before.records === after.records}`,
    )
  })
