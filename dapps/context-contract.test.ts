/** The door-access test harness (dapps/door-access/testing/harness.ts) against the dapp context contract. */
import { FakeClock } from '../runtime/core/clock.ts'
import { DEVICE } from '../runtime/core/ledger/testing/fixtures.ts'
import { contextContract } from './context-contract.ts'
import { startHarness } from './door-access/testing/harness.ts'

contextContract('door-access test harness', async (dapp) => {
  const clock = new FakeClock(1_000)
  const h = await startHarness({ clock, dapps: [dapp] })
  // The suite makes handlers throw on purpose and reads the log line: those failures are expected.
  const expected = <T>(p: Promise<T>) => p.finally(() => h.failures.splice(0))
  return {
    ctx: h.context(dapp),
    nodeKey: DEVICE.id,
    emitBadge: (e) => expected(h.emit('badge', e)),
    emitInput: (e) => expected(h.emit('input', e)),
    advance: (ms) => expected(h.advance(ms)),
    query: (name, params) => h.query(dapp.name, name, params),
    logs: () => h.logs,
    close: () => h.close(),
  }
})
