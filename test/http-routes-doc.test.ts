/** docs/PROTOCOL.md lists every HTTP route the node serves, and only those. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { builtinDapps } from '../dapps/index.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { createLogger } from '../runtime/core/log.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { ROOT, tmpDir } from './helpers/index.ts'

const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) })

function documentedRoutes(): string[] {
  const doc = readFileSync(join(ROOT, 'docs', 'PROTOCOL.md'), 'utf8')
  const section = doc.slice(doc.indexOf('## HTTP API and authentication'))
  const table = section.slice(section.indexOf('**Routes.**'))
  return [...table.matchAll(/^\| (GET|POST) \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`)
}

describe('HTTP routes documentation', () => {
  it('every route the node registers is in the PROTOCOL.md route table, and vice versa', async () => {
    const env = { LATCHKEY_DATA_DIR: tmpDir(), LATCHKEY_HTTP_PORT: '0', LATCHKEY_MQTT_PORT: '0' }
    const node = new LatchkeyNode({ config: defaultConfig({ env }), log: quiet(), dapps: builtinDapps })
    await node.ready()
    try {
      const served = node.http!.routes().map((r) => `${r.method} ${r.url}`)
      const documented = documentedRoutes()
      expect(documented.length).toBeGreaterThan(0)
      expect([...served].sort()).toEqual([...documented].sort())
      // The public routes are exactly liveness, status and the bootstrap.
      expect(
        node
          .http!.routes()
          .filter((r) => r.access === 'public')
          .map((r) => `${r.method} ${r.url}`)
          .sort(),
      ).toEqual(['GET /api/v1/status', 'GET /healthz', 'POST /api/v1/site/genesis'])
    } finally {
      await node.close()
    }
  })
})
