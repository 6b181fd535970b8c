/**
 * The node config schema: one YAML file per node. Every object is strict (unknown keys are
 * rejected with a did-you-mean). Defaults are the embedded quick-start defaults: simulated
 * hardware, embedded broker and HTTP on loopback, data under ./var.
 */
import { z } from 'zod'
import { isTimeZone } from '../../dapps/door-access/local-time.ts'

const port = z.number().int().min(0).max(65535)
const host = z.string().min(1)
const duration = z.number().int().min(0)

const deviceName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'may hold only lower-case letters, digits, ".", "_" and "-"')

/** A GPIO line: chip label + offset (e.g. pinctrl-bcm2711 / 17), or a line name (e.g. GPIO17). */
const lineRef = z.union([
  z.strictObject({ chip: z.string().min(1), offset: z.number().int().min(0).max(1023) }),
  z.strictObject({ name: z.string().min(1) }),
])

const outputSchema = z.strictObject({
  name: deviceName,
  kind: z.enum(['lock', 'relay', 'led', 'buzzer']),
  line: lineRef,
  /** The driver board switches on a low pin. */
  activeLow: z.boolean().default(false),
  /** Safe state applied at boot, on shutdown and after a crash: secure = locked / off. */
  fail: z.enum(['secure', 'safe']).default('secure'),
  /** Locks: what energising the relay does (strike: unlock; maglock: lock). */
  energise: z.enum(['unlock', 'lock']).default('unlock'),
  /** Locks: how long an unlock lasts. */
  pulseMs: z.number().int().min(50).max(60_000).default(5000),
})

const inputSchema = z.strictObject({
  name: deviceName,
  kind: z.enum(['door-contact', 'exit-button', 'estop', 'current-sense']),
  line: lineRef,
  activeLow: z.boolean().default(false),
  bias: z.enum(['pull-up', 'pull-down', 'disabled']).optional(),
  debounceMs: z.number().int().min(0).max(10_000).default(20),
  /** Door contacts: how long the door may stand open before the held-open alarm. */
  heldOpenMs: z.number().int().min(1000).max(3_600_000).default(30_000),
})

const doorSchema = z.strictObject({
  name: deviceName,
  /**
   * The badge reader at this door: a hardware.readers entry's name (an unnamed reader's is
   * `<type>:<path>`), or the type of the only unnamed reader of that type (load.ts resolves it).
   */
  reader: z.string().min(1),
  /** The lock output (its pulseMs is the unlock time). */
  lock: deviceName,
  contact: deviceName.optional(),
  exit: deviceName.optional(),
})

const toolSchema = z.strictObject({
  name: deviceName,
  toolClass: deviceName.optional(),
  reader: z.string().min(1),
  relay: deviceName,
  led: deviceName.optional(),
  buzzer: deviceName.optional(),
  currentSense: deviceName.optional(),
  estop: deviceName.optional(),
  idleMs: z
    .number()
    .int()
    .min(1000)
    .default(15 * 60_000),
  maxSessionMs: z
    .number()
    .int()
    .min(1000)
    .default(4 * 3600_000),
  warnMs: z.number().int().min(0).default(60_000),
})

/**
 * A bridge the embedded broker admits (a site Mosquitto's `connection` into this node). The
 * password is never in the file: it is read from the environment variable `passwordEnv` at
 * load (the loader fills `password`; null while the variable is unset, and the node then
 * refuses to start).
 */
const bridgeSchema = z
  .strictObject({
    /** The bridge's MQTT username; its client id must be `<name>` or `<name>-<suffix>`. */
    name: z
      .string()
      .min(1)
      .max(32)
      .regex(
        /^[a-z][a-z0-9._-]*$/,
        'must start with a lower-case letter and hold only a-z, 0-9, ".", "_" and "-"',
      ),
    /** The environment variable holding the bridge's password (at least 16 characters). */
    passwordEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as LATCHKEY_BRIDGE_PASSWORD'),
    /** Publish rate for this bridge (it relays every node behind it). */
    rate: z
      .strictObject({
        perSecond: z.number().int().min(1),
        burst: z.number().int().min(1),
      })
      .default({ perSecond: 2000, burst: 4000 }),
  })
  .transform((b) => ({ ...b, password: null as string | null }))

/** Shortest bridge password the loader accepts from the environment. */
export const MIN_BRIDGE_PASSWORD = 16

