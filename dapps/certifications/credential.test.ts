/**
 * Signed credentials: a member's certifications exported by an enrolled key verify offline from
 * the document alone; any change, another site, or a key the site never enrolled is refused
 * with a stable code.
 */
import { createHash, sign } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { decodeWire, toHex } from '../../runtime/core/ledger/record.ts'
import { ADMIN, ADMIN2, DEVICE, provision, testKey } from '../../runtime/core/ledger/testing/fixtures.ts'
import {
  CREDENTIAL_FORMAT,
  type CredentialPayload,
  exportCredential,
  verifyCredential,
} from './credential.ts'
import { member } from './test-support.ts'
import { append, boardGrant, openLedger, put, site } from './testing.ts'

interface Doc {
  format: string
  payload: Uint8Array
  sig: Uint8Array
  proof: Uint8Array[]
}
const open = (bytes: Uint8Array) => dagCbor.decode(bytes) as Doc
const payloadOf = (d: Doc) => dagCbor.decode(d.payload) as CredentialPayload
const resign = (payload: Uint8Array, key: typeof ADMIN) =>
  new Uint8Array(
    sign(
      null,
      createHash('sha256').update(Buffer.from('latchkey/credential/v1\0')).update(payload).digest(),
      key.privateKeyObject,
    ),
  )

async function certified() {
  const l = await site()
  await append(l, 'certifications.grant', { member: 'bob', tool: 'laser', canTrain: true }, ADMIN)
  await append(
    l,
    'certifications.grant',
    boardGrant({ member: 'alice', tool: 'laser', trainer: 'bob' }, Date.now()),
    DEVICE,
  )
  await append(
    l,
    'certifications.grant',
    { member: 'alice', tool: 'class:saw', expires: '2027-01-31' },
    ADMIN,
  )
  return l
}

