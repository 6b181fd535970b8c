/**
 * The real serial backend: the `serialport` package (prebuilt @serialport/bindings-cpp). Works
 * the same on a USB adapter and on a socat pseudo-terminal. A disconnect shows up as a `close`
 * event carrying `disconnected: true`; anything else that closes the port without our `close()`
 * counts as lost too. The device path is also checked twice a second: a USB adapter's node (and
 * its /dev/serial/by-id link) vanishes on unplug even when the port misses the hang-up.
 * `SerialPort.list()` is never called here (it rejects without udevadm).
 */
import { existsSync } from 'node:fs'
import { SerialPort } from 'serialport'
import { type Clock, systemClock } from '../../../runtime/core/clock.ts'
import { readerErrors } from '../../../runtime/core/errors/index.ts'
import { OneShot } from '../../one-shot.ts'
import type { SerialHandlers, SerialLink, SerialOpener } from './port.ts'

const PRESENCE_CHECK_MS = 500

/** The `serialport` backend; the presence check runs on `clock`. */
export function serialportOpener(clock: Clock = systemClock): SerialOpener {
  return { open: (path, baudRate, handlers) => open(path, baudRate, handlers, clock) }
}

async function open(
  path: string,
  baudRate: number,
  handlers: SerialHandlers,
  clock: Clock,
): Promise<SerialLink> {
  const port = new SerialPort({ path, baudRate, autoOpen: false })
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(readerErrors.OPEN_FAILED(path, err.message)) : resolve()))
  })
  let closing = false
  let lost = false
  const presence = new OneShot(clock)
  const checkPresence = () => {
    if (!existsSync(path)) onLost('device path vanished')
    else presence.arm(PRESENCE_CHECK_MS, checkPresence)
  }
  presence.arm(PRESENCE_CHECK_MS, checkPresence)
  const onLost = (reason: string) => {
    if (closing || lost) return
    lost = true
    presence.cancel()
    handlers.lost(readerErrors.LOST(path, reason))
    if (port.isOpen) port.close(() => {})
  }
  port.on('data', (chunk: Buffer) => handlers.data(chunk))
  port.on('close', (err?: Error | null) => onLost(err?.message ?? 'port closed'))
  port.on('error', (err: Error) => onLost(err.message))
  return {
    write(bytes: Uint8Array): Promise<void> {
      return new Promise((resolve, reject) => {
        if (closing || lost || !port.isOpen) {
          reject(readerErrors.WRITE_FAILED(path, 'port is not open'))
          return
        }
        port.write(Buffer.from(bytes), (err) => {
          if (err) reject(readerErrors.WRITE_FAILED(path, err.message))
          else port.drain((e) => (e ? reject(readerErrors.WRITE_FAILED(path, e.message)) : resolve()))
        })
      })
    },
    close(): Promise<void> {
      if (closing) return Promise.resolve()
      closing = true
      presence.cancel()
      return new Promise((resolve) => {
        if (!port.isOpen) {
          resolve()
          return
        }
        // A close error (the device vanished mid-close) leaves nothing to release.
        port.close(() => resolve())
      })
    },
  }
}
