/**
 * The site vectors (test/vectors/site.*): (i) the real ledger, dapps, export and credential code
 * rebuild them byte for byte; (ii) the state and its hash follow from the records by the rules
 * of docs/dapps.md "State, exactly" alone, folded here by a small reimplementation; (iii) the
 * export and the credential are read, and their signed messages rebuilt, from the layouts in
 * docs/PROTOCOL.md alone (the CBOR of the signed export message is written out byte by byte).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { verifyStrict } from '../runtime/core/ed25519-strict.ts'
import { buildSiteVectors, renderSiteJson, type SiteVectors, VECTORS_DIR } from '../scripts/site-vectors.ts'

const json = JSON.parse(readFileSync(new URL('site.json', VECTORS_DIR), 'utf8')) as SiteVectors
const exportFile = new Uint8Array(readFileSync(new URL('site.export', VECTORS_DIR)))
const credentialFile = new Uint8Array(readFileSync(new URL('site.credential', VECTORS_DIR)))

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'))

describe('site vectors: the real code rebuilds them', () => {
  it('site.json, site.export and site.credential, byte for byte', async () => {
    const v = await buildSiteVectors()
    expect(renderSiteJson(v.json)).toBe(readFileSync(new URL('site.json', VECTORS_DIR), 'utf8'))
    expect(hex(v.exportBytes)).toBe(hex(exportFile))
    expect(hex(v.credentialBytes)).toBe(hex(credentialFile))
  })
})

interface Rec {
  author: string
  seq: number
  hlc: [number, number]
  type: string
  body: Record<string, unknown>
  id: string
}

/** docs/PROTOCOL.md §1.2: the record bytes follow the 64-byte signature; id = SHA-256(domain ‖ bytes). */
function readWire(wire: Uint8Array): Rec {
  const recordBytes = wire.subarray(64)
  const r = dagCbor.decode(recordBytes) as {
    author: Uint8Array
    seq: number
    hlc: [number, number]
    type: string
    body: Uint8Array
  }
  return {
    author: hex(r.author),
    seq: r.seq,
    hlc: r.hlc,
    type: r.type,
    body: dagCbor.decode(r.body) as Record<string, unknown>,
    id: hex(sha256(ascii('latchkey/record/v1\0'), recordBytes)),
  }
}

/** The body fields the vector's record types use. */
interface Body {
  name: string
  admins: Uint8Array[]
  key: Uint8Array
  role: string
  id: string
  badge: string
  member: string
  tool: string
  trainer: string | null
  canTrain: boolean
  expires: string | null
  after: string[]
  door: string
  groups: string[]
  schedule: string | null
  groupSchedules?: Record<string, string | null>
}

