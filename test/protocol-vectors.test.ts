/**
 * docs/PROTOCOL.md test vectors: every vector is re-derived here with the project's record code
 * (independently of scripts/protocol-vectors.ts) and compared with the hex in the document, and
 * every signature is cross-checked with @noble/ed25519 against node:crypto.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import * as ed from '@noble/ed25519'
import { describe, expect, it } from 'vitest'
import { keyPairFromSeed } from '../runtime/core/keys.ts'
import { HybridClock } from '../runtime/core/ledger/hlc.ts'
import {
  decodeWire,
  encodeBody,
  fromHex,
  GENESIS_SITE,
  ID_DOMAIN,
  RECORD_VERSION,
  type RecordFields,
  recordId,
  type SignedRecord,
  signRecord,
  toHex,
  verifySignature,
  wireBytes,
} from '../runtime/core/ledger/record.ts'
import { openTestLedger } from '../runtime/core/ledger/testing/fixtures.ts'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())

const L = 2n ** 252n + 27742317777372353535851937790883648493n
const T0 = 1767225600000

// ── the document ─────────────────────────────────────────────────────────────────────────

type Block = Map<string, string[]>

/** The fenced `text` blocks of the "Test vectors" section, by their `vector:` name. */
function parseVectors(markdown: string): Map<string, Block> {
  const section = markdown.slice(markdown.indexOf('\n## Test vectors'))
  const out = new Map<string, Block>()
  for (const m of section.matchAll(/```text\n([\s\S]*?)```/g)) {
    const block: Block = new Map()
    for (const line of m[1]!.split('\n')) {
      const at = line.indexOf(': ')
      if (at < 0) continue
      const key = line.slice(0, at)
      block.set(key, [...(block.get(key) ?? []), line.slice(at + 2)])
    }
    const name = block.get('vector')?.[0]
    if (name) out.set(name, block)
  }
  return out
}

