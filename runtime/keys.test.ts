import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../test/helpers/index.ts'
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
})
