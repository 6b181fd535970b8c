/**
 * Bulk signature verification on worker threads: each worker verifies a batch synchronously
 * with node:crypto (strict RFC 8032, one cached KeyObject per author) and answers with one byte
 * per record. Batches cross the thread boundary as one transferred buffer of
 * (public key 32 | id 32 | signature 64) entries, so nothing is cloned per record.
 * Used by `Ledger.verifyAll` to check a whole ledger on every core.
 *
 * The worker's code is a string and cannot import ../ed25519-strict.ts: the byte-level rules of
 * strict Ed25519 (docs/PROTOCOL.md §1.3) run here on the main thread, and a record that breaks
 * one is answered 0 whatever the worker's node:crypto says. The worker checks the equation.
 */
import { cpus } from 'node:os'
import { Worker } from 'node:worker_threads'
import { strictPrecheck } from '../ed25519-strict.ts'
import { helperThreadJs } from '../placement.ts'

const ENTRY = 128

/** The worker's code (after helperThreadJs(), prefixed when the worker starts). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createPublicKey, verify } = require('node:crypto')
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const keys = new Map()
parentPort.on('message', ({ id, buf }) => {
  const data = new Uint8Array(buf)
  const n = data.length / 128
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const o = i * 128
    const pub = data.subarray(o, o + 32)
    const hex = Buffer.from(pub).toString('hex')
    let key = keys.get(hex)
    try {
      if (!key) {
        key = createPublicKey({ key: Buffer.concat([SPKI, pub]), format: 'der', type: 'spki' })
        if (keys.size > 10000) keys.clear()
        keys.set(hex, key)
      }
      out[i] = verify(null, data.subarray(o + 32, o + 64), key, data.subarray(o + 64, o + 128)) ? 1 : 0
    } catch {
      out[i] = 0
    }
  }
  parentPort.postMessage({ id, out: out.buffer }, [out.buffer])
})
`

export class VerifyPool {
  #workers: Worker[] = []
  #next = 0
  #seq = 0
  #pending = new Map<number, (ok: Uint8Array) => void>()

  constructor(size = Math.max(1, cpus().length)) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(`${helperThreadJs()}${WORKER_SOURCE}`, { eval: true })
      w.on('message', ({ id, out }: { id: number; out: ArrayBuffer }) => {
        this.#pending.get(id)?.(new Uint8Array(out))
        this.#pending.delete(id)
      })
      this.#workers.push(w)
    }
  }

  /** Verifies a batch; resolves to one byte per record (1 = valid). */
  verify(batch: ReadonlyArray<{ author: Uint8Array; id: Uint8Array; sig: Uint8Array }>): Promise<Uint8Array> {
    const buf = new Uint8Array(batch.length * ENTRY)
    const refused: number[] = []
    batch.forEach((r, i) => {
      if (strictPrecheck(r.author, r.sig) !== null) refused.push(i)
      buf.set(r.author, i * ENTRY)
      buf.set(r.id, i * ENTRY + 32)
      buf.set(r.sig, i * ENTRY + 64)
    })
    const id = this.#seq++
    const worker = this.#workers[this.#next++ % this.#workers.length]!
    return new Promise((resolve) => {
      this.#pending.set(id, (ok) => {
        for (const i of refused) ok[i] = 0
        resolve(ok)
      })
      worker.postMessage({ id, buf: buf.buffer }, [buf.buffer])
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()))
    this.#workers = []
  }
}
