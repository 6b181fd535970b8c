/**
 * Badge readers: what the node and the dapps use. `createReader()` builds a driver from a config
 * entry; every driver is a `BadgeReader` (ready/close, `badge` and `health` events, `health()`
 * snapshot) and every badge comes out as one `BadgeEvent` carrying one canonical credential id
 * (credential.ts). Decoders, drivers and test doubles are imported from their own files.
 */

import type { Clock } from '../../runtime/core/clock.ts'
import type { Logger } from '../../runtime/core/log.ts'
import { type ReaderConfig, validateReaderConfig } from './config.ts'
import { Pn532Reader } from './drivers/pn532.ts'
import { SerialStreamReader } from './drivers/serial-stream.ts'
import { WedgeReader } from './drivers/wedge.ts'
import { WiegandReader } from './drivers/wiegand.ts'
import { GpiomonEdgeSource } from './edges/gpiomon.ts'
import type { EdgeSource } from './edges/source.ts'
import type { BadgeReader } from './reader.ts'
import type { SerialOpener } from './serial/port.ts'

export { type ReaderConfig, readerName, validateReaderConfig } from './config.ts'
export type { Credential } from './credential.ts'
export type { ReaderHealth } from './health.ts'
export type { BadgeEvent, BadgeReader } from './reader.ts'

export interface ReaderDeps {
  clock?: Clock
  log?: Logger
  /** Serial backend; default the `serialport` package. */
  serial?: SerialOpener
  /** Wiegand edges; default a gpiomon source built from the config (then closed with the reader). */
  edges?: EdgeSource
}

/** Builds a reader from a config entry (validated here). No I/O until `ready()`. */
export function createReader(
  config: ReaderConfig | Readonly<Record<string, unknown>>,
  deps: ReaderDeps = {},
): BadgeReader {
  const c: ReaderConfig = validateReaderConfig(config)
  const common = {
    clock: deps.clock,
    log: deps.log,
    debounceMs: c.debounceMs,
    degradedMs: c.degradedMs,
  }
  switch (c.type) {
    case 'rdm6300':
    case 'id12la':
    case 'line':
      return new SerialStreamReader({
        ...common,
        name: c.name ?? `${c.type}:${c.path}`,
        type: c.type,
        path: c.path,
        baudRate: c.baudRate,
        format: c.format,
        backoff: c.reconnect,
        serial: deps.serial,
      })
    case 'pn532':
      return new Pn532Reader({
        ...common,
        name: c.name ?? `pn532:${c.path}`,
        path: c.path,
        baudRate: c.baudRate,
        pollIntervalMs: c.pollIntervalMs,
        ackTimeoutMs: c.ackTimeoutMs,
        responseTimeoutMs: c.responseTimeoutMs,
        maxFailures: c.maxFailures,
        passiveRetries: c.passiveRetries,
        backoff: c.reconnect,
        serial: deps.serial,
      })
    case 'wedge':
      return new WedgeReader({
        ...common,
        name: c.name ?? `wedge:${c.path}`,
        path: c.path,
        format: c.format,
        eventSize: c.eventSize,
        keyTimeoutMs: c.keyTimeoutMs,
        pollMs: c.pollMs,
        presenceCheckMs: c.presenceCheckMs,
        backoff: c.reconnect,
      })
    case 'wiegand26':
    case 'wiegand34': {
      const edges =
        deps.edges ??
        new GpiomonEdgeSource({
          tool: c.gpiomon,
          chip: c.chip,
          d0: c.d0,
          d1: c.d1,
          version: c.gpiomonVersion,
          clock: deps.clock,
          log: deps.log,
          backoff: c.reconnect,
        })
      return new WiegandReader({
        ...common,
        name: c.name ?? `${c.type}:${c.chip}`,
        type: c.type,
        edges,
        ownsEdges: deps.edges === undefined,
        gapMs: c.gapMs,
      })
    }
  }
}
