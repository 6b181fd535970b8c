/**
 * The whole door path in a real node process: a badge frame written into a pseudo-terminal is
 * read by the RDM6300 driver, decided by door-access from the ledger (member, badge, door
 * records written by an admin), the lock output moves on the sim board, and the access event
 * lands in the ledger.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSimJournal } from '../devices/gpio/index.ts'
import { emFrame } from '../devices/readers/testing/fixtures.ts'
import { startPty } from '../devices/readers/testing/pty.ts'
import { writeRecord } from '../runtime/cli/ledger-client.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { loadConfigFile } from '../runtime/config/load.ts'
import { readKeyFile } from '../runtime/core/keys.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { BIN, hasTool, runCli, spawnTracked, tmpDir } from './helpers/index.ts'

const CARD = 0x00422734 // em:4335412

// Needs socat: skipped only on a developer machine without it. In CI (CI=true) hasTool()
// throws when the tool is missing, so these tests always run there (.ci/run installs it).
describe.runIf(hasTool('socat'))('door path end to end', () => {
  it('badge at the reader → granted → lock pulses → access event in the ledger; unknown badge → denied, lock stays', async () => {
    const dir = tmpDir()
    const pty = await startPty(dir)
    const journal = join(dir, 'board.jsonl')
    const file = join(dir, 'node.yaml')
    writeFileSync(
      file,
      [
        'node: { name: door-1, dataDir: var }',
        'http: { port: 0, publicStatus: full }', // the hardware status read below
        'mqtt: { broker: { port: 0 } }',
        'site: { timeZone: Europe/Berlin }',
        'hardware:',
        '  gpio: sim',
        `  simJournal: ${journal}`,
        '  outputs:',
        '    - { name: front-lock, kind: lock, line: { name: GPIO17 }, pulseMs: 3000 }',
        '  readers:',
        `    - { type: rdm6300, name: front-reader, path: ${pty.a} }`,
        'doors:',
        '  - { name: front, reader: front-reader, lock: front-lock }',
        '',
      ].join('\n'),
    )
    const config = loadConfigFile(file, { env: {} })
    await initSite({ config, log: silentLogger(), name: 'E2E Space' })
    const admin = readKeyFile(join(config.node.dataDir, 'keys', 'admin.key'))
    const offline = { ...config, http: { ...config.http, port: 9 } } // no node yet: write the ledger file
    for (const [type, body] of [
      [
        'membership.put',
        {
          id: 'alice',
          name: 'Alice',
          contact: null,
          status: 'active',
          expires: null,
          groups: ['members'],
          staff: false,
        },
      ],
      ['credentials.bind', { badge: `em:${CARD}`, member: 'alice' }],
      ['door-access.door', { door: 'front', groups: ['members'], schedule: null }],
    ] as const) {
      const w = await writeRecord(offline, admin, type, body)
      expect(w.rejection, type).toBeNull()
    }

    const node = spawnTracked(process.execPath, [BIN, 'run', '--config', file])
    const up = await node.waitForLog((l) => l.msg === 'HTTP API listening')
    await node.waitForLog((l) => l.msg === 'node ready')
    const port = (up.address as { port: number }).port
    const lockLevels = () =>
      readSimJournal(journal).filter((e) => e.line === 'pinctrl-bcm2711:17' && e.pid === node.child.pid)

    const { writeFileSync: write } = await import('node:fs')
    // An unknown badge first: denied, the lock does not move.
    write(pty.b, emFrame(Uint8Array.of(0x1a, 0x00, 0x00, 0x00, 0x07)))
    await expect
      .poll(async () => (await ledgerEvents()).map((e) => e.body.decision), { timeout: 10_000 })
      .toEqual(['denied'])
    expect(lockLevels().every((e) => e.value === 0)).toBe(true)

    // Alice's badge: the lock pulses open, the event says granted.
    write(pty.b, emFrame(Uint8Array.of(0x1a, 0x00, 0x42, 0x27, 0x34)))
    await expect.poll(() => lockLevels().some((e) => e.value === 1), { timeout: 10_000 }).toBe(true)
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).json()) as {
      hardware: {
        outputs: Array<{ name: string; state: string }>
        readers: Array<{ name: string; health: { state: string } }>
      }
    }
    expect(status.hardware.outputs).toEqual([{ name: 'front-lock', kind: 'lock', state: 'unlocked' }])
    expect(status.hardware.readers[0]).toMatchObject({ name: 'front-reader', health: { state: 'ok' } })
    await expect
      .poll(async () => (await ledgerEvents()).map((e) => [e.body.decision, e.body.member ?? null]), {
        timeout: 10_000,
      })
      .toEqual([
        ['denied', null],
        ['granted', 'alice'],
      ])

    node.child.kill('SIGTERM')
    expect((await node.exited).code).toBe(0)
    expect(lockLevels().at(-1)?.value).toBe(0) // back to locked at shutdown
    expect((await runCli(['ledger', 'verify', '--config', file])).code).toBe(0)

    async function ledgerEvents() {
      const r = await runCli(['ledger', 'show', '--json', '--limit', '50', '--config', file])
      return r.stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { type: string; body: { decision: string; member?: string } })
        .filter((e) => e.type === 'door-access.event')
    }
  }, 60_000)
})
