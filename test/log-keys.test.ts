/**
 * Every JSON log line a node writes has unique keys: pino child bindings are concatenated, so a
 * child that binds a key its parent bound (`component` under `component`) would repeat it, and
 * a JSON parser keeps only one of the two.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { initSite } from '../runtime/cli/site-init.ts'
import { loadConfigFile } from '../runtime/config/load.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { createLogger } from '../runtime/core/log.ts'
import { dappsFor } from '../runtime/dapp-list.ts'
import { LatchkeyNode } from '../runtime/node.ts'
import { tmpDir } from './helpers/index.ts'

/** The keys that appear twice in one object of a JSON text (JSON.parse keeps the last silently). */
function duplicateKeys(text: string): string[] {
  const dups: string[] = []
  const objects: Array<Set<string> | null> = [] // null: an array
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      const str = JSON.parse(text.slice(i, j + 1)) as string
      i = j + 1
      let k = i
      while (/\s/.test(text[k] ?? '')) k++
      const top = objects.at(-1)
      if (text[k] === ':' && top) {
        if (top.has(str)) dups.push(str)
        top.add(str)
      }
      continue
    }
    if (ch === '{') objects.push(new Set())
    else if (ch === '[') objects.push(null)
    else if (ch === '}' || ch === ']') objects.pop()
    i++
  }
  return dups
}

describe('node log lines', () => {
  it('the duplicate-key check finds a repeated key and passes a clean line', () => {
    expect(duplicateKeys('{"component":"hardware","x":[{"a":1}],"component":"gpio"}')).toEqual(['component'])
    expect(duplicateKeys('{"a":{"a":"b:c"},"b":["a","a"],"c":"\\"a\\":"}')).toEqual([])
  })

  it('no log line of a starting and stopping node repeats a key (component under component)', async () => {
    const dir = tmpDir()
    const file = join(dir, 'node.yaml')
    writeFileSync(
      file,
      [
        'node: { name: door-1, dataDir: var }',
        'http: { port: 0 }',
        'mqtt: { broker: { port: 0 } }',
        'hardware:',
        '  gpio: sim',
        '  outputs:',
        '    - { name: front-lock, kind: lock, line: { name: GPIO17 }, pulseMs: 3000 }',
        '  readers:',
        `    - { type: rdm6300, path: ${join(dir, 'no-such-tty')} }`,
        'doors:',
        '  - { name: front, reader: rdm6300, lock: front-lock }',
        '',
      ].join('\n'),
    )
    const config = loadConfigFile(file, { env: {} })
    await initSite({ config, log: silentLogger(), name: 'Log Space' })
    const lines: string[] = []
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(l)
        done()
      },
    })
    const node = new LatchkeyNode({
      config,
      log: createLogger({ level: 'trace', destination }),
      dapps: dappsFor(config),
    })
    await node.ready()
    await new Promise((r) => setTimeout(r, 500)) // the local link connects, the reader retries
    await node.close()
    const components = new Set(lines.map((l) => (JSON.parse(l) as { component?: string }).component))
    // The check covers nested children: hardware's readers and GPIO, the mesh links, the dapps.
    expect(components.has('reader') || components.has('gpio')).toBe(true)
    const repeated = lines.filter((l) => duplicateKeys(l).length > 0)
    expect(repeated).toEqual([])
  })
})

describe('log key renaming loses nothing', () => {
  it('fields and bindings named like pino’s own keys or each other keep their values under free names', () => {
    const lines: string[] = []
    const log = createLogger({
      level: 'info',
      destination: new Writable({
        write(c, _e, done) {
          lines.push(String(c))
          done()
        },
      }),
    })
    log
      .child({ component: 'hardware', door: 'front' })
      .child({ component: 'reader', time: 5 })
      .info({ door: 'back', door_: 'side', msg: 'x', time: 3 }, 'hello')
    const line = lines[0]!
    expect(duplicateKeys(line)).toEqual([])
    const doc = JSON.parse(line) as Record<string, unknown>
    expect(doc).toMatchObject({ component: 'reader', door: 'front', msg: 'hello' })
    const values = Object.values(doc)
    for (const v of ['back', 'side', 'x', 3, 5]) expect(values).toContain(v)
  })
})
