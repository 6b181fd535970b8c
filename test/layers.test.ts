/**
 * The house's layers (docs/ARCHITECTURE.md): imports run one way, from the assembly down to the
 * foundation. runtime/core/ imports only node built-ins, npm packages and itself; devices/ adds
 * core; dapps/ adds devices; provisioning/ adds dapps; the assembly (runtime/ outside core) may
 * import them all. A test file may reach anywhere (it is no part of the house it tests); every
 * other file under these folders, test helpers included, keeps to its layer.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

type Layer = 'core' | 'devices' | 'dapps' | 'provisioning' | 'assembly'

/** The layer a repository path stands in; undefined outside the four folders (test/, scripts/, …). */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('runtime/core/')) return 'core'
  if (path.startsWith('runtime/')) return 'assembly'
  if (path.startsWith('devices/')) return 'devices'
  if (path.startsWith('dapps/')) return 'dapps'
  if (path.startsWith('provisioning/')) return 'provisioning'
  return undefined
}

/** What each layer may import besides node built-ins and npm packages. */
const allowed: Record<Layer, readonly Layer[]> = {
  core: ['core'],
  devices: ['core', 'devices'],
  dapps: ['core', 'devices', 'dapps'],
  provisioning: ['core', 'devices', 'dapps', 'provisioning'],
  assembly: ['core', 'devices', 'dapps', 'provisioning', 'assembly'],
}

const isTest = (path: string): boolean => /\.test\.[cm]?[jt]s$/.test(path)

function sources(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) out.push(...sources(path))
    else if (/\.[cm]?[jt]s$/.test(entry.name) && !isTest(path)) out.push(path)
  }
  return out
}

/** Comments out, so an import named in a comment is not taken for one. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

/**
 * The module specifiers a file names: static `import … from`, `export … from`, bare `import '…'`,
 * and `import('…')` / `require('…')` with a string literal.
 */
function specifiers(text: string): string[] {
  const code = stripComments(text)
  const found: string[] = []
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*(['"])([^'"]+)\1/g,
    /(?:^|[\s;])import\s*(['"])([^'"]+)\1/g,
    /\b(?:import|require)\(\s*(['"])([^'"]+)\1\s*\)/g,
  ]
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[2]!)
  return found
}

/** Every import that runs against the layer order, as `file → import`. */
function upwardImports(): string[] {
  const wrong: string[] = []
  for (const file of ['runtime', 'devices', 'dapps', 'provisioning'].flatMap(sources)) {
    const from = layerOf(file)!
    for (const spec of specifiers(readFileSync(join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue // node built-in or npm package
      const target = relative(root, resolve(root, dirname(file), spec))
      // The package's own manifest (its version) is read like an npm package, from any layer.
      if (target === 'package.json') continue
      const to = layerOf(target)
      if (to === undefined || !allowed[from].includes(to))
        wrong.push(`${file} → ${spec} (${from} may not import ${to ?? target})`)
    }
  }
  return wrong
}

describe('layers', () => {
  it('imports run one way: core ← devices ← dapps ← provisioning ← assembly', () => {
    expect(upwardImports()).toEqual([])
  })

  it('reads every layer (an empty scan would pass the rule above)', () => {
    const files = ['runtime', 'devices', 'dapps', 'provisioning'].flatMap(sources)
    for (const layer of Object.keys(allowed)) expect(files.some((f) => layerOf(f) === layer)).toBe(true)
    expect(files).toContain('runtime/core/ledger/checkpoint-worker.cjs')
  })

  it('the import reader sees every form of import', () => {
    const text = [
      "import { a } from './a.ts'",
      "import type { B } from '../b.ts'",
      'import {',
      '  c,',
      "} from './c.ts'",
      "export { d } from './d.ts'",
      "import './e.ts'",
      "const f = await import('./f.ts')",
      "const g = require('./g.cjs')",
      "// import { h } from './h.ts'",
      "/* import { i } from './i.ts' */",
    ].join('\n')
    expect(specifiers(text).sort()).toEqual([
      '../b.ts',
      './a.ts',
      './c.ts',
      './d.ts',
      './e.ts',
      './f.ts',
      './g.cjs',
    ])
  })
})