/** The fold of docs/dapps.md "State, exactly", for the record types of the vector. */
function fold(records: Rec[]): Map<string, unknown> {
  const state = new Map<string, unknown>()
  const ordered = [...records].sort(
    (a, b) => a.hlc[0] - b.hlc[0] || a.hlc[1] - b.hlc[1] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
  const addSorted = (key: string, id: string) => {
    const ids = (state.get(key) as string[] | undefined) ?? []
    if (!ids.includes(id)) state.set(key, [...ids, id].sort())
  }
  for (const r of ordered) {
    const b = r.body as unknown as Body
    const role =
      r.type === 'site.genesis' ? 'admin' : (state.get(`site/key/${r.author}`) as { role: string })?.role
    const owner = r.type.split('.')[0]!
    const adminOnly = r.type !== 'door-access.event'
    if (adminOnly && role !== 'admin') {
      state.set(`ledger/rejected/${r.id}`, `${owner}.NOT_ADMIN`)
      continue
    }
    switch (r.type) {
      case 'site.genesis':
        state.set('site/info', { name: b.name, genesis: r.id })
        for (const k of b.admins)
          state.set(`site/key/${hex(k)}`, { role: 'admin', name: 'genesis admin', by: r.author, at: r.seq })
        break
      case 'site.enrol':
        state.set(`site/key/${hex(b.key)}`, { role: b.role, name: b.name, by: r.author, at: r.seq })
        break
      case 'membership.put':
        state.set(`membership/member/${b.id}`, { ...r.body })
        break
      case 'credentials.bind': {
        state.set(`credentials/badge/${b.badge}`, {
          id: b.badge,
          member: b.member,
          status: 'active',
          enrolledBy: null,
          reason: null,
        })
        addSorted(`credentials/member/${b.member}`, b.badge)
        const em = /^em:([0-9]+)$/.exec(b.badge)
        if (em) addSorted(`credentials/low24/em24:${Number(em[1]) & 0xffffff}`, b.badge)
        state.delete(`credentials/expect/${b.member}`)
        break
      }
      case 'certifications.grant': {
        const grantedBy = b.trainer ?? `key:${r.author}`
        state.set(`certifications/grant/${b.member}/${b.tool}/${r.id}`, {
          id: r.id,
          hlc: r.hlc,
          member: b.member,
          tool: b.tool,
          grantedBy,
          signer: r.author,
          expires: b.expires,
          trainer: b.canTrain,
          after: [...b.after].sort(),
        })
        // The only grant of its (member, tool) and no revocation: it defines the certification.
        state.set(`certifications/cert/${b.member}/${b.tool}`, {
          member: b.member,
          tool: b.tool,
          grantedBy,
          grantedAt: r.hlc[0],
          expires: b.expires,
          trainer: b.canTrain,
          grant: r.id,
          signer: r.author,
        })
        break
      }
      case 'door-access.door':
        state.set(`door-access/door/${b.door}`, {
          door: b.door,
          groups: b.groups,
          schedule: b.schedule,
          groupSchedules: b.groupSchedules ?? {},
          removed: false,
        })
        break
      case 'door-access.event':
        break // writes nothing unless it names an unlock-once override
      default:
        throw new Error(`the test fold does not know ${r.type}`)
    }
  }
  return state
}

/** docs/PROTOCOL.md §5: XOR over entries of SHA-256(utf8(key) ‖ 0x00 ‖ dag-cbor(value)). */
function stateHash(state: Map<string, unknown>): string {
  const acc = new Uint8Array(32)
  for (const [key, value] of state) {
    const h = sha256(new TextEncoder().encode(key), new Uint8Array([0]), dagCbor.encode(value))
    for (let i = 0; i < 32; i++) acc[i]! ^= h[i]!
  }
  return hex(acc)
}

describe('site vectors: the state follows from the documented rules', () => {
  const records = json.records.map((r) => readWire(bytes(r.wire)))

  it('record ids are SHA-256 of the domain and the record bytes', () => {
    expect(records.map((r) => r.id)).toEqual(json.records.map((r) => r.id))
  })

  it('the fold gives every entry, byte for byte, and the state hash', () => {
    const state = fold(records)
    const entries = [...state]
      .map(([k, v]): [string, string] => [k, hex(dagCbor.encode(v))])
      .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
    expect(entries).toEqual(Object.entries(json.state))
    expect(stateHash(state)).toBe(json.stateHash)
  })
})

/** CBOR heads in their shortest form (RFC 8949 §3): major type and argument. */
function head(major: number, n: number): Uint8Array {
  const m = major << 5
  if (n < 24) return new Uint8Array([m | n])
  if (n < 0x100) return new Uint8Array([m | 24, n])
  if (n < 0x10000) return new Uint8Array([m | 25, n >> 8, n & 0xff])
  if (n < 0x100000000) return new Uint8Array([m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
  const b = new Uint8Array(9)
  b[0] = m | 27
  new DataView(b.buffer).setBigUint64(1, BigInt(n))
  return b
}
const text = (s: string) => Buffer.concat([head(3, s.length), ascii(s)])
const byteString = (b: Uint8Array) => Buffer.concat([head(2, b.length), b])

describe('site vectors: the export, read by its documented layout', () => {
  /** Magic, then frames of a u32 big-endian length and that many bytes. */
  function frames(file: Uint8Array): Uint8Array[] {
    expect(Buffer.from(file.subarray(0, 16)).toString('latin1')).toBe('LATCHKEY-EXPORT\n')
    const out: Uint8Array[] = []
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
    for (let o = 16; o < file.length; ) {
      const n = view.getUint32(o)
      out.push(file.subarray(o + 4, o + 4 + n))
      o += 4 + n
    }
    return out
  }

  it('header, records in wire form, trailer; the trailer signs the documented message', () => {
    const all = frames(exportFile)
    const header = all[0]!
    const trailer = all.at(-1)!
    const recordFrames = all.slice(1, -1)
    const site = bytes(json.records[0]!.id)
    // Header: {format: 1, site}, canonical: "site" sorts before "format".
    expect(hex(header)).toBe(
      hex(Buffer.concat([head(5, 2), text('site'), byteString(site), text('format'), head(0, 1)])),
    )
    expect(recordFrames.map(hex).sort()).toEqual(json.records.map((r) => r.wire).sort())
    // The genesis author's chain first, each author's records in seq order.
    expect(readWire(recordFrames[0]!).type).toBe('site.genesis')

    const t = dagCbor.decode(trailer) as {
      count: number
      digest: Uint8Array
      exporter: Uint8Array
      hlc: [number, number]
      sig: Uint8Array
    }
    expect(Object.keys(t).sort()).toEqual(['count', 'digest', 'exporter', 'hlc', 'sig'])
    expect(t.count).toBe(json.export.records)
    expect(hex(t.exporter)).toBe(json.export.exporter)
    // digest = SHA-256 over every record frame, length prefix included.
    const digest = sha256(...recordFrames.map((f) => Buffer.concat([u32(f.length), f])))
    expect(hex(t.digest)).toBe(hex(digest))
    // Signed: SHA-256("latchkey/export/v1\0" ‖ CBOR {hlc, site, count, digest, exporter}), keys
    // in canonical order (length first).
    const signed = Buffer.concat([
      head(5, 5),
      text('hlc'),
      head(4, 2),
      head(0, t.hlc[0]),
      head(0, t.hlc[1]),
      text('site'),
      byteString(site),
      text('count'),
      head(0, t.count),
      text('digest'),
      byteString(digest),
      text('exporter'),
      byteString(t.exporter),
    ])
    const message = sha256(ascii('latchkey/export/v1\0'), signed)
    expect(verifyStrict(t.exporter, message, t.sig)).toBe(true)
    // The exporter is a key the export itself enrols (here the genesis admin).
    expect(json.keys.find((k) => k.name === 'admin')!.publicKey).toBe(hex(t.exporter))
  })
})

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

describe('site vectors: the credential, read by its documented layout', () => {
  it('format, payload, sig over the domain-tagged payload hash, and the enrolment proof', () => {
    const doc = dagCbor.decode(credentialFile) as {
      format: string
      payload: Uint8Array
      sig: Uint8Array
      proof: Uint8Array[]
    }
    expect(Object.keys(doc).sort()).toEqual(['format', 'payload', 'proof', 'sig'])
    expect(doc.format).toBe('latchkey-credential/1')
    const p = dagCbor.decode(doc.payload) as {
      site: string
      member: string
      name: string | null
      certs: Array<Record<string, unknown>>
      issuedAt: number
      signer: string
    }
    expect(p).toMatchObject({
      site: json.records[0]!.id,
      member: 'alice',
      name: 'Alice',
      signer: json.credential.signer,
    })
    // The certifications are the state's certifications/cert/alice/* values.
    expect(p.certs.map((c) => hex(dagCbor.encode(c)))).toEqual([
      json.state['certifications/cert/alice/laser'],
    ])
    const message = sha256(ascii('latchkey/credential/v1\0'), doc.payload)
    expect(verifyStrict(bytes(p.signer), message, doc.sig)).toBe(true)
    // Proof: the genesis, then the enrolment of the signer by a genesis admin.
    const proof = doc.proof.map(readWire)
    expect(proof.map((r) => r.type)).toEqual(['site.genesis', 'site.enrol'])
    expect(proof[0]!.id).toBe(p.site)
    expect(hex(proof[1]!.body.key as Uint8Array)).toBe(p.signer)
  })
})
