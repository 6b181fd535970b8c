/** The ledger and site commands as an operator runs them: real processes, real SQLite files. */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { runCli, tmpDir } from './helpers/index.ts'

async function initSite() {
  const dataDir = tmpDir()
  const env = { LATCHKEY_DATA_DIR: dataDir }
  const r = await runCli(['site', 'init', '--name', 'CLI Space'], { env })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return { dataDir, env, site: /created: ([0-9a-f]{64})/.exec(r.stdout)![1]! }
}

describe('latchkey site / ledger commands', () => {
  it('site init creates the genesis and enrols this node; site show lists both keys', async () => {
    const { env, site } = await initSite()
    const show = await runCli(['site', 'show', '--json'], { env })
    expect(show.code).toBe(0)
    const doc = JSON.parse(show.stdout)
    expect(doc).toMatchObject({ site, name: 'CLI Space', records: 2 })
    expect(doc.keys.map((k: { role: string }) => k.role).sort()).toEqual(['admin', 'device'])
  })

  it('site init twice is refused with one sentence, exit 2', async () => {
    const { env, site } = await initSite()
    const again = await runCli(['site', 'init', '--name', 'Again'], { env })
    expect(again.code).toBe(2)
    expect(again.stderr).toBe(
      `latchkey: this node already belongs to site ${site}; a node joins one site for life (use a new data directory)\n`,
    )
  })

  it('ledger verify passes on an intact ledger and names the first altered record', async () => {
    const { dataDir, env } = await initSite()
    expect((await runCli(['ledger', 'verify'], { env })).code).toBe(0)
    const db = new Database(join(dataDir, 'ledger.db'))
    const row = db.prepare('SELECT lower(hex(id)) AS id FROM records WHERE seq = 2').get() as { id: string }
    db.prepare("UPDATE records SET body = x'a0' WHERE seq = 2").run()
    db.close()
    const r = await runCli(['ledger', 'verify'], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`record ${row.id}`)
    expect(r.stderr).toContain('seq 2')
    expect(r.stderr).toContain('hash mismatch')
  })

  it('ledger verify names a record whose signature was replaced', async () => {
    const { dataDir, env } = await initSite()
    const db = new Database(join(dataDir, 'ledger.db'))
    db.prepare('UPDATE records SET sig = zeroblob(64) WHERE seq = 1').run()
    db.close()
    const r = await runCli(['ledger', 'verify', '--json'], { env })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout.split('\n')[0]!)).toMatchObject({
      ok: false,
      problem: { seq: 1, problem: 'signature does not verify' },
    })
  })

  it('ledger export writes a signed file that verifies offline; any altered byte is caught', async () => {
    const { dataDir, env, site } = await initSite()
    const file = join(dataDir, 'site.lkx')
    const ex = await runCli(['ledger', 'export', '--out', file], { env })
    expect(ex.code).toBe(0)
    // Offline: another directory, no ledger, only the file.
    const offline = await runCli(['ledger', 'verify', '--file', file], {
      env: { LATCHKEY_DATA_DIR: tmpDir() },
    })
    expect(offline.code).toBe(0)
    expect(offline.stdout).toContain(`2 records of site ${site} verified`)
    const bytes = readFileSync(file)
    for (const at of [40, Math.floor(bytes.length / 2), bytes.length - 10]) {
      const bad = Buffer.from(bytes)
      bad[at] = bad[at]! ^ 0x01
      const badFile = join(dataDir, `bad-${at}.lkx`)
      writeFileSync(badFile, bad)
      const r = await runCli(['ledger', 'verify', '--file', badFile], { env })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^latchkey: export .* failed verification: /)
    }
    const truncated = join(dataDir, 'short.lkx')
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 5))
    expect((await runCli(['ledger', 'verify', '--file', truncated], { env })).code).toBe(1)
  })

  it('ledger show prints the tail with each record applied or rejected', async () => {
    const { env } = await initSite()
    const r = await runCli(['ledger', 'show', '--json'], { env })
    expect(r.code).toBe(0)
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.type, l.status])).toEqual([
      ['site.genesis', 'applied'],
      ['site.enrol', 'applied'],
    ])
    expect((await runCli(['ledger', 'show', '--limit', 'x'], { env })).code).toBe(2)
  })

  it('ledger commands on a node without a site say how to create one, exit 2', async () => {
    const r = await runCli(['ledger', 'verify'], { env: { LATCHKEY_DATA_DIR: tmpDir() } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('has no site yet; create one with `latchkey site init --name <name>`')
  })
})
