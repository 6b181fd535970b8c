/**
 * Every error code defined in the code base is listed in docs/operations.md. The codes are read
 * from the catalogue itself (runtime/core/errors.ts `definedCodes()`) after importing every module
 * that calls `define(`, so a code added anywhere fails this test until it is documented.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { definedCodes } from '../runtime/core/errors.ts'
import { ROOT } from './helpers/index.ts'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : []
  })
}

describe('docs/operations.md error codes', () => {
  it('lists every code that runtime/, devices/, dapps/ and provisioning/ define', async () => {
    const definers = ['runtime', 'devices', 'dapps', 'provisioning']
      .flatMap((d) => sources(join(ROOT, d)))
      .filter((f) => /\bdefine\(/.test(readFileSync(f, 'utf8')))
    for (const file of definers) await import(file)
    const codes = [...definedCodes()]
    expect(codes.length).toBeGreaterThan(50)
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')
    const missing = codes.filter((c) => !doc.includes(`\`${c}\``))
    expect(
      missing,
      `add these to docs/operations.md (${definers.map((f) => relative(ROOT, f)).length} files)`,
    ).toEqual([])
  })
})
