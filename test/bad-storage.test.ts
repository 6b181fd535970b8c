/**
 * A damaged ledger file is refused with its own code and a sentence, never a stack trace and
 * never a silently new site: through the Ledger, every CLI command that opens it, and node start.
 */
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../runtime/cli/main.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { isLatchkeyError } from '../runtime/core/errors.ts'
import { Ledger } from '../runtime/core/ledger/ledger.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { BIN, spawnTracked, tmpDir } from './helpers/index.ts'

async function siteDir() {
  const dir = tmpDir()
  // Port 1: no node answers, so commands use the ledger file.
  const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1', LATCHKEY_MQTT_PORT: '0' }
  const config = defaultConfig({ env, cwd: dir })
  await initSite({ config, log: silentLogger(), name: 'Damaged Space' })
  return { dir, env, file: join(dir, 'ledger.db') }
}

/** Runs a CLI command in this process; resolves to the catalogued code it ended with, if any. */
async function cli(env: NodeJS.ProcessEnv, dir: string, ...args: string[]) {
  let out = ''
  let err = ''
  const program = buildProgram({
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    env,
    cwd: dir,
  })
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} })
    for (const sub of c.commands) quiet(sub)
  }
  quiet(program)
  try {
    await program.parseAsync(args, { from: 'user' })
    return { code: undefined, out, err }
  } catch (e) {
    if (!isLatchkeyError(e)) throw e
    return { code: e.code, out, err }
  }
}

async function openCode(file: string): Promise<string | undefined> {
  const ledger = new Ledger({ file, log: silentLogger() })
  try {
    await ledger.ready()
    return undefined
  } catch (err) {
    if (!isLatchkeyError(err)) throw err
    return err.code
  } finally {
    await ledger.close().catch(() => {})
  }
}

/** Every command that opens the ledger, each as an operator would type it. */
const READERS: string[][] = [
  ['member', 'list'],
  ['cert', 'list'],
  ['ledger', 'verify'],
  ['ledger', 'show'],
  ['site', 'show'],
  ['site', 'init', '--name', 'Again'],
]

describe('a damaged ledger file', () => {
  it('a truncated ledger.db is refused (LK_LEDGER_CORRUPT) by the ledger and every CLI command', async () => {
    const { dir, env, file } = await siteDir()
    truncateSync(file, Math.floor(statSync(file).size / 2))
    expect(await openCode(file)).toBe('LK_LEDGER_CORRUPT')
    for (const args of READERS) {
      const r = await cli(env, dir, ...args)
      expect(r.code, args.join(' ')).toBe('LK_LEDGER_CORRUPT')
    }
  })

  it('a garbage ledger.db is refused (LK_LEDGER_CORRUPT), never answered with "create a site"', async () => {
    const { dir, env, file } = await siteDir()
    writeFileSync(file, Buffer.alloc(64 * 1024, 'not a database '))
    expect(await openCode(file)).toBe('LK_LEDGER_CORRUPT')
    for (const args of READERS)
      expect((await cli(env, dir, ...args)).code, args.join(' ')).toBe('LK_LEDGER_CORRUPT')
  })

  it('a ledger.db with a damaged first page is refused (LK_LEDGER_CORRUPT)', async () => {
    const { file } = await siteDir()
    // Keep the 100-byte header, overwrite the schema table that follows it on page 1.
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.alloc(4000, 0xa5), 0, 4000, 100)
    closeSync(fd)
    expect(await openCode(file)).toBe('LK_LEDGER_CORRUPT')
  })

  it('a 0-byte ledger.db is refused (LK_LEDGER_EMPTY), not started as a node with no site', async () => {
    const { dir, env, file } = await siteDir()
    writeFileSync(file, '')
    expect(await openCode(file)).toBe('LK_LEDGER_EMPTY')
    for (const args of READERS)
      expect((await cli(env, dir, ...args)).code, args.join(' ')).toBe('LK_LEDGER_EMPTY')
    expect(statSync(file).size).toBe(0) // nothing was written into it
  })

  it('doctor names a damaged ledger as a failed check (exit 1)', async () => {
    const { dir, env, file } = await siteDir()
    expect((await cli(env, dir, 'doctor', '--json')).out).toContain('"name":"ledger","verdict":"ok"')
    writeFileSync(file, '')
    const r = await cli(env, dir, 'doctor', '--json')
    const ledger = (JSON.parse(r.out) as { checks: Array<{ name: string; verdict: string }> }).checks.find(
      (c) => c.name === 'ledger',
    )
    expect(ledger?.verdict).toBe('fail')
  })

  it('a ledger.db that does not exist is still created (a new node)', async () => {
    expect(await openCode(join(tmpDir(), 'ledger.db'))).toBeUndefined()
  })

  it('node start on a truncated ledger exits 1 with one sentence, no stack trace', async () => {
    const { env, file } = await siteDir()
    truncateSync(file, Math.floor(statSync(file).size / 2))
    const p = spawnTracked(process.execPath, [BIN, 'run'], { env: { ...env, LATCHKEY_HTTP_PORT: '0' } })
    const { code } = await p.exited
    expect(code).toBe(1)
    expect(p.stderr()).toContain(`ledger file ${file} is damaged`)
    expect(p.stderr()).not.toMatch(/\n\s+at /)
    expect(readFileSync(file).length).toBe(statSync(file).size)
  })

  it('node start on a 0-byte ledger exits 1 naming the empty file, no stack trace', async () => {
    const { env, file } = await siteDir()
    writeFileSync(file, '')
    const p = spawnTracked(process.execPath, [BIN, 'run'], { env: { ...env, LATCHKEY_HTTP_PORT: '0' } })
    const { code } = await p.exited
    expect(code).toBe(1)
    expect(p.stderr()).toContain(`ledger file ${file} is empty`)
    expect(p.stderr()).not.toMatch(/\n\s+at /)
    expect(statSync(file).size).toBe(0)
  })
})

describe('a damaged key file', () => {
  it("node start with a garbage node key exits 1 with LK_KEY_INVALID's sentence, no stack trace", async () => {
    const { env, dir } = await siteDir()
    const key = join(dir, 'keys', 'node.key')
    writeFileSync(key, 'null', { mode: 0o600 })
    const p = spawnTracked(process.execPath, [BIN, 'run'], { env: { ...env, LATCHKEY_HTTP_PORT: '0' } })
    const { code } = await p.exited
    expect(code).toBe(1)
    expect(p.stderr()).toContain(`key file ${key} is not a usable Ed25519 key`)
    expect(p.stderr()).not.toMatch(/\n\s+at /)
  })

  it('a CLI command that signs with an empty key file reports LK_KEY_INVALID', async () => {
    const { env, dir } = await siteDir()
    writeFileSync(join(dir, 'keys', 'node.key'), '', { mode: 0o600 })
    writeFileSync(join(dir, 'keys', 'admin.key'), '{"type":"ed25519","se', { mode: 0o600 })
    expect((await cli(env, dir, 'ledger', 'export', '-o', join(dir, 'x.export'))).code).toBe('LK_KEY_INVALID')
    expect((await cli(env, dir, 'member', 'add', 'alice', '--name', 'Alice')).code).toBe('LK_KEY_INVALID')
  })
})
