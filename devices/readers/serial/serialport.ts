/**
 * The real serial backend: the `serialport` package (prebuilt @serialport/bindings-cpp). Works
 * the same on a USB adapter and on a socat pseudo-terminal. A disconnect shows up as a `close`
 * event carrying `disconnected: true`; anything else that closes the port without our `close()`
 * counts as lost too. `SerialPort.list()` is never called here (it rejects without udevadm).
 */
import { SerialPort } from 'serialport'
import { readerErrors } from '../errors.ts'
import type { SerialHandlers, SerialLink, SerialOpener } from './port.ts'

export const serialportOpener: SerialOpener = {
  async open(path: string, baudRate: number, handlers: SerialHandlers): Promise<SerialLink> {
    const port = new SerialPort({ path, baudRate, autoOpen: false })
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(readerErrors.OPEN_FAILED(path, err.message)) : resolve()))
    })
    let closing = false
    let lost = false
    const onLost = (reason: string) => {
      if (closing || lost) return
      lost = true
      handlers.lost(readerErrors.LOST(path, reason))
    }
    port.on('data', (chunk: Buffer) => handlers.data(chunk))
    port.on('close', (err?: Error | null) => onLost(err?.message ?? 'port closed'))
    port.on('error', (err: Error) => {
      onLost(err.message)
      if (port.isOpen) port.close(() => {})
    })
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
  },
}
