/**
 * The serial port contract the serial readers use (after serialport's bindings-interface): one
 * `open()` that hands back a link, data and loss reported through handlers. Backends:
 * `serialport.ts` (the real thing, also over ptys) and `memory.ts` (an in-memory device for unit
 * tests on fake time).
 */
import type { LatchkeyError } from '../../../runtime/core/errors.ts'

export interface SerialHandlers {
  /** Bytes as they arrive; a chunk is never a message. */
  data(chunk: Uint8Array): void
  /** The port closed without `close()` being called (unplugged, I/O error). Called at most once. */
  lost(err: LatchkeyError): void
}

export interface SerialLink {
  /** Queues bytes for the device; resolves when the OS has taken them, rejects with LK_READER_WRITE_FAILED. */
  write(bytes: Uint8Array): Promise<void>
  /** Closes the port; `lost` is not called afterwards. Idempotent. */
  close(): Promise<void>
}

export interface SerialOpener {
  /** Opens `path` at `baudRate` (8N1, no flow control); rejects with LK_READER_OPEN_FAILED. */
  open(path: string, baudRate: number, handlers: SerialHandlers): Promise<SerialLink>
}
