/**
 * Loads a node config once: read → parse YAML → apply environment overrides → validate →
 * resolve paths → freeze. Every failure is a catalogued error whose sentence names the file
 * and the key (with its line where the YAML has one); never a stack trace.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import type { z } from 'zod'
import { type ReaderConfig, readerName, validateReaderConfig } from '../../devices/readers/config.ts'
import { errors } from '../core/errors.ts'
import { type Config, configSchema, envOverrides, MIN_BRIDGE_PASSWORD } from './schema.ts'

export type { Config }

export interface LoadOptions {
  /** Environment to read overrides from (defaults to process.env). */
  env?: NodeJS.ProcessEnv
  /** Folder that relative paths resolve against when there is no file (embedded defaults). */
  cwd?: string
}

/** Loads and validates a config file. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') throw errors.CONFIG_NOT_FOUND(file)
    throw errors.CONFIG_UNREADABLE(file, e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message))
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const first = doc.errors[0]
  if (first) {
    // 1-based, where the parser stopped (the error's linePos is filled only with prettyErrors).
    const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0])
    throw errors.CONFIG_YAML(file, pos.line, pos.col, first.message.split('\n')[0] ?? first.code)
  }
  const raw: unknown = doc.toJS() ?? {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw errors.CONFIG_INVALID(file, '(top level)', 'must be a mapping of keys to values')
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    const node = doc.getIn(path as unknown[], true) as { range?: [number, number, number] } | undefined
    const offset = node?.range?.[0]
    return offset === undefined ? undefined : lines.linePos(offset).line
  }
  return validate(
    raw as Record<string, unknown>,
    file,
    dirname(resolve(file)),
    opts.env ?? process.env,
    lineOf,
  )
}

/** The embedded defaults (no file): what `npm start` runs on. */
export function defaultConfig(opts: LoadOptions = {}): Config {
  return validate(
    {},
    '(embedded defaults)',
    resolve(opts.cwd ?? process.cwd()),
    opts.env ?? process.env,
    () => undefined,
  )
}

function validate(
  raw: Record<string, unknown>,
  file: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): Config {
  applyEnv(raw, env)
  const where = (path: readonly PropertyKey[]) => {
    const line = lineOf(path)
    return line === undefined ? file : `${file} line ${line}`
  }
  const result = configSchema.safeParse(raw, { reportInput: true })
  if (!result.success) {
    // Unknown keys first: a typo usually also explains a "missing" value elsewhere.
    const issues = [...result.error.issues].sort(
      (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
    )
    const issue = issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!
      const known = keysAt(configSchema, issue.path)
      const full = [...issue.path, key]
      throw errors.CONFIG_UNKNOWN_KEY(where(full), dotted(full), suggest(key, known))
    }
    throw errors.CONFIG_INVALID(where(issue.path), dotted(issue.path), describe(issue))
  }
  const config = result.data
  config.node.dataDir = resolve(baseDir, config.node.dataDir)
  if (config.hardware.simJournal) config.hardware.simJournal = resolve(baseDir, config.hardware.simJournal)
  checkDevices(config, where)
  checkBridges(config, env, where)
  return deepFreeze(config)
}

/**
 * Bridges: unique names, and each password read from its environment variable. An unset
 * variable leaves `password` null (CLI commands that load the config do not need it; the node
 * refuses to start); a set but short one is an error here.
 */
function checkBridges(
  config: Config,
  env: NodeJS.ProcessEnv,
  where: (path: readonly PropertyKey[]) => string,
): void {
  const seen = new Set<string>()
  config.mqtt.broker.bridges.forEach((b, i) => {
    if (seen.has(b.name))
      throw errors.CONFIG_INVALID(
        where(['mqtt', 'broker', 'bridges', i, 'name']),
        `mqtt.broker.bridges[${i}].name`,
        `"${b.name}" is used twice`,
      )
    seen.add(b.name)
    const value = env[b.passwordEnv]
    if (value === undefined || value === '') return
    if (value.length < MIN_BRIDGE_PASSWORD)
      throw errors.CONFIG_ENV(
        b.passwordEnv,
        `must hold at least ${MIN_BRIDGE_PASSWORD} characters (the password of bridge "${b.name}")`,
      )
    b.password = value
  })
}

/** Device entries: unique names, and reader entries checked by their own validator. */
function checkDevices(config: Config, where: (path: readonly PropertyKey[]) => string): void {
  const seen = new Set<string>()
  const { outputs, inputs } = config.hardware
  for (const [list, kind] of [
    [outputs, 'outputs'],
    [inputs, 'inputs'],
  ] as const) {
    list.forEach((d, i) => {
      if (seen.has(d.name))
        throw errors.CONFIG_INVALID(
          where(['hardware', kind, i, 'name']),
          `hardware.${kind}[${i}].name`,
          `"${d.name}" is used twice`,
        )
      seen.add(d.name)
    })
  }
  config.hardware.readers = config.hardware.readers.map((raw, i) => {
    try {
      return validateReaderConfig(raw) as unknown as (typeof config.hardware.readers)[number]
    } catch (err) {
      throw errors.CONFIG_INVALID(
        where(['hardware', 'readers', i]),
        `hardware.readers[${i}]`,
        (err as Error).message,
      )
    }
  })
  const readerNames = new Set<string>()
  ;(config.hardware.readers as unknown as ReaderConfig[]).forEach((r, i) => {
    const name = readerName(r)
    if (readerNames.has(name))
      throw errors.CONFIG_INVALID(
        where(['hardware', 'readers', i]),
        `hardware.readers[${i}]`,
        `is named "${name}" like an earlier reader; give each reader its own \`name\``,
      )
    readerNames.add(name)
  })
  checkWiring(config, where)
}

