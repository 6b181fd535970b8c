/**
 * Derives the site vectors: a small site built with the real ledger and the built-in dapps from
 * fixed seeds on a fixed clock (Ed25519 signing is deterministic), then
 *
 *   test/vectors/site.json        its keys, records (wire form), state entries and state hash,
 *                                 and the layout of the two files below
 *   test/vectors/site.export      the site's signed export (docs/PROTOCOL.md "Exports")
 *   test/vectors/site.credential  alice's portable credential (docs/PROTOCOL.md "Portable credentials")
 *
 *   node scripts/site-vectors.ts          prints site.json
 *   node scripts/site-vectors.ts --write  writes the three files
 *
 * test/site-vectors.test.ts rebuilds them and recomputes the state hash, the export's signed
 * message and the credential's from the documented rules alone.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportCredential } from '../dapps/certifications/credential.ts'
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { type KeyPair, keyPairFromSeed } from '../runtime/core/keys.ts'
import { writeExport } from '../runtime/core/ledger/export.ts'
import { HybridClock } from '../runtime/core/ledger/hlc.ts'
import { Ledger } from '../runtime/core/ledger/ledger.ts'
import { toHex, wireBytes } from '../runtime/core/ledger/record.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'

export const VECTORS_DIR = new URL('../test/vectors/', import.meta.url)
/** 2026-01-01T00:00:00Z: every record is stamped with it (the counter orders them). */
export const T0 = 1767225600000

export interface SiteVectors {
  description: string
  keys: Array<{ name: string; seed: string; publicKey: string }>
  /** In the ledger's total order. */
  records: Array<{ note: string; type: string; author: string; id: string; wire: string }>
  /** Every state entry: key → hex of the value's canonical dag-cbor; keys in bytewise order. */
  state: Record<string, string>
  stateHash: string
  export: { file: string; exporter: string; records: number }
  credential: { file: string; member: string; signer: string }
}

const KEYS: Array<[string, number]> = [
  ['admin', 0x01],
  ['door-board', 0x02],
  ['second-admin', 0x03],
]

export async function buildSiteVectors(): Promise<{
  json: SiteVectors
  exportBytes: Uint8Array
  credentialBytes: Uint8Array
}> {
  const pair = Object.fromEntries(
    KEYS.map(([name, byte]) => [name, keyPairFromSeed(new Uint8Array(32).fill(byte))]),
  ) as Record<string, KeyPair>
  const admin = pair.admin!
  const board = pair['door-board']!
  const second = pair['second-admin']!
  const ledger = new Ledger({
    log: silentLogger(),
    dapps: builtinDapps.map(ledgerDapp),
    clock: new HybridClock({ now: () => T0 }),
    file: ':memory:',
  })
  await ledger.ready()
  const notes = new Map<string, string>()
  const append = async (note: string, type: string, body: unknown, signer: KeyPair) => {
    const r = await ledger.append(type, body, signer)
    notes.set(toHex(r.record.id), note)
    return r
  }
  try {
    const genesis = await ledger.admin.createGenesis('Vector Space', [admin.publicKey], admin)
    notes.set(toHex(genesis.id), 'the genesis: admin is the only genesis admin')
    await append(
      'admin enrols a second admin',
      'site.enrol',
      { key: second.publicKey, role: 'admin', name: 'second admin' },
      admin,
    )
    await append(
      'admin enrols the door board',
      'site.enrol',
      { key: board.publicKey, role: 'device', name: 'front door' },
      admin,
    )
    await append(
      'the second admin adds member alice',
      'membership.put',
      {
        id: 'alice',
        name: 'Alice',
        contact: null,
        status: 'active',
        expires: '2026-12-31',
        groups: ['members'],
        staff: false,
      },
      second,
    )
    await append(
      'admin binds a badge to alice',
      'credentials.bind',
      { badge: 'em:4335412', member: 'alice' },
      admin,
    )
    await append(
      'admin certifies alice for the laser',
      'certifications.grant',
      { member: 'alice', tool: 'laser', trainer: null, canTrain: false, expires: '2026-06-30', after: [] },
      admin,
    )
    await append(
      'admin opens the front door to the members group at any time',
      'door-access.door',
      { door: 'front', groups: ['members'], schedule: null },
      admin,
    )
    await append(
      'the door board records that it let alice in',
      'door-access.event',
      {
        door: 'front',
        credential: 'em:4335412',
        member: 'alice',
        decision: 'granted',
        reason: 'allowed',
        at: T0,
      },
      board,
    )
    await append(
      'the door board tries to add a member: rejected by the fold (membership.NOT_ADMIN)',
      'membership.put',
      {
        id: 'mallory',
        name: 'Mallory',
        contact: null,
        status: 'active',
        expires: null,
        groups: [],
        staff: true,
      },
      board,
    )

    const records = [...ledger.query.records()]
      .sort((a, b) => a.hlc.ms - b.hlc.ms || a.hlc.c - b.hlc.c || Buffer.compare(a.id, b.id))
      .map((r) => ({
        note: notes.get(toHex(r.id)) ?? '',
        type: r.type,
        author: toHex(r.author),
        id: toHex(r.id),
        wire: toHex(wireBytes(r)),
      }))
    const state = Object.fromEntries(
      ledger.view
        .list('')
        .map(([key]): [string, string] => [key, toHex(ledger.query.stateBytes(key)!)])
        .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))),
    )

    const file = join(tmpdir(), `latchkey-site-vector-${process.pid}.export`)
    const summary = writeExport(ledger, file, admin)
    const exportBytes = new Uint8Array(readFileSync(file))
    rmSync(file)
    const credentialBytes = exportCredential(ledger, 'alice', board)

    return {
      json: {
        description:
          'A site built with the real ledger and the built-in dapps from fixed seeds (byte × 32) on a fixed clock; every hex is lower case. docs/dapps.md "State, exactly" says how each record writes the state and how the hash is computed; docs/PROTOCOL.md "Exports" and "Portable credentials" describe site.export and site.credential. Generated by scripts/site-vectors.ts.',
        keys: KEYS.map(([name, byte]) => ({
          name,
          seed: byte.toString(16).padStart(2, '0').repeat(32),
          publicKey: pair[name]!.id,
        })),
        records,
        state,
        stateHash: ledger.stateHash,
        export: { file: 'site.export', exporter: summary.exporter, records: summary.count },
        credential: { file: 'site.credential', member: 'alice', signer: board.id },
      },
      exportBytes,
      credentialBytes,
    }
  } finally {
    await ledger.close()
  }
}

export const renderSiteJson = (json: SiteVectors) => `${JSON.stringify(json, null, 2)}\n`

if (import.meta.main) {
  const v = await buildSiteVectors()
  if (process.argv.includes('--write')) {
    writeFileSync(new URL('site.json', VECTORS_DIR), renderSiteJson(v.json))
    writeFileSync(new URL('site.export', VECTORS_DIR), v.exportBytes)
    writeFileSync(new URL('site.credential', VECTORS_DIR), v.credentialBytes)
  } else process.stdout.write(renderSiteJson(v.json))
}
