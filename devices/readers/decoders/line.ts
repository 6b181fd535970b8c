/**
 * "One ID per line" serial readers: bytes in, lines out. A line ends at CR, LF or CR LF; empty
 * lines are skipped; a line longer than `maxLength` is rejected and the rest of it discarded up
 * to the next line end (a line protocol can only resynchronise there). What a line means is
 * decided by credential.ts `parseCredentialText()`.
 */
import { accept, type ByteDecoder, type Decoded, reject } from './types.ts'

const CR = 0x0d
const LF = 0x0a

export class LineDecoder implements ByteDecoder<string> {
  readonly maxLength: number
  #line: number[] = []
  #overflow = false

  constructor(opts: { maxLength?: number } = {}) {
    this.maxLength = opts.maxLength ?? 64
  }

  push(chunk: Uint8Array): Decoded<string>[] {
    const out: Decoded<string>[] = []
    for (const b of chunk) {
      if (b === CR || b === LF) {
        if (this.#overflow) out.push(reject('overlong', `line longer than ${this.maxLength} bytes`))
        else if (this.#line.length > 0) out.push(lineOf(this.#line))
        this.#line = []
        this.#overflow = false
        continue
      }
      if (this.#overflow) continue
      this.#line.push(b)
      if (this.#line.length > this.maxLength) {
        this.#overflow = true
        this.#line = []
      }
    }
    return out
  }

  reset(): void {
    this.#line = []
    this.#overflow = false
  }
}

function lineOf(bytes: number[]): Decoded<string> {
  // Printable ASCII only: anything else is line noise, not an id.
  if (bytes.some((b) => b < 0x20 || b > 0x7e)) {
    return reject('malformed', `line with non-printable bytes: ${Buffer.from(bytes).toString('hex')}`)
  }
  return accept(String.fromCharCode(...bytes))
}