export type BridgeConfig = z.output<typeof bridgeSchema>
export type DoorConfig = z.output<typeof doorSchema>
export type ToolConfig = z.output<typeof toolSchema>
export type OutputConfig = z.output<typeof outputSchema>
export type InputConfig = z.output<typeof inputSchema>

export const configSchema = z.strictObject({
  node: z
    .strictObject({
      /** Human name of this node, shown in status and logs. */
      name: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"')
        .default('latchkey'),
      /** Where the ledger, keys and runtime state live. Relative paths resolve against the config file's folder. */
      dataDir: z.string().min(1).default('./var'),
      /**
       * Once started, keep the node's helper threads (GC, thread pool, workers) off one core, so
       * the event loop that decides at doors always finds it free of them (Linux, two or more
       * cores; docs/operations.md).
       */
      isolateEventLoop: z.boolean().default(true),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: host.default('127.0.0.1'),
      port: port.default(7480),
      /** What an unsigned `GET /api/v1/status` shows: name, version, site id and ready, or everything. */
      publicStatus: z.enum(['minimal', 'full']).default('minimal'),
    })
    .prefault({}),
  mqtt: z
    .strictObject({
      broker: z
        .strictObject({
          /** The embedded aedes broker that peers and local dapps connect to. */
          enabled: z.boolean().default(true),
          host: host.default('127.0.0.1'),
          port: port.default(7483),
          /** Bridges (site Mosquitto connections) admitted with a static password; none by default. */
          bridges: z.array(bridgeSchema).default([]),
        })
        .prefault({}),
      /** mqtt:// URLs of neighbouring nodes' brokers this node dials. */
      peers: z.array(z.string().url()).default([]),
      /** One external broker (e.g. a site Mosquitto) used instead of peers. */
      external: z
        .strictObject({
          url: z.string().url(),
          username: z.string().optional(),
          /** Prefer LATCHKEY_MQTT_PASSWORD in the environment to a password in the file. */
          password: z.string().optional(),
        })
        .nullable()
        .default(null),
    })
    .prefault({}),
  hardware: z
    .strictObject({
      gpio: z.enum(['auto', 'gpiod', 'onoff', 'sim']).default('sim'),
      /** sim only: a file the simulated board keeps its line levels in across restarts. */
      simJournal: z.string().min(1).optional(),
      outputs: z.array(outputSchema).default([]),
      inputs: z.array(inputSchema).default([]),
      /** Badge readers; each entry is checked by devices/readers (type-specific keys). */
      readers: z.array(z.looseObject({ type: z.string() })).default([]),
    })
    .prefault({}),
  site: z
    .strictObject({
      /** IANA time zone for schedules, holidays and expiry dates, e.g. Europe/Berlin. */
      timeZone: z
        .string()
        .refine((tz) => isTimeZone(tz), 'must be an IANA time zone such as Europe/Berlin')
        .default('UTC'),
      /** Offline grace period when governance sets none. */
      offlineGraceMs: z.number().int().min(0).optional(),
    })
    .prefault({}),
  /** Doors this board controls: reader → decision → lock. */
  doors: z.array(doorSchema).default([]),
  /** Tools this board locks out: reader → decision → relay. */
  tools: z.array(toolSchema).default([]),
  shutdown: z
    .strictObject({
      /** Longest time a graceful stop may take before the process exits anyway. */
      timeoutMs: duration.default(1500),
    })
    .prefault({}),
})

export type Config = z.output<typeof configSchema>

/**
 * Secrets may come from the environment instead of the file. Each entry maps a variable to
 * the key it overrides; the value is applied before validation so it is validated the same way.
 */
export const envOverrides: ReadonlyArray<{
  variable: string
  path: readonly string[]
  type: 'string' | 'number'
}> = [
  { variable: 'LATCHKEY_MQTT_PASSWORD', path: ['mqtt', 'external', 'password'], type: 'string' },
  { variable: 'LATCHKEY_DATA_DIR', path: ['node', 'dataDir'], type: 'string' },
  { variable: 'LATCHKEY_LOG_LEVEL', path: ['log', 'level'], type: 'string' },
  { variable: 'LATCHKEY_HTTP_PORT', path: ['http', 'port'], type: 'number' },
  { variable: 'LATCHKEY_MQTT_PORT', path: ['mqtt', 'broker', 'port'], type: 'number' },
]
