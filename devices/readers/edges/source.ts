/**
 * The GPIO edge contract the Wiegand reader needs, kept in this folder on purpose (readers do
 * not depend on devices/gpio): something that reports one `Edge` per data pulse (the falling
 * edge on D0 or D1) and says when it stops or comes back. Backends: `gpiomon.ts` (libgpiod's
 * command-line tool, v1 or v2) and `sim.ts` (in memory, for tests).
 */
import type { LatchkeyError } from '../../../runtime/core/errors.ts'
import type { Edge } from '../decoders/wiegand.ts'

export type { Edge, WiegandLine } from '../decoders/wiegand.ts'

export interface EdgeHandlers {
  /** One pulse; `at` in milliseconds on the source's own timescale (kernel timestamps for gpiomon). */
  edge(e: Edge): void
  /** The source is watching the lines (again). */
  up?(): void
  /** The source stopped (the tool exited, the chip is gone); it retries on its own. */
  down?(err: LatchkeyError): void
}

export interface EdgeSource {
  /** Starts watching. Rejects only when the source can never work (the tool is missing). Idempotent. */
  ready(): Promise<void>
  /** Stops watching and ends any child process. Idempotent. */
  close(): Promise<void>
  /** Adds handlers; returns a function that removes them. */
  subscribe(handlers: EdgeHandlers): () => void
}
