import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tmpDir } from '../../test/helpers/index.ts'
import { errors } from '../core/errors.ts'
import { defaultConfig, loadConfigFile, suggest } from './load.ts'

function configFile(text: string): string {
  const file = join(tmpDir(), 'node.yaml')
  writeFileSync(file, text)
  return file
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('config', () => {
  it('embedded defaults: loopback HTTP and broker, sim GPIO, ./var data dir', () => {
    const c = defaultConfig({ cwd: '/srv/x', env: {} })
    expect(c.http.host).toBe('127.0.0.1')
    expect(c.mqtt.broker.host).toBe('127.0.0.1')
    expect(c.hardware.gpio).toBe('sim')
    expect(c.node.dataDir).toBe('/srv/x/var')
  })

  it('is frozen after load, deeply', () => {
    const c = defaultConfig({ env: {} })
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.mqtt.broker)).toBe(true)
    expect(() => {
      ;(c.http as { port: number }).port = 1
    }).toThrow(TypeError)
  })

  it('resolves a relative dataDir against the config file folder', () => {
    const file = configFile('node:\n  dataDir: data\n')
    expect(loadConfigFile(file, { env: {} }).node.dataDir).toBe(join(file, '..', 'data'))
  })

  it('an empty file means all defaults', () => {
    expect(loadConfigFile(configFile(''), { env: {} }).http.port).toBe(7480)
  })

  it.each([
    ['missing file', () => loadConfigFile('/nonexistent/node.yaml'), errors.CONFIG_NOT_FOUND.code],
    ['bad YAML', () => loadConfigFile(configFile('a: [1\n')), errors.CONFIG_YAML.code],
    [
      'duplicate key',
      () => loadConfigFile(configFile('log:\n  level: info\nlog:\n  level: warn\n')),
      errors.CONFIG_YAML.code,
    ],
    ['a list at top level', () => loadConfigFile(configFile('- 1\n')), errors.CONFIG_INVALID.code],
    ['unknown top-level key', () => loadConfigFile(configFile('mqqt: {}\n')), errors.CONFIG_UNKNOWN_KEY.code],
    [
      'wrong enum value',
      () => loadConfigFile(configFile('hardware:\n  gpio: sysfs\n')),
      errors.CONFIG_INVALID.code,
    ],
    [
      'port out of range',
      () => loadConfigFile(configFile('http:\n  port: 70000\n')),
      errors.CONFIG_INVALID.code,
    ],
    [
      'bad peer URL',
      () => loadConfigFile(configFile('mqtt:\n  peers: [not a url]\n')),
      errors.CONFIG_INVALID.code,
    ],
  ])('%s is rejected with a stable code', (_name, fn, code) => {
    expect(codeOf(fn)).toBe(code)
  })

  it('names the full path and suggests the nearest key for a nested typo', () => {
    const file = configFile('mqtt:\n  broker:\n    hots: 0.0.0.0\n')
    expect(() => loadConfigFile(file, { env: {} })).toThrow(
      `config file ${file} line 3: unknown key \`mqtt.broker.hots\` (did you mean \`host\`?)`,
    )
  })

  it('names an enum mismatch with the allowed values', () => {
    const file = configFile('hardware:\n  gpio: sysfs\n')
    expect(() => loadConfigFile(file, { env: {} })).toThrow(
      '`hardware.gpio` must be one of "auto", "gpiod", "onoff", "sim"',
    )
  })

  it('takes secrets from the environment and validates them like file values', () => {
    const file = configFile('mqtt:\n  external:\n    url: mqtt://127.0.0.1:1883\n    username: door-1\n')
    const c = loadConfigFile(file, { env: { LATCHKEY_MQTT_PASSWORD: 's3cret' } })
    expect(c.mqtt.external?.password).toBe('s3cret')
    expect(codeOf(() => loadConfigFile(file, { env: { LATCHKEY_HTTP_PORT: 'eighty' } }))).toBe(
      errors.CONFIG_ENV.code,
    )
  })

  it('suggests only when a key is close', () => {
    expect(suggest('prot', ['host', 'port'])).toBe('port')
    expect(suggest('dataDIR', ['name', 'dataDir'])).toBe('dataDir')
    expect(suggest('zzzzzz', ['host', 'port'])).toBeUndefined()
  })

  it('hardware: outputs, inputs and readers load with their defaults', () => {
    const file = configFile(
      [
        'hardware:',
        '  outputs:',
        '    - { name: front-door, kind: lock, line: { name: GPIO17 } }',
        '  inputs:',
        '    - { name: front-contact, kind: door-contact, line: { chip: pinctrl-bcm2711, offset: 5 } }',
        '  readers:',
        '    - { type: rdm6300, path: /dev/serial/by-id/usb-reader }',
        '',
      ].join('\n'),
    )
    const c = loadConfigFile(file, { env: {} })
    expect(c.hardware.outputs[0]).toMatchObject({
      fail: 'secure',
      energise: 'unlock',
      pulseMs: 5000,
      activeLow: false,
    })
    expect(c.hardware.inputs[0]).toMatchObject({ debounceMs: 20, heldOpenMs: 30_000 })
    expect(c.hardware.readers[0]).toMatchObject({ type: 'rdm6300' })
  })

  it('hardware: a misspelled output key, a duplicate name and a bad reader entry are named', () => {
    const typo = configFile(
      'hardware:\n  outputs:\n    - { name: a, kind: lock, line: { name: GPIO17 }, pulsMs: 10 }\n',
    )
    expect(() => loadConfigFile(typo, { env: {} })).toThrow(
      'unknown key `hardware.outputs.0.pulsMs` (did you mean `pulseMs`?)',
    )
    const dup = configFile(
      'hardware:\n  outputs:\n    - { name: a, kind: lock, line: { name: GPIO17 } }\n  inputs:\n    - { name: a, kind: estop, line: { name: GPIO5 } }\n',
    )
    expect(() => loadConfigFile(dup, { env: {} })).toThrow('`hardware.inputs[0].name` "a" is used twice')
    const reader = configFile('hardware:\n  readers:\n    - { type: rdm6300, path: /dev/x, baud: 9600 }\n')
    expect(codeOf(() => loadConfigFile(reader, { env: {} }))).toBe(errors.CONFIG_INVALID.code)
    expect(() => loadConfigFile(reader, { env: {} })).toThrow(/hardware\.readers\[0\].*baud/)
  })

  it('bridges: the password comes from the named environment variable, checked at load', () => {
    const file = configFile(
      'mqtt:\n  broker:\n    bridges: [{ name: site-mosquitto, passwordEnv: BRIDGE_PW }]\n',
    )
    const c = loadConfigFile(file, { env: { BRIDGE_PW: 'sixteen-chars-ok' } })
    expect(c.mqtt.broker.bridges[0]).toMatchObject({
      name: 'site-mosquitto',
      password: 'sixteen-chars-ok',
      rate: { perSecond: 2000, burst: 4000 },
    })
    // Unset: loads (CLI commands do not need it); the node refuses to start without it.
    expect(loadConfigFile(file, { env: {} }).mqtt.broker.bridges[0]!.password).toBeNull()
    expect(codeOf(() => loadConfigFile(file, { env: { BRIDGE_PW: 'short' } }))).toBe(errors.CONFIG_ENV.code)
  })

  it('bridges: a bad name, a duplicate, a password in the file and a typo are named', () => {
    const load = (entries: string) =>
      codeOf(() => loadConfigFile(configFile(`mqtt: { broker: { bridges: [${entries}] } }\n`), { env: {} }))
    const ok = '{ name: m, passwordEnv: PW }'
    expect(load(ok)).toBeUndefined()
    expect(load(`${ok}, ${ok}`)).toBe(errors.CONFIG_INVALID.code)
    expect(load(`{ name: ${'a'.repeat(64)}, passwordEnv: PW }`)).toBe(errors.CONFIG_INVALID.code)
    expect(load('{ name: m, passwordEnv: "not a variable" }')).toBe(errors.CONFIG_INVALID.code)
    expect(load('{ name: m, password: hunter2hunter2hunter2 }')).toBe(errors.CONFIG_UNKNOWN_KEY.code)
    try {
      loadConfigFile(configFile('mqtt: { broker: { bridges: [{ name: m, passwordEnvv: PW }] } }\n'), {
        env: {},
      })
      expect.unreachable()
    } catch (err) {
      // The did-you-mean reaches inside a bridge entry (a transformed schema).
      expect((err as { details: { suggestion?: string } }).details.suggestion).toBe('passwordEnv')
    }
  })

  it('malformed YAML is reported at its real 1-based line and column, not line 0, column 0', () => {
    const file = configFile('log:\n  level: info\nhttp: { port: 80\nnode:\n  name: x\n')
    try {
      loadConfigFile(file, { env: {} })
      expect.unreachable()
    } catch (err) {
      expect((err as { code: string }).code).toBe(errors.CONFIG_YAML.code)
      const { line, col } = (err as { details: { line: number; col: number } }).details
      expect(line).toBeGreaterThanOrEqual(3)
      expect(col).toBeGreaterThanOrEqual(1)
    }
  })

  const wired = (readers: string[], ref: string, section: 'doors' | 'tools' = 'doors') =>
    configFile(
      [
        'hardware:',
        '  outputs:',
        '    - { name: front-lock, kind: lock, line: { name: GPIO17 } }',
        '    - { name: saw-relay, kind: relay, line: { name: GPIO18 } }',
        '  readers:',
        ...readers.map((r) => `    - ${r}`),
        section === 'doors'
          ? `doors:\n  - { name: front, reader: "${ref}", lock: front-lock }`
          : `tools:\n  - { name: saw, reader: "${ref}", relay: saw-relay }`,
        '',
      ].join('\n'),
    )

  it('a door that names an unnamed reader by its type is resolved to the name its badges carry', () => {
    const c = loadConfigFile(wired(['{ type: rdm6300, path: /dev/ttyS0 }'], 'rdm6300'), { env: {} })
    expect(c.doors[0]!.reader).toBe('rdm6300:/dev/ttyS0')
    const t = loadConfigFile(
      wired(['{ type: wiegand26, chip: gpiochip0, d0: 5, d1: 6 }'], 'wiegand26', 'tools'),
      {
        env: {},
      },
    )
    expect(t.tools[0]!.reader).toBe('wiegand26:gpiochip0')
    // A name, or the runtime's default name, is kept as written.
    const named = wired(['{ type: rdm6300, path: /dev/ttyS0, name: front-reader }'], 'front-reader')
    expect(loadConfigFile(named, { env: {} }).doors[0]!.reader).toBe('front-reader')
    const full = wired(['{ type: rdm6300, path: /dev/ttyS0 }'], 'rdm6300:/dev/ttyS0', 'tools')
    expect(loadConfigFile(full, { env: {} }).tools[0]!.reader).toBe('rdm6300:/dev/ttyS0')
  })

  it('a reader reference that matches no reader, or two unnamed readers of its type, is refused at doors[i].reader / tools[i].reader', () => {
    const refused = (file: string, key: string) => {
      try {
        loadConfigFile(file, { env: {} })
        expect.unreachable()
      } catch (err) {
        expect((err as { code: string }).code).toBe(errors.CONFIG_INVALID.code)
        expect((err as { details: { key: string } }).details.key).toBe(key)
      }
    }
    const two = ['{ type: rdm6300, path: /dev/ttyS0 }', '{ type: rdm6300, path: /dev/ttyUSB0 }']
    refused(wired(two, 'rdm6300'), 'doors[0].reader')
    refused(wired(two, 'rdm6300', 'tools'), 'tools[0].reader')
    // A named reader is not named by its type.
    refused(wired(['{ type: rdm6300, path: /dev/ttyS0, name: front-reader }'], 'rdm6300'), 'doors[0].reader')
    refused(wired(['{ type: pn532, path: /dev/ttyS0 }'], 'rdm6300', 'tools'), 'tools[0].reader')
    refused(wired(['{ type: rdm6300, path: /dev/ttyS0 }'], 'front-reader'), 'doors[0].reader')
  })
})
