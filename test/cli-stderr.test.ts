/** CLI warnings and logs go to stderr: stdout carries only what the command prints (JSON, CSV). */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { runCli, tmpDir } from './helpers/index.ts'

describe('CLI output streams', () => {
  it('a ledger warning at open goes to stderr; `site show --json` and `member export` keep stdout clean', async () => {
    const dir = tmpDir()
    const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
    await initSite({ config: defaultConfig({ env, cwd: dir }), log: silentLogger(), name: 'Streams Space' })
    // A saved state hash that does not match: the ledger warns when it opens.
    const db = new Database(join(dir, 'ledger.db'))
    db.prepare("UPDATE meta SET value = 'not-the-hash' WHERE key = 'state_hash'").run()
    db.close()

    const show = await runCli(['site', 'show', '--json'], { env })
    expect(show.code).toBe(0)
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'Streams Space' })
    expect(show.stderr).toContain('materialized state does not match its hash')

    const exported = await runCli(['member', 'export'], { env })
    expect(exported.code).toBe(0)
    expect(exported.stdout).not.toContain('"level"')
    expect(exported.stderr).toContain('materialized state does not match its hash')
  })
})
