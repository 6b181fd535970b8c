/**
 * Safe states with a real node process and the sim board (its journal survives the process,
 * as a real board keeps its pins): at boot before anything else, at SIGTERM, and after SIGKILL
 * through the supervisor hook (`latchkey safe-state`) or the next start. The journal is the
 * board's history: it proves no output ever showed an unsafe level during start-up.
 */
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSimJournal, type SimJournalEntry } from '../devices/gpio/index.ts'
import { BIN, runCli, spawnTracked, tmpDir } from './helpers/index.ts'

// Physical levels: a strike (energise = unlock) is locked at 0; a maglock (energise = lock) at 1.
const LINES = {
  'front-door': { line: 'pinctrl-bcm2711:17', safe: 0, unsafe: 1 },
  maglock: { line: 'pinctrl-bcm2711:22', safe: 1, unsafe: 0 },
  'laser-relay': { line: 'pinctrl-bcm2711:27', safe: 0, unsafe: 1 },
} as const

function setup() {
  const dir = tmpDir()
  const journal = join(dir, 'board.jsonl')
  const config = join(dir, 'node.yaml')
  writeFileSync(
    config,
    [
      'node:',
      `  dataDir: ${join(dir, 'var')}`,
      'http: { port: 0, publicStatus: full }', // status of the outputs without a site key
      'mqtt: { broker: { port: 0 } }',
      'hardware:',
      '  gpio: sim',
      `  simJournal: ${journal}`,
      '  outputs:',
      '    - { name: front-door, kind: lock, line: { name: GPIO17 }, fail: secure }',
      '    - { name: maglock, kind: lock, line: { name: GPIO22 }, energise: lock, fail: secure }',
      '    - { name: laser-relay, kind: relay, line: { chip: pinctrl-bcm2711, offset: 27 }, fail: secure }',
      '',
    ].join('\n'),
  )
  return { dir, journal, config }
}

/** What a crashed node left on the board: every output at its unsafe level. */
function leaveUnsafe(journal: string, pid: number) {
  for (const { line, unsafe } of Object.values(LINES)) {
    appendFileSync(
      journal,
      `${JSON.stringify({ line, value: unsafe, op: 'write', pid, wall: Date.now() })}\n`,
    )
  }
}

function lastLevel(entries: SimJournalEntry[], line: string) {
  return entries.filter((e) => e.line === line).at(-1)
}

async function startNode(config: string) {
  const node = spawnTracked(process.execPath, [BIN, 'run', '--config', config])
  await node.waitForLog((l) => l.msg === 'node ready')
  return node
}

describe('outputs reach their safe state', () => {
  it('at boot, before anything else, with no unsafe level ever written during start-up', async () => {
    const { journal, config } = setup()
    leaveUnsafe(journal, 1) // the board as a crashed node left it
    const node = await startNode(config)
    const mine = readSimJournal(journal).filter((e) => e.pid === node.child.pid)
    for (const [name, { line, safe }] of Object.entries(LINES)) {
      const entries = mine.filter((e) => e.line === line)
      expect(entries.length, name).toBeGreaterThan(0)
      expect(entries[0], name).toMatchObject({ op: 'request', value: safe })
      expect(
        entries.every((e) => e.value === safe),
        name,
      ).toBe(true)
    }
    // Outputs were opened before the ledger, broker and HTTP API started.
    const logs = node
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    const safeAt = logs.findIndex((l) => l.msg === 'outputs in their safe state')
    const ledgerAt = logs.findIndex((l) => l.msg === 'ledger open')
    const httpAt = logs.findIndex((l) => l.msg === 'HTTP API listening')
    expect(safeAt).toBeGreaterThanOrEqual(0)
    expect(safeAt).toBeLessThan(ledgerAt)
    expect(safeAt).toBeLessThan(httpAt)
  })

  it('at SIGTERM: every output ends at its safe level, exit 0', async () => {
    const { journal, config } = setup()
    const node = await startNode(config)
    leaveUnsafe(journal, node.child.pid!) // as if the node had unlocked everything
    node.child.kill('SIGTERM')
    expect((await node.exited).code).toBe(0)
    const entries = readSimJournal(journal)
    for (const [name, { line, safe }] of Object.entries(LINES)) {
      expect(lastLevel(entries, line), name).toMatchObject({ value: safe, pid: node.child.pid })
    }
  })

  it('after SIGKILL: the supervisor hook (latchkey safe-state) restores every safe level', async () => {
    const { journal, config } = setup()
    const node = await startNode(config)
    leaveUnsafe(journal, node.child.pid!)
    node.child.kill('SIGKILL')
    expect((await node.exited).signal).toBe('SIGKILL')
    for (const { line, unsafe } of Object.values(LINES))
      expect(lastLevel(readSimJournal(journal), line)?.value).toBe(unsafe)
    const r = await runCli(['safe-state', '--config', config])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('safe state applied to 3 output(s)')
    const entries = readSimJournal(journal)
    for (const [name, { line, safe }] of Object.entries(LINES)) {
      const last = lastLevel(entries, line)!
      expect(last.value, name).toBe(safe)
      expect(last.pid, name).not.toBe(node.child.pid) // written by the supervisor hook's process
    }
  })

  it('after SIGKILL without a supervisor: the next start requests every output at its safe level first', async () => {
    const { journal, config } = setup()
    const first = await startNode(config)
    leaveUnsafe(journal, first.child.pid!)
    first.child.kill('SIGKILL')
    await first.exited
    const second = await startNode(config)
    const mine = readSimJournal(journal).filter((e) => e.pid === second.child.pid)
    for (const [name, { line, safe }] of Object.entries(LINES)) {
      expect(
        mine.find((e) => e.line === line),
        name,
      ).toMatchObject({ op: 'request', value: safe })
      expect(
        mine.filter((e) => e.line === line).every((e) => e.value === safe),
        name,
      ).toBe(true)
    }
  })

  it('status reports each output and its state', async () => {
    const { config } = setup()
    const node = await startNode(config)
    const up = node
      .stdout()
      .split('\n')
      .find((l) => l.includes('HTTP API listening'))!
    const { port } = JSON.parse(up).address
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status`)).json()) as {
      hardware: { gpio: string; outputs: Array<{ name: string; state: string }> }
    }
    expect(body.hardware.gpio).toBe('sim')
    expect(body.hardware.outputs).toEqual([
      { name: 'front-door', kind: 'lock', state: 'locked' },
      { name: 'maglock', kind: 'lock', state: 'locked' },
      { name: 'laser-relay', kind: 'relay', state: 'off' },
    ])
  })
})
