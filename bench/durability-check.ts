/**
 * The durability bench's check of the ledger file after each kill (bench/durability-harness.ts):
 * every acknowledged id is there, the records written since the previous check are in sequence,
 * hash-link and carry good signatures, and the saved state hash matches.
 */
import { ledgerDapp } from '../dapps/contract.ts'
import { builtinDapps } from '../dapps/index.ts'
import { Ledger } from '../runtime/core/ledger/ledger.ts'
import { equalBytes, recordId, toHex, verifySignature } from '../runtime/core/ledger/record.ts'
import { createLogger } from '../runtime/core/log.ts'

/** Checks the ledger file after each kill; it keeps what earlier rounds checked. */
export class LedgerCheck {
  readonly #file: string
  /** Per author: the last seq checked, and its id. */
  readonly #checked = new Map<string, { seq: number; id: Uint8Array }>()
  readonly #present = new Set<string>()
  readonly #acknowledged: string[] = []
  /** Acknowledged ids found missing by any check. */
  readonly missing = new Set<string>()
  records = 0

  constructor(file: string) {
    this.#file = file
  }

  /** Checks the records new since the last round (or all, when `full`) and the round's acks. */
  async round(
    acks: string[],
    full: boolean,
  ): Promise<{ lost: string[]; problem: string | null; records: number }> {
    this.#acknowledged.push(...acks)
    const warnings: string[] = []
    let ledger: Ledger
    try {
      ledger = new Ledger({
        file: this.#file,
        readonly: true,
        log: createLogger({
          level: 'warn',
          destination: { write: (line: string) => void warnings.push(line) },
        }),
        dapps: builtinDapps.map(ledgerDapp),
      })
      await ledger.ready()
    } catch (err) {
      return {
        lost: [],
        problem: `the ledger did not open: ${(err as Error).message}`,
        records: this.records,
      }
    }
    try {
      let problem: string | null = null
      if (warnings.some((w) => w.includes('does not match its hash')))
        problem = 'the materialized state does not match its saved hash'
      if (full) {
        this.#present.clear()
        for (const r of ledger.query.records()) this.#present.add(toHex(r.id))
        const v = await ledger.query.verifyAll()
        if (v.problem)
          problem ??= `verifyAll: ${v.problem.problem} at ${v.problem.author.slice(0, 12)}…/${v.problem.seq}`
        for (const [author, head] of ledger.heads())
          this.#checked.set(author, { seq: head.seq, id: hexBytes(head.id) })
      } else {
        problem ??= this.#checkNew(ledger)
      }
      this.records = ledger.count
      const lost = (full ? this.#acknowledged : acks).filter((id) => !this.#present.has(id))
      for (const id of lost) this.missing.add(id)
      return { lost, problem, records: this.records }
    } finally {
      await ledger.close()
    }
  }

  /** Hash links, sequence and signature of every record past the last checked head. */
  #checkNew(ledger: Ledger): string | null {
    const heads = ledger.heads()
    for (const [author, done] of this.#checked) {
      const head = heads.get(author)
      if (!head || head.seq < done.seq)
        return `author ${author.slice(0, 12)}… went back from seq ${done.seq} to ${head?.seq ?? 0}`
    }
    for (const [author, head] of heads) {
      const done = this.#checked.get(author) ?? { seq: 0, id: new Uint8Array(0) }
      let expect = done.seq
      let prevId: Uint8Array | null = done.seq > 0 ? done.id : null
      while (expect < head.seq) {
        const page = ledger.query.range(author, expect + 1, 4096)
        if (page.length === 0)
          return `author ${author.slice(0, 12)}…: seq ${expect + 1} missing below head ${head.seq}`
        for (const r of page) {
          const where = `author ${author.slice(0, 12)}… seq ${r.seq}`
          if (r.seq !== expect + 1) return `${where}: sequence gap, expected ${expect + 1}`
          if (prevId ? !r.prev || !equalBytes(r.prev, prevId) : r.prev !== null)
            return `${where}: does not link to the record before it`
          if (!equalBytes(recordId(r.bytes), r.id)) return `${where}: does not hash to its id`
          if (!verifySignature(r)) return `${where}: signature does not verify`
          this.#present.add(toHex(r.id))
          prevId = r.id
          expect = r.seq
        }
      }
      this.#checked.set(author, { seq: head.seq, id: hexBytes(head.id) })
    }
    return null
  }
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}