describe('signed credentials', () => {
  it('signed by the node (device) key: verifies offline with the document alone', async () => {
    const l = await certified()
    const doc = exportCredential(l, 'alice', DEVICE)
    const v = verifyCredential(doc, { site: toHex(l.site!) })
    expect(v).toMatchObject({ ok: true, signerRole: 'device' })
    if (!v.ok) return
    expect(v.credential).toMatchObject({
      site: toHex(l.site!),
      member: 'alice',
      name: 'Alice',
      signer: DEVICE.id,
    })
    expect(v.credential.certs.map((c) => [c.tool, c.grantedBy, c.expires])).toEqual([
      ['class:saw', `key:${ADMIN.id}`, '2027-01-31'],
      ['laser', 'bob', null],
    ])
    // The proof: the genesis, then ADMIN's enrolment of the device.
    expect(open(doc).proof.map((w) => decodeWire(w).type)).toEqual(['site.genesis', 'site.enrol'])
  })

  it('signed by an admin enrolled by another admin: the proof carries the whole chain', async () => {
    const l = await certified()
    await l.append('site.enrol', { key: ADMIN2.publicKey, role: 'admin', name: 'second' }, ADMIN)
    const key5 = testKey(5)
    await l.append('site.enrol', { key: key5.publicKey, role: 'admin', name: 'third' }, ADMIN2)
    const doc = exportCredential(l, 'alice', key5)
    expect(open(doc).proof).toHaveLength(3)
    expect(verifyCredential(doc)).toMatchObject({ ok: true, signerRole: 'admin' })
    expect(verifyCredential(exportCredential(l, 'alice', ADMIN))).toMatchObject({
      ok: true,
      signerRole: 'admin',
    })
  })

  it('CRED_BAD_SIGNATURE: a tampered certification list', async () => {
    const l = await certified()
    const d = open(exportCredential(l, 'alice', DEVICE))
    const p = payloadOf(d)
    p.certs[0]!.expires = '2099-12-31'
    const tampered = dagCbor.encode({ ...d, payload: dagCbor.encode(p) })
    expect(verifyCredential(tampered)).toMatchObject({ ok: false, code: 'CRED_BAD_SIGNATURE' })
    // One flipped byte anywhere in the payload, likewise.
    const flipped = new Uint8Array(d.payload)
    flipped[flipped.length - 3]! ^= 1
    expect(verifyCredential(dagCbor.encode({ ...d, payload: flipped }))).toMatchObject({
      ok: false,
      code: expect.stringMatching(/^CRED_(BAD_SIGNATURE|MALFORMED)$/),
    })
  })

  it('CRED_WRONG_SITE: another site is asked for, or the proof is of another site', async () => {
    const l = await certified()
    const doc = exportCredential(l, 'alice', DEVICE)
    expect(verifyCredential(doc, { site: 'ab'.repeat(32) })).toMatchObject({
      ok: false,
      code: 'CRED_WRONG_SITE',
    })

    // A second site with the same keys: its genesis and enrolment are genuine, but not this site's.
    const other = await openLedger()
    await other.admin.createGenesis('Other Space', [ADMIN.publicKey], ADMIN)
    await other.append('site.enrol', { key: DEVICE.publicKey, role: 'device', name: 'door-1' }, ADMIN)
    await put(other, member('alice'))
    const otherProof = open(exportCredential(other, 'alice', DEVICE)).proof
    const d = open(doc)
    expect(verifyCredential(dagCbor.encode({ ...d, proof: otherProof }))).toMatchObject({
      ok: false,
      code: 'CRED_WRONG_SITE',
    })
  })

  it('CRED_NOT_ENROLLED: signed by a key the site never enrolled', async () => {
    const l = await certified()
    const d = open(exportCredential(l, 'alice', DEVICE))
    const stranger = testKey(9)
    const payload = dagCbor.encode({ ...payloadOf(d), signer: stranger.id })
    const forged = dagCbor.encode({ ...d, payload, sig: resign(payload, stranger) })
    expect(verifyCredential(forged)).toMatchObject({ ok: false, code: 'CRED_NOT_ENROLLED' })
  })

  it('CRED_BAD_PROOF: an altered or foreign enrolment; CRED_MALFORMED: not a credential', async () => {
    const l = await certified()
    const d = open(exportCredential(l, 'alice', DEVICE))
    const enrol = new Uint8Array(d.proof[1]!)
    enrol[enrol.length - 5]! ^= 1
    expect(verifyCredential(dagCbor.encode({ ...d, proof: [d.proof[0]!, enrol] }))).toMatchObject({
      ok: false,
      code: 'CRED_BAD_PROOF',
    })
    // A device's record cannot enrol anyone.
    const notGenesis = dagCbor.encode({ ...d, proof: [d.proof[1]!] })
    expect(verifyCredential(notGenesis)).toMatchObject({ ok: false, code: 'CRED_BAD_PROOF' })
    expect(verifyCredential(new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false, code: 'CRED_MALFORMED' })
    expect(verifyCredential(dagCbor.encode({ ...d, format: 'other/1' }))).toMatchObject({
      ok: false,
      code: 'CRED_MALFORMED',
    })
    expect(d.format).toBe(CREDENTIAL_FORMAT)
  })

  it('CRED_STALE when older than the verifier allows', async () => {
    const l = await certified()
    const doc = exportCredential(l, 'alice', DEVICE)
    const issuedAt = payloadOf(open(doc)).issuedAt
    expect(verifyCredential(doc, { maxAgeMs: 1000, now: issuedAt + 500 }).ok).toBe(true)
    expect(verifyCredential(doc, { maxAgeMs: 1000, now: issuedAt + 5000 })).toMatchObject({
      code: 'CRED_STALE',
    })
  })

  it('a revoked or unknown key cannot export; an unknown member cannot be exported', async () => {
    const l = await certified()
    expect(() => exportCredential(l, 'alice', testKey(9))).toThrow(
      expect.objectContaining({ code: 'LK_CERT_SIGNER_NOT_ENROLLED' }),
    )
    await l.append('site.revoke', { key: DEVICE.publicKey, cut: 10, reason: 'stolen' }, ADMIN)
    expect(() => exportCredential(l, 'alice', DEVICE)).toThrow(
      expect.objectContaining({ code: 'LK_CERT_SIGNER_NOT_ENROLLED' }),
    )
    expect(() => exportCredential(l, 'zed', ADMIN)).toThrow(
      expect.objectContaining({ code: 'LK_CERT_UNKNOWN_MEMBER' }),
    )
  })

  it('a bare site with no members refuses to export an unknown member', async () => {
    const l = await openLedger()
    await provision(l)
    expect(() => exportCredential(l, 'nobody', ADMIN)).toThrow(
      expect.objectContaining({ code: 'LK_CERT_UNKNOWN_MEMBER' }),
    )
  })
})
