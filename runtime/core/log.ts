/**
 * One pino logger per process, JSON lines to stdout (no transports: they do not survive
 * bundling, and journald keeps stdout). Components take a child: `log.child({ component })`.
 *
 * Every line has unique keys. pino writes a child's bindings after its parent's and a log
 * call's fields after both, so a repeated key would appear twice and a JSON parser would keep
 * one of them. Here a child's binding replaces its parent's (a reader under `component:
 * hardware` logs `component: reader`); a log field equal to a binding is left out, a different
 * one is written as `<key>_`; a field named like pino's own (`level`, `time`, `pid`) likewise.
 */
import {
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type LevelWithSilent,
  type Logger,
  pino,
} from 'pino'

export type { Logger }

export interface LogOptions {
  level: LevelWithSilent
  /** Where the JSON lines go; stdout by default. Tests pass a collecting stream. */
  destination?: DestinationStream
}

/** Keys pino writes on every line itself (`msg`: the message, `err`: a serialised error's own key is kept). */
const OWN_KEYS = ['level', 'time', 'pid', 'msg']

export function createLogger(opts: LogOptions): Logger {
  const root = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => unique(obj as Record<string, unknown>, {}),
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  )
  return withFlatChildren(root.child.bind(root), root, {})
}

type MakeChild = (bindings: Bindings, options: ChildLoggerOptions) => Logger

/** Makes `logger.child` build each child from the root with the merged bindings. */
function withFlatChildren(fromRoot: MakeChild, logger: Logger, bound: Bindings): Logger {
  logger.child = ((bindings: Bindings, options: ChildLoggerOptions = {}) => {
    const merged = free({ ...bound, ...bindings })
    const child = fromRoot(merged, {
      ...options,
      level: options.level ?? logger.level,
      formatters: { ...options.formatters, log: (obj) => unique(obj as Record<string, unknown>, merged) },
    })
    return withFlatChildren(fromRoot, child, merged)
  }) as unknown as Logger['child']
  return logger
}

/** Bindings renamed away from pino's own keys (a child bound to `time` logs `time_`). */
function free(bindings: Bindings): Bindings {
  if (!Object.keys(bindings).some((k) => OWN_KEYS.includes(k))) return bindings
  const out: Bindings = {}
  for (const [k, v] of Object.entries(bindings)) out[OWN_KEYS.includes(k) ? spare(k, bindings) : k] = v
  return out
}

/** `key_`, `key__`, …: the first name that neither `taken` nor pino's own keys use. */
function spare(key: string, ...taken: Array<Record<string, unknown>>): string {
  let name = `${key}_`
  while (OWN_KEYS.includes(name) || taken.some((t) => name in t)) name += '_'
  return name
}

/** A log call's fields without the keys its bindings or pino already write. */
function unique(obj: Record<string, unknown>, bound: Bindings): Record<string, unknown> {
  let out: Record<string, unknown> | null = null
  for (const key of Object.keys(obj)) {
    const taken = OWN_KEYS.includes(key) || key in bound
    if (!taken) continue
    out ??= { ...obj }
    delete out[key]
    if (OWN_KEYS.includes(key) || bound[key] !== obj[key]) out[spare(key, obj, bound, out)] = obj[key]
  }
  return out ?? obj
}
