/**
 * An in-memory serial backend for unit tests on fake time: `MemorySerial` plays the device. Its
 * `open()` fails while the device is unplugged; `unplug()` makes the open link lost; what the
 * reader writes lands in `written` and is handed to `onWrite` (a device simulator).
 */
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import type { SerialHandlers, SerialLink, SerialOpener } from './port.ts'

export class MemorySerial implements SerialOpener {
  plugged = true
  /** Calls to open(), failed or not. */
  attempts = 0
  /** Successful opens. */
  opens = 0
  readonly written: Uint8Array[] = []
  /** Called with every write, after it is recorded. */
  onWrite: ((bytes: Uint8Array) => void) | null = null
  #handlers: SerialHandlers | null = null

  async open(path: string, _baudRate: number, handlers: SerialHandlers): Promise<SerialLink> {
    this.attempts++
    if (!this.plugged) throw readerErrors.OPEN_FAILED(path, 'No such file or directory')
    this.opens++
    this.#handlers = handlers
    return {
      write: async (bytes) => {
        // A closed link, and a link whose device was unplugged, take no more bytes.
        if (this.#handlers !== handlers) throw readerErrors.WRITE_FAILED(path, 'port is not open')
        this.written.push(Uint8Array.from(bytes))
        this.onWrite?.(bytes)
      },
      close: async () => {
        if (this.#handlers === handlers) this.#handlers = null
      },
    }
  }

  get isOpen(): boolean {
    return this.#handlers !== null
  }

  /** The device sends bytes (dropped when no link is open). */
  send(bytes: Uint8Array | string): void {
    this.#handlers?.data(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  unplug(): void {
    this.plugged = false
    const h = this.#handlers
    this.#handlers = null
    h?.lost(readerErrors.LOST('memory', 'unplugged'))
  }

  plug(): void {
    this.plugged = true
  }
}