const vectors = parseVectors(readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8'))

function field(name: string, key: string): string {
  const v = vectors.get(name)?.get(key)
  if (v?.length !== 1) throw new Error(`docs/PROTOCOL.md: vector ${name} has no single "${key}" line`)
  return v[0]!
}
const hexField = (name: string, key: string) => fromHex(field(name, key))
const boolField = (name: string, key: string) => field(name, key) === 'true'

// ── independent derivation ───────────────────────────────────────────────────────────────

const admin = keyPairFromSeed(new Uint8Array(32).fill(0x01))
const device = keyPairFromSeed(new Uint8Array(32).fill(0x02))
const rogue = keyPairFromSeed(new Uint8Array(32).fill(0x03))

const make = (f: Omit<RecordFields, 'v' | 'body'> & { body: unknown }): RecordFields => ({
  v: RECORD_VERSION,
  ...f,
  body: encodeBody(f.body),
})

const genesis = signRecord(
  make({
    site: GENESIS_SITE,
    author: admin.publicKey,
    seq: 1,
    prev: null,
    parents: [],
    hlc: { ms: T0, c: 0 },
    type: 'site.genesis',
    body: { name: 'Vector Space', admins: [admin.publicKey] },
  }),
  admin.privateKeyObject,
)
const enrol = signRecord(
  make({
    site: genesis.id,
    author: admin.publicKey,
    seq: 2,
    prev: genesis.id,
    parents: [],
    hlc: { ms: T0 + 1, c: 0 },
    type: 'site.enrol',
    body: { key: device.publicKey, role: 'device', name: 'door-1' },
  }),
  admin.privateKeyObject,
)
const event = signRecord(
  make({
    site: genesis.id,
    author: device.publicKey,
    seq: 1,
    prev: null,
    parents: [enrol.id],
    hlc: { ms: T0 + 2, c: 0 },
    type: 'test.event',
    body: { n: 1 },
  }),
  device.privateKeyObject,
)
const rogueEnrol = signRecord(
  make({
    site: genesis.id,
    author: device.publicKey,
    seq: 2,
    prev: event.id,
    parents: [],
    hlc: { ms: T0 + 3, c: 0 },
    type: 'site.enrol',
    body: { key: rogue.publicKey, role: 'admin', name: 'rogue' },
  }),
  device.privateKeyObject,
)
const positives: Array<[string, SignedRecord]> = [
  ['genesis', genesis],
  ['enrol', enrol],
  ['event', event],
  ['rogue-enrol', rogueEnrol],
]

function leToBigint(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

/** Cofactorless strict verification from noble's primitives: encode([S]B − [k]A) = R. */
function cofactorlessVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  let A: ed.Point
  try {
    A = ed.Point.fromBytes(pub, false)
  } catch {
    return false
  }
  const s = leToBigint(sig.subarray(32))
  if (A.isSmallOrder() || s >= L) return false
  const R = sig.subarray(0, 32)
  const k = leToBigint(new Uint8Array(createHash('sha512').update(R).update(pub).update(msg).digest())) % L
  const check = ed.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes()
  return toHex(check) === toHex(R)
}

function decodeCode(wire: Uint8Array): string {
  try {
    decodeWire(wire)
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code ?? 'threw'
  }
}

// ── tests ────────────────────────────────────────────────────────────────────────────────

describe('docs/PROTOCOL.md test vectors', () => {
  it('holds every vector the test knows, and nothing it does not check', () => {
    expect([...vectors.keys()].sort()).toEqual(
      [
        'domain',
        'key-admin',
        'key-device',
        'key-rogue',
        'genesis',
        'enrol',
        'event',
        'rogue-enrol',
        'state',
        'genesis-bad-sig',
        'genesis-s-plus-l',
        'genesis-noncanonical-order',
        'genesis-noncanonical-int',
        'genesis-noncanonical-body',
        'small-order-key',
        'genesis-mixed-order-r',
      ].sort(),
    )
  })

  it('id domain tag', () => {
    expect(field('domain', 'id_domain_hex')).toBe(toHex(ID_DOMAIN))
    expect(toHex(ID_DOMAIN)).toBe(Buffer.from('latchkey/record/v1\0', 'ascii').toString('hex'))
  })

  it.each([
    ['key-admin', 0x01],
    ['key-device', 0x02],
    ['key-rogue', 0x03],
  ] as const)('key pair %s', (name, byte) => {
    const seed = new Uint8Array(32).fill(byte)
    expect(field(name, 'seed')).toBe(toHex(seed))
    expect(field(name, 'public_key')).toBe(keyPairFromSeed(seed).id)
    expect(field(name, 'public_key')).toBe(toHex(ed.getPublicKey(seed)))
  })

  it.each(positives)('record %s: fields, bytes, id, signature and wire form', (name, r) => {
    expect(field(name, 'author')).toBe(toHex(r.author))
    expect(field(name, 'site')).toBe(toHex(r.site))
    expect(field(name, 'seq')).toBe(String(r.seq))
    expect(field(name, 'prev')).toBe(r.prev ? toHex(r.prev) : 'null')
    expect(field(name, 'parents')).toBe(r.parents.map(toHex).join(' ') || '(none)')
    expect(field(name, 'hlc')).toBe(`${r.hlc.ms} ${r.hlc.c}`)
    expect(field(name, 'type')).toBe(r.type)
    expect(field(name, 'body_hex')).toBe(toHex(r.body))
    expect(field(name, 'record_hex')).toBe(toHex(r.bytes))
    expect(field(name, 'id')).toBe(toHex(r.id))
    // The id by its definition, not through recordId().
    const id = createHash('sha256').update('latchkey/record/v1\0', 'ascii').update(r.bytes).digest('hex')
    expect(field(name, 'id')).toBe(id)
    expect(field(name, 'sig')).toBe(toHex(r.sig))
    expect(field(name, 'wire_hex')).toBe(toHex(r.sig) + toHex(r.bytes))
    expect(toHex(wireBytes(r))).toBe(field(name, 'wire_hex'))

    const decoded = decodeWire(hexField(name, 'wire_hex'))
    expect(toHex(decoded.id)).toBe(field(name, 'id'))
    expect(decoded.seq).toBe(r.seq)
    expect(decoded.hlc).toEqual(r.hlc)
    expect(decoded.type).toBe(r.type)
    expect(toHex(decoded.body)).toBe(toHex(r.body))
    expect(field(name, 'decode')).toBe('ok')
    expect(field(name, 'node_verify')).toBe('true')
    expect(verifySignature(decoded)).toBe(true)
  })

  it('the genesis id is the site id of the later records', () => {
    expect(field('enrol', 'site')).toBe(field('genesis', 'id'))
    expect(field('event', 'site')).toBe(field('genesis', 'id'))
    expect(field('genesis', 'site')).toBe('00'.repeat(32))
  })

  it('state: entries hash to the state hash, and the ledger folds the records into exactly that state', async () => {
    const entries = vectors
      .get('state')!
      .get('entry')!
      .map((line) => {
        const [key, hex] = line.split(' ') as [string, string]
        return { key, bytes: fromHex(hex) }
      })
    const hash = Buffer.alloc(32)
    for (const { key, bytes } of entries) {
      // Values are canonical dag-cbor.
      expect(toHex(dagCbor.encode(dagCbor.decode(bytes)))).toBe(toHex(bytes))
      const h = createHash('sha256')
        .update(Buffer.from(key, 'utf8'))
        .update(Buffer.of(0))
        .update(bytes)
        .digest()
      for (let i = 0; i < 32; i++) hash[i] = hash[i]! ^ h[i]!
    }
    expect(field('state', 'state_hash')).toBe(hash.toString('hex'))
    const rejected = entries.find((e) => e.key === `ledger/rejected/${toHex(rogueEnrol.id)}`)
    expect(dagCbor.decode(rejected!.bytes)).toBe('site.NOT_ADMIN')

    const ledger = await openTestLedger({ clock: new HybridClock({ now: () => T0 + 60_000 }) })
    try {
      const wires = positives.map(([name]) => hexField(name, 'wire_hex'))
      expect(ledger.ingest(wires).accepted).toBe(4)
      const held = ledger.view.list('').map(([key]) => `${key} ${toHex(ledger.query.stateBytes(key)!)}`)
      expect(held).toEqual(vectors.get('state')!.get('entry'))
      expect(ledger.stateHash).toBe(field('state', 'state_hash'))
    } finally {
      await ledger.close()
    }
  })

  it('genesis-bad-sig: one bit of S flipped; decodes, fails verification', () => {
    const wire = hexField('genesis-bad-sig', 'wire_hex')
    const good = wireBytes(genesis)
    const diff = [...wire].map((b, i) => b ^ good[i]!)
    expect(diff.filter((d) => d !== 0)).toEqual([0x01])
    expect(diff[32]).toBe(0x01)
    expect(verifySignature(decodeWire(wire))).toBe(false)
  })

  it('genesis-s-plus-l: S + L with the same R; refused by strict verification', () => {
    const sig = hexField('genesis-s-plus-l', 'sig')
    expect(toHex(sig.subarray(0, 32))).toBe(toHex(genesis.sig.subarray(0, 32)))
    expect(leToBigint(sig.subarray(32)) - L).toBe(leToBigint(genesis.sig.subarray(32)))
    expect(field('genesis-s-plus-l', 'wire_hex')).toBe(toHex(sig) + toHex(genesis.bytes))
    expect(verifySignature({ ...genesis, sig })).toBe(false)
  })

  it('genesis-noncanonical-order: the genesis values, keys sorted bytewise; decodeWire refuses NOT_CANONICAL', () => {
    const bytes = hexField('genesis-noncanonical-order', 'record_hex')
    expect(toHex(bytes)).not.toBe(toHex(genesis.bytes))
    expect(dagCbor.decode(bytes)).toEqual(dagCbor.decode(genesis.bytes))
    expect(field('genesis-noncanonical-order', 'wire_hex')).toBe(toHex(genesis.sig) + toHex(bytes))
    expect(field('genesis-noncanonical-order', 'decode')).toBe('NOT_CANONICAL')
    expect(decodeCode(hexField('genesis-noncanonical-order', 'wire_hex'))).toBe('NOT_CANONICAL')
  })

  it('genesis-noncanonical-int: v written as 0x18 0x01; refused (MALFORMED: the strict decoder throws first)', () => {
    const bytes = Buffer.concat([
      genesis.bytes.subarray(0, 3),
      Buffer.of(0x18, 0x01),
      genesis.bytes.subarray(4),
    ])
    expect(field('genesis-noncanonical-int', 'record_hex')).toBe(bytes.toString('hex'))
    expect(field('genesis-noncanonical-int', 'wire_hex')).toBe(toHex(genesis.sig) + bytes.toString('hex'))
    expect(field('genesis-noncanonical-int', 'decode')).toBe('MALFORMED')
    expect(decodeCode(hexField('genesis-noncanonical-int', 'wire_hex'))).toBe('MALFORMED')
  })

  it('genesis-noncanonical-body: canonical envelope, non-canonical body; refused NOT_CANONICAL', () => {
    const body = hexField('genesis-noncanonical-body', 'body_hex')
    expect(dagCbor.decode(body)).toEqual(dagCbor.decode(genesis.body))
    expect(toHex(body)).not.toBe(toHex(genesis.body))
    const signed = signRecord({ ...genesis, body }, admin.privateKeyObject)
    expect(field('genesis-noncanonical-body', 'record_hex')).toBe(toHex(signed.bytes))
    expect(field('genesis-noncanonical-body', 'wire_hex')).toBe(toHex(wireBytes(signed)))
    expect(field('genesis-noncanonical-body', 'decode')).toBe('NOT_CANONICAL')
    expect(decodeCode(wireBytes(signed))).toBe('NOT_CANONICAL')
  })

  it('small-order-key: a forgery for a small-order key that only ZIP-215 accepts', () => {
    const author = hexField('small-order-key', 'author')
    expect(ed.Point.fromBytes(author).isSmallOrder()).toBe(true)
    const r = decodeWire(hexField('small-order-key', 'wire_hex'))
    expect(toHex(r.author)).toBe(toHex(author))
    expect(toHex(r.id)).toBe(field('small-order-key', 'id'))
    expect(toHex(recordId(hexField('small-order-key', 'record_hex')))).toBe(toHex(r.id))
    expect(verifySignature(r)).toBe(false)
    expect(ed.verify(r.sig, r.id, r.author, { zip215: true })).toBe(true)
  })

  describe('signature verdicts: node:crypto, @noble/ed25519 strict and ZIP-215, cofactorless check', () => {
    const signed = [...vectors.entries()].filter(([, b]) => b.get('decode')?.[0] === 'ok')

    it('covers the positive and negative signature vectors', () => {
      expect(signed.map(([n]) => n).sort()).toEqual(
        [
          'genesis',
          'enrol',
          'event',
          'rogue-enrol',
          'genesis-bad-sig',
          'genesis-s-plus-l',
          'small-order-key',
          'genesis-mixed-order-r',
        ].sort(),
      )
    })

    it.each(signed.map(([n]) => n))('%s', (name) => {
      const r = decodeWire(hexField(name, 'wire_hex'))
      const node = verifySignature(r)
      const nobleStrict = ed.verify(r.sig, r.id, r.author, { zip215: false })
      const nobleZip215 = ed.verify(r.sig, r.id, r.author, { zip215: true })
      expect(node).toBe(boolField(name, 'node_verify'))
      expect(nobleStrict).toBe(boolField(name, 'noble_strict'))
      expect(nobleZip215).toBe(boolField(name, 'noble_zip215'))
      // The protocol's rule (§1.3) built from noble's primitives agrees with node:crypto everywhere.
      expect(cofactorlessVerify(r.sig, r.id, r.author)).toBe(node)
      if (name === 'genesis-mixed-order-r') {
        // The documented disagreement: noble's strict mode is cofactored.
        expect({ node, nobleStrict }).toEqual({ node: false, nobleStrict: true })
      } else {
        expect(nobleStrict).toBe(node)
      }
    })
  })
})
