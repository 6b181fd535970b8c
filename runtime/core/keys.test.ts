import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../../test/helpers/index.ts'
import { errors } from './errors.ts'
import { generateSeed, loadOrCreateKeyFile, readKeyFile, writeKeyFile } from './keys.ts'

describe('key files', () => {
  it('are created with mode 0600 and read back to the same key', () => {
    const file = join(tmpDir(), 'keys', 'node.key')
    const { pair, created } = loadOrCreateKeyFile(file)
    expect(created).toBe(true)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readKeyFile(file).id).toBe(pair.id)
    expect(loadOrCreateKeyFile(file)).toMatchObject({ created: false, pair: { id: pair.id } })
  })

  it('a key readable by others is refused with LK_KEY_PERMISSIONS', () => {
    const file = join(tmpDir(), 'node.key')
    writeKeyFile(file, generateSeed())
    chmodSync(file, 0o644)
    expect(() => readKeyFile(file)).toThrow(expect.objectContaining({ code: errors.KEY_PERMISSIONS.code }))
  })

  it('never overwrites an existing key', () => {
    const file = join(tmpDir(), 'node.key')
    writeKeyFile(file, generateSeed())
    expect(() => writeKeyFile(file, generateSeed())).toThrow(/EEXIST/)
  })

  it('a corrupt key file is refused with LK_KEY_INVALID', () => {
    const file = join(tmpDir(), 'node.key')
    writeFileSync(file, '{"type":"ed25519","seed":"zz"}', { mode: 0o600 })
    expect(() => readKeyFile(file)).toThrow(expect.objectContaining({ code: errors.KEY_INVALID.code }))
  })

  it('a key file that is empty, truncated, garbage or JSON null, or holds a wrong-length seed is LK_KEY_INVALID', () => {
    const dir = tmpDir()
    const good = JSON.stringify({ type: 'ed25519', seed: 'ab'.repeat(32) })
    const bad: Record<string, string> = {
      empty: '',
      blank: '\n',
      truncated: good.slice(0, 30),
      garbage: '\u0000\u00ff binary junk',
      null: 'null',
      number: '42',
      array: '[1,2]',
      'short seed': JSON.stringify({ type: 'ed25519', seed: 'ab'.repeat(31) }),
      'long seed': JSON.stringify({ type: 'ed25519', seed: 'ab'.repeat(33) }),
      'seed not hex': JSON.stringify({ type: 'ed25519', seed: 'zz'.repeat(32) }),
      'wrong type': JSON.stringify({ type: 'rsa', seed: 'ab'.repeat(32) }),
    }
    for (const [name, text] of Object.entries(bad)) {
      const file = join(dir, `${name}.key`)
      writeFileSync(file, text, { mode: 0o600 })
      expect(() => readKeyFile(file), name).toThrow(
        expect.objectContaining({ code: errors.KEY_INVALID.code }),
      )
    }
    const file = join(dir, 'good.key')
    writeFileSync(file, good, { mode: 0o600 })
    expect(readKeyFile(file).id).toMatch(/^[0-9a-f]{64}$/)
  })
})