/**
 * A door's or tool's `reader`: a reader's name as the runtime gives it (readerName). An unnamed
 * reader may also be named by its type when it is the only unnamed reader of that type: the
 * reference is resolved here to the reader's name, or badges at that door would match no reader.
 */
function resolveReader(readers: readonly ReaderConfig[], ref: string): string | { problem: string } {
  const names = readers.map(readerName)
  if (names.includes(ref)) return ref
  const byType = readers.filter((r) => r.name === undefined && r.type === ref)
  if (byType.length === 1) return readerName(byType[0]!)
  const list = names.length ? names.map((n) => `"${n}"`).join(', ') : 'none are configured'
  if (byType.length > 1)
    return {
      problem: `"${ref}" matches ${byType.length} unnamed readers of that type (${byType.map(readerName).join(', ')}); give each a \`name\` in hardware.readers and use it here`,
    }
  return { problem: `"${ref}" must name a hardware.readers entry; the readers are: ${list}` }
}

/** Doors and tools name hardware: each name must exist, with the right kind. */
function checkWiring(config: Config, where: (path: readonly PropertyKey[]) => string): void {
  const outputs = new Map(config.hardware.outputs.map((o) => [o.name, o.kind]))
  const inputs = new Map(config.hardware.inputs.map((i) => [i.name, i.kind]))
  const readers = config.hardware.readers as unknown as ReaderConfig[]
  const reader = (section: 'doors' | 'tools', i: number, ref: string): string => {
    const resolved = resolveReader(readers, ref)
    if (typeof resolved === 'string') return resolved
    throw errors.CONFIG_INVALID(where([section, i, 'reader']), `${section}[${i}].reader`, resolved.problem)
  }
  const need = (
    section: 'doors' | 'tools',
    i: number,
    key: string,
    name: string | undefined,
    kinds: Map<string, string>,
    kind: string,
  ) => {
    if (name === undefined) return
    const have = kinds.get(name)
    if (have !== kind) {
      const what = `a hardware ${kinds === inputs ? 'input' : 'output'} of kind ${kind}`
      throw errors.CONFIG_INVALID(
        where([section, i, key]),
        `${section}[${i}].${key}`,
        `"${name}" must name ${what}`,
      )
    }
  }
  config.doors.forEach((d, i) => {
    d.reader = reader('doors', i, d.reader)
    need('doors', i, 'lock', d.lock, outputs, 'lock')
    need('doors', i, 'contact', d.contact, inputs, 'door-contact')
    need('doors', i, 'exit', d.exit, inputs, 'exit-button')
  })
  config.tools.forEach((t, i) => {
    t.reader = reader('tools', i, t.reader)
    need('tools', i, 'relay', t.relay, outputs, 'relay')
    need('tools', i, 'led', t.led, outputs, 'led')
    need('tools', i, 'buzzer', t.buzzer, outputs, 'buzzer')
    need('tools', i, 'currentSense', t.currentSense, inputs, 'current-sense')
    need('tools', i, 'estop', t.estop, inputs, 'estop')
  })
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const { variable, path, type } of envOverrides) {
    const value = env[variable]
    if (value === undefined || value === '') continue
    let parsed: string | number = value
    if (type === 'number') {
      parsed = Number(value)
      if (!Number.isInteger(parsed))
        throw errors.CONFIG_ENV(variable, `must be a whole number, not "${value}"`)
    }
    let obj = raw
    for (const key of path.slice(0, -1)) {
      const next = obj[key]
      if (next === null || typeof next !== 'object') obj[key] = {}
      obj = obj[key] as Record<string, unknown>
    }
    obj[path.at(-1)!] = parsed
  }
}

function dotted(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.')
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `is required (${issue.expected})`
        : `must be ${article(issue.expected)}`
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters long' : ''}`
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters long' : ''}`
    default:
      return issue.message.replace(/^Invalid input: /, 'is invalid: ')
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

/** The keys a (possibly wrapped) object schema accepts at `path`. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node = unwrap(schema)
  for (const key of path) {
    if (typeof key === 'number') {
      const element = (node.def as { element?: z.ZodType }).element
      if (!element) return []
      node = unwrap(element)
      continue
    }
    const shape = (node as unknown as { shape?: Record<string, z.ZodType> }).shape
    const child = shape?.[String(key)]
    if (!child) return []
    node = unwrap(child)
  }
  return Object.keys((node as unknown as { shape?: Record<string, unknown> }).shape ?? {})
}

function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema
  // Defaults and optionals wrap `innerType`; a transform is a pipe whose input is `in` (the
  // schema's public `def`).
  for (;;) {
    const def = node.def as { innerType?: z.ZodType; in?: z.ZodType }
    const next = def.innerType ?? def.in
    if (!next) break
    node = next
  }
  return node
}

/** Did-you-mean: the closest known key by edit distance (case-insensitive), if close enough. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
