/**
 * docs/PROTOCOL.md says what the node does: the reason code for every kind of wrong `v`
 * (§1, the field table), and where the node status keeps the sync counters ("Sync", Limits).
 */
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it, onTestFinished } from 'vitest'
import { decodeWire, encodeBody, RecordError } from '../runtime/core/ledger/record.ts'
import { DEVICE, openTestLedger, provision } from '../runtime/core/ledger/testing/fixtures.ts'
import type { SyncCounters } from '../runtime/mesh/sync.ts'
import type { NodeStatus } from '../runtime/node.ts'

const doc = readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8')
const SIG = new Uint8Array(64)

/** The envelope of a well-formed record with `v` replaced (or removed, for `undefined`). */
function envelope(v: unknown, extra: Record<string, unknown> = {}): Uint8Array {
  const fields: Record<string, unknown> = {
    hlc: [1767225600000, 0],
    seq: 1,
    body: encodeBody({ n: 1 }),
    prev: null,
    site: new Uint8Array(32).fill(7),
    type: 'test.event',
    author: DEVICE.publicKey,
    parents: [],
    ...extra,
  }
  if (v !== undefined) fields.v = v
  // dag-cbor writes map keys in canonical order whatever the object's order.
  return dagCbor.encode(fields)
}

function codeOf(record: Uint8Array): string {
  try {
    decodeWire(new Uint8Array([...SIG, ...record]))
    return 'ok'
  } catch (err) {
    expect(err).toBeInstanceOf(RecordError)
    return (err as RecordError).code
  }
}

describe('PROTOCOL.md §1: the reason code for a wrong `v`', () => {
  const cases: Array<[string, unknown]> = [
    ['text "1"', '1'],
    ['the integer 2', 2],
    ['the integer 0', 0],
    ['a negative integer', -1],
    ['bytes', new Uint8Array([1])],
    ['null', null],
    ['true', true],
    ['an array', [1]],
    ['a map', { v: 1 }],
    ['absent', undefined],
  ]
  for (const [what, v] of cases)
    it(`v = ${what} is VERSION`, () => {
      expect(codeOf(envelope(v))).toBe('VERSION')
    })

  it('v = 1 decodes (the control)', () => {
    expect(codeOf(envelope(1))).toBe('ok')
  })

  it('`v` is judged before the field set: a wrong `v` with an extra field is VERSION, with v = 1 BAD_FIELD', () => {
    expect(codeOf(envelope('1', { extra: 1 }))).toBe('VERSION')
    expect(codeOf(envelope(1, { extra: 1 }))).toBe('BAD_FIELD')
  })

  it('a wrong `v` is VERSION at ingest too, final (quarantined, not retried)', async () => {
    const l = await openTestLedger()
    onTestFinished(() => l.close())
    await provision(l)
    const report = l.ingest([new Uint8Array([...SIG, ...envelope('1', { site: l.site! })])])
    expect(report).toMatchObject({ accepted: 0, refused: 1, reasons: { VERSION: 1 } })
    expect(l.query.quarantined().at(-1)).toMatchObject({ code: 'VERSION', retry: false })
  })

  it('the document says so', () => {
    expect(doc).toMatch(/\| `v` +\| unsigned int +\| Format version; MUST be `1`; any other value/)
  })
})

describe('PROTOCOL.md "Sync": the counters are the status `sync` object', () => {
  it('names the status key and counters that exist', () => {
    const key: keyof NodeStatus = 'sync'
    const named: Array<keyof SyncCounters> = [
      'oversize',
      'badPayload',
      'badSummary',
      'notEnrolled',
      'refusedRecords',
      'floodedRequests',
      'droppedMessages',
    ]
    expect(doc).toContain(`node status under \`${key}\``)
    for (const n of named) expect(doc).toContain(`\`${n}\``)
    expect(doc).not.toContain("engine's `counters`")
  })
})
