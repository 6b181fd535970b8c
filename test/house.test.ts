/**
 * The house's size limits (docs/ARCHITECTURE.md, STYLE.md "Avoid what `class Ledger` became"):
 * no product file over 500 lines, no class with more than 25 members, and the sync engine reaches
 * into the ledger through at most 6 of its members. Product files are the git-tracked .ts/.js
 * files under runtime/, devices/, dapps/, provisioning/ and bin/, but for tests and test fixtures
 * (`*.test.ts`, anything in a `testing/` folder, `testing.ts`, `test-support.ts`, and any file
 * that imports vitest, such as a shared contract suite). Each failure lists every offender.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/index.ts'

const MAX_LINES = 500
const MAX_MEMBERS = 25
const MAX_LEDGER_MEMBERS = 6
const PRODUCT = ['runtime', 'devices', 'dapps', 'provisioning', 'bin']

function isTestCode(path: string, text: string): boolean {
  if (/\.test\.[cm]?[jt]s$/.test(path)) return true
  if (path.split('/').includes('testing')) return true
  if (['testing.ts', 'test-support.ts'].includes(basename(path))) return true
  return /\bfrom\s+['"]vitest['"]/.test(text)
}

interface Source {
  path: string
  text: string
  ast: ts.SourceFile
}

function productSources(): Source[] {
  const tracked = execFileSync('git', ['ls-files', '-z', '--', ...PRODUCT], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((p) => /\.[cm]?[jt]s$/.test(p) && !p.endsWith('.d.ts'))
  const out: Source[] = []
  for (const path of tracked) {
    const text = readFileSync(join(ROOT, path), 'utf8')
    if (isTestCode(path, text)) continue
    const kind = /\.[cm]?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS
    out.push({ path, text, ast: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind) })
  }
  return out
}

function lineCount(text: string): number {
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length
}

function visit(node: ts.Node, f: (n: ts.Node) => void): void {
  f(node)
  ts.forEachChild(node, (child) => visit(child, f))
}

/** Members of a class: its elements but constructors and stray semicolons. */
function classMembers(c: ts.ClassLikeDeclaration): number {
  return c.members.filter((m) => !ts.isConstructorDeclaration(m) && !ts.isSemicolonClassElement(m)).length
}

/** `ledger.x`, `this.#ledger.x`, `opts.ledger.x`: the `x`s of property accesses on a ledger. */
function ledgerMembers(ast: ts.SourceFile): string[] {
  const names: string[] = []
  visit(ast, (n) => {
    if (!ts.isPropertyAccessExpression(n)) return
    const target = n.expression
    const named = ts.isIdentifier(target)
      ? target.text
      : ts.isPropertyAccessExpression(target)
        ? target.name.text
        : undefined
    if (named === 'ledger' || named === '#ledger') names.push(n.name.text)
  })
  return names
}

/** The sync engine: runtime/mesh/sync*.* and runtime/mesh/sync/. */
function isSyncEngine(path: string): boolean {
  return path.startsWith('runtime/mesh/sync/') || /^runtime\/mesh\/sync[^/]*$/.test(path)
}

describe('house limits', () => {
  const sources = productSources()

  it('finds the product files', () => {
    expect(sources.length).toBeGreaterThan(100)
  })

  it(`no product file is longer than ${MAX_LINES} lines`, () => {
    const long = sources
      .map((s) => ({ path: s.path, lines: lineCount(s.text) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.path}: ${f.lines} lines`)
    expect(long, `split these files cohesively (at most ${MAX_LINES} lines each)`).toEqual([])
  })

  it(`no class has more than ${MAX_MEMBERS} members`, () => {
    const big: string[] = []
    for (const s of sources) {
      visit(s.ast, (n) => {
        if (!ts.isClassDeclaration(n) && !ts.isClassExpression(n)) return
        const count = classMembers(n)
        if (count <= MAX_MEMBERS) return
        const { line } = s.ast.getLineAndCharacterOfPosition(n.getStart())
        big.push(`${s.path}:${line + 1} class ${n.name?.text ?? '(anonymous)'}: ${count} members`)
      })
    }
    expect(big, `give what these classes hold rooms of their own (at most ${MAX_MEMBERS} members)`).toEqual(
      [],
    )
  })

  it(`the sync engine uses at most ${MAX_LEDGER_MEMBERS} members of the ledger`, () => {
    const engine = sources.filter((s) => isSyncEngine(s.path))
    expect(engine.length, 'the sync engine files were not found').toBeGreaterThan(0)
    const used = new Map<string, Set<string>>()
    for (const s of engine) {
      for (const name of ledgerMembers(s.ast)) {
        const files = used.get(name) ?? new Set<string>()
        files.add(s.path)
        used.set(name, files)
      }
    }
    const listed = [...used]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, f]) => `${n} (${[...f].join(', ')})`)
    expect(
      used.size <= MAX_LEDGER_MEMBERS ? [] : listed,
      `the sync engine reaches into ${used.size} ledger members; give it a narrow interface of at most ${MAX_LEDGER_MEMBERS}`,
    ).toEqual([])
  })
})
