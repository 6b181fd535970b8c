/**
 * `ledger verify --file` on a malformed export: every kind of damage is LK_LEDGER_INVALID with a
 * sentence and exit 1, never a stack trace.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { main } from '../runtime/cli/main.ts'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { verifyExportFile } from '../runtime/core/ledger/export.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { runCli, tmpDir } from './helpers/index.ts'

const MAGIC = Buffer.from('LATCHKEY-EXPORT\n')
const RULES = { dapps: builtinDapps.map(ledgerDapp), log: silentLogger() }

function frame(bytes: Uint8Array): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(bytes.length)
  return Buffer.concat([len, bytes])
}

async function exported() {
  const dir = tmpDir()
  const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
  await initSite({ config: defaultConfig({ env, cwd: dir }), log: silentLogger(), name: 'Export Space' })
  const file = join(dir, 'site.export')
  const r = await cli(env, dir, 'ledger', 'export', '-o', file)
  expect(r.code).toBe(0)
  return { dir, env, file, bytes: readFileSync(file) }
}

async function cli(env: NodeJS.ProcessEnv, dir: string, ...args: string[]) {
  let err = ''
  const code = await main(args, {
    out: () => {},
    err: (t) => {
      err += t
    },
    env,
    cwd: dir,
  })
  return { code, err }
}

/** Each damage, made from a good export's bytes. */
const DAMAGES: Record<string, (good: Buffer) => Buffer> = {
  'an empty file': () => Buffer.alloc(0),
  'a bad magic': (good) => Buffer.concat([Buffer.from('NOT-AN-EXPORT!!\n'), good.subarray(MAGIC.length)]),
  'garbage bytes': () => Buffer.alloc(5000, 0x5a),
  'a truncated frame': (good) => good.subarray(0, good.length - 7),
  'a truncated length prefix': (good) => Buffer.concat([good, Buffer.from([0, 0])]),
  'an oversize length prefix': (good) => Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff, 0xff])]),
  'a garbage trailer': (good) => {
    // Drop the real trailer (the last frame), append a frame of garbage bytes in its place.
    const len = trailerLength(good)
    return Buffer.concat([good.subarray(0, good.length - len), frame(Buffer.alloc(40, 0xee))])
  },
  'a trailer of the wrong shape': (good) => {
    const len = trailerLength(good)
    return Buffer.concat([good.subarray(0, good.length - len), frame(dagCbor.encode({ count: 'two' }))])
  },
  'a CBOR null header': () =>
    Buffer.concat([MAGIC, frame(dagCbor.encode(null)), frame(dagCbor.encode(null))]),
}

/** Bytes of the last frame (length prefix included). */
function trailerLength(good: Buffer): number {
  let at = MAGIC.length
  let last = 0
  while (at < good.length) {
    last = 4 + good.readUInt32BE(at)
    at += last
  }
  return last
}

describe('a malformed export', () => {
  for (const [name, damage] of Object.entries(DAMAGES)) {
    it(`an export with ${name} is LK_LEDGER_INVALID with a sentence, exit 1`, async () => {
      const { dir, env, file, bytes } = await exported()
      expect((await verifyExportFile(file, RULES)).ok).toBe(true)
      writeFileSync(file, damage(bytes))
      const v = await verifyExportFile(file, RULES)
      expect(v.ok).toBe(false)
      expect(v.problem?.problem).toMatch(/\w/)
      const r = await cli(env, dir, 'ledger', 'verify', '--file', file)
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/^latchkey: export .* failed verification: /)
    })
  }

  it('an export with a garbage trailer exits 1 without a stack trace (real process)', async () => {
    const { env, file, bytes } = await exported()
    writeFileSync(file, DAMAGES['a garbage trailer']!(bytes))
    const r = await runCli(['ledger', 'verify', '--file', file], { env })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
