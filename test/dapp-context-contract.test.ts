/** The node's dapp host (runtime/dapps.ts) against the dapp context contract, on a real ledger and a fake clock. */
import { Writable } from 'node:stream'
import { onTestFinished } from 'vitest'
import { contextContract } from '../dapps/context-contract.ts'
import type { DappRuntimeContext } from '../dapps/contract.ts'
import { ledgerDapp } from '../dapps/contract.ts'
import { FakeClock } from '../runtime/core/clock.ts'
import { DEVICE, openTestLedger, provision } from '../runtime/core/ledger/testing/fixtures.ts'
import { createLogger } from '../runtime/core/log.ts'
import { DappHost } from '../runtime/dapps.ts'

/** Lets handlers the host started a microtask later (and what they awaited) finish. */
async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r))
}

contextContract('DappHost (real ledger, fake clock)', async (dapp) => {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  const ledger = await openTestLedger({ dapps: [ledgerDapp(dapp)] })
  onTestFinished(() => ledger.close())
  await provision(ledger)
  const clock = new FakeClock(1_000)
  let ctx: DappRuntimeContext | null = null
  const host = new DappHost({
    dapps: [
      {
        ...dapp,
        start: (c) => {
          ctx = c
        },
      },
    ],
    ledger,
    hardware: null,
    key: () => DEVICE,
    log: createLogger({ level: 'debug', destination }),
    clock,
  })
  await host.ready()
  if (!ctx) throw new Error(`the host did not start ${dapp.name}`)
  return {
    ctx,
    nodeKey: DEVICE.id,
    emitBadge: async (e) => {
      host.badge(e)
      await flush()
    },
    emitInput: async (e) => {
      host.events.emit('input', e)
      await flush()
    },
    advance: async (ms) => {
      clock.advance(ms)
      await flush()
    },
    query: (name, params) => host.query(dapp.name, name, params),
    logs: () => lines,
    close: () => host.close(),
  }
})
