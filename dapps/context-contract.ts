/**
 * The dapp runtime context contract suite (after aedes-persistence's abstract.js): what every
 * implementation of `DappRuntimeContext` (dapps/contract.ts) promises a dapp. `make(dapp)` runs
 * inside each test: it loads `dapp` (PROBE) on an enrolled device node with a fake clock and
 * hands back the context that dapp was given, plus the node seen from outside. Implementations:
 * the node's DappHost (test/dapp-context-contract.test.ts) and the door-access test harness.
 */
import { describe, expect, it, onTestFinished } from 'vitest'
import { type BadgeEvent, type Dapp, type DappRuntimeContext, type InputEvent, reject } from './contract.ts'

export interface ContextHarness {
  /** The context `dapp` got when it started. */
  ctx: DappRuntimeContext
  /** This node's key (hex); the node is enrolled as a device. */
  nodeKey: string
  /** Hands a hardware event to the running dapps; resolves once their handlers have run. */
  emitBadge(e: BadgeEvent): Promise<void>
  emitInput(e: InputEvent): Promise<void>
  /** Moves the context's clock and lets what it fired run. */
  advance(ms: number): Promise<void>
  /** Calls a query the dapp registered, as the node's API does. */
  query(name: string, params: Record<string, string>): unknown
  /** Log lines written so far, parsed. */
  logs(): Array<Record<string, unknown>>
  /** Stops the dapp (and the node under it). Idempotent. */
  close(): Promise<void>
}

/** The dapp the suite runs: `probe.put` {k, v} sets probe/<k> = v. */
export const PROBE: Dapp = {
  name: 'probe',
  version: '1.0.0',
  types: ['probe.put'],
  records(ctx) {
    ctx.recordType<{ k: string; v: number }>('probe.put', {
      validate: (r) =>
        typeof r.body?.k === 'string' && Number.isSafeInteger(r.body.v)
          ? null
          : reject('probe.BAD_BODY', 'expected {k, v}'),
      reduce: (r, state) => state.put(`probe/${r.body.k}`, r.body.v),
    })
  },
}

const badge = (id: string, at = 0): BadgeEvent => ({
  reader: 'front',
  credential: { id, kind: 'em', bits: 32 },
  at,
})

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  return 'resolved'
}

export function contextContract(name: string, make: (dapp: Dapp) => Promise<ContextHarness>): void {
  async function open(): Promise<ContextHarness> {
    const h = await make(PROBE)
    onTestFinished(() => h.close())
    return h
  }

  describe(`dapp context contract: ${name}`, () => {
    it('append of an owned type resolves with the record, signed by this node, and lands in state', async () => {
      const { ctx, nodeKey } = await open()
      const { record, rejection } = await ctx.append('probe.put', { k: 'a', v: 7 })
      expect(rejection).toBeNull()
      expect(record.type).toBe('probe.put')
      expect(Buffer.from(record.author).toString('hex')).toBe(nodeKey)
      expect(ctx.state.get('probe/a')).toBe(7)
    })

    it('append of a type the dapp does not own rejects with LK_DAPP_NOT_OWNER', async () => {
      const { ctx } = await open()
      expect(await code(ctx.append('site.enrol', { key: 'x', role: 'admin' }))).toBe('LK_DAPP_NOT_OWNER')
    })

    it("on('badge') and on('input') handlers receive the events emitted to the node, in order", async () => {
      const h = await open()
      const seen: string[] = []
      h.ctx.on('badge', (e) => void seen.push(e.credential.id))
      h.ctx.on('input', (e) => void seen.push(`${e.name}=${e.value}`))
      await h.emitBadge(badge('em:1'))
      await h.emitInput({ name: 'door', kind: 'door-contact', value: 1, at: 0 })
      await h.emitBadge(badge('em:2'))
      expect(seen).toEqual(['em:1', 'door=1', 'em:2'])
    })

    it('a handler that throws is logged and does not stop later events', async () => {
      const h = await open()
      const seen: string[] = []
      h.ctx.on('badge', async (e) => {
        if (e.credential.id === 'em:1') throw new Error('boom')
        seen.push(e.credential.id)
      })
      await h.emitBadge(badge('em:1'))
      await h.emitBadge(badge('em:2'))
      expect(seen).toEqual(['em:2'])
      expect(h.logs().filter((l) => l.level === 'error' && l.dapp === 'probe')).toHaveLength(1)
    })

    it('every(ms) runs on the context clock, and a throwing tick does not stop the next', async () => {
      const h = await open()
      let ticks = 0
      h.ctx.every(1_000, () => {
        ticks++
        if (ticks === 1) throw new Error('the first tick fails')
      })
      await h.advance(999)
      expect(ticks).toBe(0)
      await h.advance(1)
      expect(ticks).toBe(1)
      await h.advance(2_000)
      expect(ticks).toBe(3)
      expect(h.logs().filter((l) => l.level === 'error' && l.dapp === 'probe')).toHaveLength(1)
    })

    it('every(ms) stops when the dapp stops', async () => {
      const h = await open()
      let ticks = 0
      h.ctx.every(1_000, () => void ticks++)
      await h.advance(1_000)
      await h.close()
      await h.advance(5_000)
      expect(ticks).toBe(1)
    })

    it('query registers a handler the node answers over the current state', async () => {
      const h = await open()
      h.ctx.query('value', (params, state) => ({ v: state.get(`probe/${params.k}`) ?? null }))
      expect(h.query('value', { k: 'b' })).toEqual({ v: null })
      await h.ctx.append('probe.put', { k: 'b', v: 3 })
      expect(h.query('value', { k: 'b' })).toEqual({ v: 3 })
    })

    it("node reports this node's key and its role in the site", async () => {
      const h = await open()
      expect(h.ctx.node).toEqual({ key: h.nodeKey, role: 'device' })
    })
  })
}
