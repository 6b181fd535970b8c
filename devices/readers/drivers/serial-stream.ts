/**
 * Serial readers that talk on their own: RDM6300 / ID-12LA (EM4100 frames) and "one ID per
 * line" readers. Bytes from the port go through the decoder; frames become credentials; the port
 * is reopened with backoff when it goes away. Such readers are silent without a badge, so
 * "stopped answering" cannot be told from "nobody badged": health tracks presence and garbage.
 */
import type { Credential, TextFormat } from '../credential.ts'
import { fromEm4100, parseCredentialText } from '../credential.ts'
import { Em4100Decoder } from '../decoders/em4100.ts'
import { LineDecoder } from '../decoders/line.ts'
import type { ByteDecoder, Decoded } from '../decoders/types.ts'
import { ReaderBase, type ReaderCommon } from '../reader.ts'
import { type Backoff, DEFAULT_BACKOFF, SerialConnection } from '../serial/connection.ts'
import type { SerialOpener } from '../serial/port.ts'
import { serialportOpener } from '../serial/serialport.ts'

export interface SerialStreamOptions extends ReaderCommon {
  type: 'rdm6300' | 'id12la' | 'line'
  path: string
  /** Default 9600 (RDM6300, ID-12LA and most line readers). */
  baudRate?: number
  /** Line readers only: how a line maps to a credential. Default `dec`. */
  format?: TextFormat
  backoff?: Backoff
  serial?: SerialOpener
}

/** Turns a frame decoder into a credential decoder. */
function credentials<F>(
  decoder: ByteDecoder<F>,
  toCredential: (frame: F) => Decoded<Credential>,
): ByteDecoder<Credential> {
  return {
    push: (chunk) => decoder.push(chunk).map((d) => (d.ok ? toCredential(d.frame) : d)),
    reset: () => decoder.reset(),
  }
}

export function serialStreamDecoder(
  type: SerialStreamOptions['type'],
  format: TextFormat,
): ByteDecoder<Credential> {
  if (type === 'line') {
    return credentials(new LineDecoder(), (line) => {
      const c = parseCredentialText(line, format)
      return c
        ? { ok: true, frame: c }
        : { ok: false, reason: 'malformed', detail: `${JSON.stringify(line)} is not a ${format} id` }
    })
  }
  return credentials(new Em4100Decoder(), (f) => ({ ok: true, frame: fromEm4100(f.bytes) }))
}

export class SerialStreamReader extends ReaderBase {
  readonly type: SerialStreamOptions['type']
  readonly path: string
  readonly #decoder: ByteDecoder<Credential>
  readonly #conn: SerialConnection

  constructor(opts: SerialStreamOptions) {
    super(opts)
    this.type = opts.type
    this.path = opts.path
    this.#decoder = serialStreamDecoder(opts.type, opts.format ?? 'dec')
    this.#conn = new SerialConnection({
      path: opts.path,
      baudRate: opts.baudRate ?? 9600,
      opener: opts.serial ?? serialportOpener(this.clock),
      clock: this.clock,
      log: this.log,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      events: {
        up: (_link, reconnected) => {
          this.#decoder.reset()
          this.markUp(reconnected)
        },
        down: (err) => {
          this.#decoder.reset()
          this.markDown(err)
        },
        data: (chunk) => {
          for (const d of this.#decoder.push(chunk)) {
            if (d.ok) this.present(d.frame)
            else this.badFrame(d.reason, d.detail)
          }
        },
      },
    })
  }

  protected async _open(): Promise<void> {
    await this.#conn.start()
  }

  protected async _close(): Promise<void> {
    await this.#conn.stop()
    this.monitor.close()
  }
}
