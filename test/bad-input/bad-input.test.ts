/**
 * Bad input gets a clear error and loses nothing: every case of ./cases.ts against one running
 * node. A case passes when it got its stable code (and exit code or HTTP status), the CLI said
 * one sentence without a stack, the node still answers `GET /api/v1/status` with the same record
 * count and state hash, and every file the case guarded still holds the same bytes.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/index.ts'
import { afterMerge, type BadInput, type Category, casesWith, running } from './cases.ts'
import { type Shared, sha256, startShared, status } from './harness.ts'

let s: Shared

beforeAll(async () => {
  s = await startShared()
}, 20_000)

afterAll(async () => {
  await s?.close()
})

const categories: readonly Category[] = [
  'cli',
  'config',
  'csv',
  'http',
  'mqtt',
  'ledger',
  'export',
  'credential',
  'key',
]

async function check(c: BadInput): Promise<void> {
  const before = await status(s)
  s.guarded.clear()
  const got = await c.run(s)
  const picked = Object.fromEntries(Object.keys(c.expect).map((k) => [k, got[k as keyof typeof got]]))
  expect(picked).toEqual(c.expect)
  if ('stderr' in got && c.oneLine !== false) {
    const stderr = String(got.stderr)
    const lines = stderr.split('\n').filter((l) => l.trim() !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^latchkey: /)
    expect(stderr).not.toMatch(/\n\s+at /)
  }
  const after = await status(s)
  expect({ records: after.records, stateHash: after.stateHash }).toEqual({
    records: before.records,
    stateHash: before.stateHash,
  })
  for (const [path, hash] of s.guarded) expect({ path, hash: sha256(path) }).toEqual({ path, hash })
}

describe('bad input gets a clear error and loses nothing', () => {
  it('the catalogue holds at least 50 running cases and 90 in all, each name once per table and category', () => {
    expect(running.length).toBeGreaterThanOrEqual(50)
    expect(running.length + afterMerge.length).toBeGreaterThanOrEqual(90)
    for (const table of [running, afterMerge])
      for (const category of categories) {
        const names = table.filter((c) => c.category === category).map((c) => c.name)
        expect(new Set(names).size).toBe(names.length)
      }
    expect(running.every((c) => c.pending === undefined)).toBe(true)
    expect(afterMerge.every((c) => c.pending !== undefined)).toBe(true)
    // With every branch merged, every afterMerge case runs.
    const all = casesWith(['auth', 'seqrules', 'storage']).map((c) => `${c.category}: ${c.name}`)
    for (const c of afterMerge) expect(all).toContain(`${c.category}: ${c.name}`)
  })

  it('every code a running case asserts is in the error-code list of docs/operations.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')
    const codes = new Set(running.map((c) => c.expect.code).filter((c) => c.startsWith('LK_')))
    expect([...codes].filter((code) => !doc.includes(`\`${code}\``))).toEqual([])
  })

  for (const category of categories) {
    const cases = running.filter((c) => c.category === category)
    if (cases.length === 0) continue
    describe(category, () => {
      for (const c of cases) it(c.name, () => check(c))
    })
  }
})
