/** The dapp contract as the node runs it: loading, failure isolation, queries, events, appends. */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { Dapp } from '../dapps/contract.ts'
import { reject } from '../dapps/contract.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { createLogger } from '../runtime/core/log.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'
import { nodeKey, signedFetch } from './helpers/signed.ts'

function logger() {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk, _e, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  return { log: createLogger({ level: 'debug', destination }), lines }
}

const counter: Dapp = {
  name: 'counter',
  version: '1.2.0',
  types: ['counter.add'],
  records(ctx) {
    ctx.recordType<{ n: number }>('counter.add', {
      validate: (r) =>
        Number.isSafeInteger(r.body?.n) && r.body.n > 0
          ? null
          : reject('counter.BAD_N', 'n must be a positive integer'),
      reduce: (r, state) => state.put('counter/total', (state.get<number>('counter/total') ?? 0) + r.body.n),
    })
  },
  start(ctx) {
    ctx.query('total', (_p, state) => ({ total: state.get<number>('counter/total') ?? 0 }))
    ctx.on('badge', async (b) => {
      await ctx.append('counter.add', { n: b.credential.id.length })
    })
  },
}

const throwsOnStart: Dapp = {
  name: 'broken',
  version: '1.0.0',
  types: [],
  records() {},
  start() {
    throw new Error('boom')
  },
}
const neverReady: Dapp = {
  name: 'sleepy',
  version: '1.0.0',
  types: [],
  startTimeoutMs: 200,
  records() {},
  start: () => new Promise(() => {}),
}
const needsMissing: Dapp = {
  name: 'needy',
  version: '1.0.0',
  types: ['needy.x'],
  dependencies: { membership: '1' },
  records() {},
}

async function startNode(dapps: Dapp[]) {
  const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
  const config = defaultConfig({ env })
  await initSite({ config, log: logger().log, name: 'Dapp Space' })
  const { log, lines } = logger()
  const node = new LatchkeyNode({ config, log, dapps })
  await node.ready()
  return { node, lines, port: node.http!.address!.port }
}

describe('dapp host', () => {
  it('serves a dapp query over HTTP, routes badge events to it, and appends its records with the node key', async () => {
    const { node, port } = await startNode([counter])
    try {
      const url = `http://127.0.0.1:${port}/api/v1/dapps/counter/total`
      const fetch = signedFetch(nodeKey(node.dataDir))
      expect(await (await fetch(url)).json()).toEqual({ total: 0 })
      node.dapps!.badge({
        reader: 'r1',
        credential: { id: 'em:12345', kind: 'em', bits: 32 },
        at: 0,
      })
      await expect.poll(async () => ((await (await fetch(url)).json()) as { total: number }).total).toBe(8)
      const tail = [...node.ledger!.query.records()].at(-1)!
      expect(tail.type).toBe('counter.add')
      expect(Buffer.from(tail.author).toString('hex')).toBe(node.key!.id)
      const missing = await fetch(`http://127.0.0.1:${port}/api/v1/dapps/counter/nope`)
      expect(missing.status).toBe(400)
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('LK_DAPP_QUERY')
    } finally {
      await node.close()
    }
  })

  it('a dapp that throws, never becomes ready, or lacks a dependency is named and left out; the node keeps running', async () => {
    const { node, lines, port } = await startNode([throwsOnStart, neverReady, needsMissing, counter])
    const fetch = signedFetch(nodeKey(node.dataDir))
    try {
      const status = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).json()) as {
        dapps: Array<{ name: string; status: string; error?: string }>
      }
      const byName = Object.fromEntries(status.dapps.map((d) => [d.name, d]))
      expect(byName.broken).toMatchObject({ status: 'failed', error: 'boom' })
      expect(byName.sleepy).toMatchObject({ status: 'failed', error: 'did not become ready within 200 ms' })
      expect(byName.counter).toMatchObject({ status: 'running' })
      expect(node.ledger!.admin.failedDapps.get('needy')).toMatch(
        /needs dapp membership, which is not loaded/,
      )
      expect(byName.needy).toMatchObject({ status: 'failed' })
      expect(
        lines.some((l) => typeof l.msg === 'string' && l.msg.includes('dapp broken failed to start')),
      ).toBe(true)
    } finally {
      await node.close()
    }
  })
})
