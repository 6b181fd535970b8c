import { SerialPort } from 'serialport'
import { onTestFinished } from 'vitest'
import { hasTool, tmpDir } from '../../../test/helpers/index.ts'
import { startPty } from '../testing/pty.ts'
import { serialContract } from './contract.ts'
import { MemorySerial } from './memory.ts'
import { serialportOpener } from './serialport.ts'

serialContract('memory', () => {
  const serial = new MemorySerial()
  return {
    opener: serial,
    path: '/dev/ttyMEM',
    send: async (bytes) => serial.send(bytes),
    received: () => Buffer.concat(serial.written),
    hangUp: async () => serial.unplug(),
  }
})

// Needs socat: skipped only on a developer machine without it (hasTool throws in CI when missing).
if (hasTool('socat')) {
  serialContract('serialport over a socat pty pair', async () => {
    const pty = await startPty(tmpDir())
    const device = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false })
    await new Promise<void>((resolve, reject) => device.open((err) => (err ? reject(err) : resolve())))
    device.on('error', () => {}) // the pty vanishing under it is what hangUp does
    const received: Buffer[] = []
    device.on('data', (c: Buffer) => received.push(c))
    onTestFinished(() => new Promise<void>((r) => (device.isOpen ? device.close(() => r()) : r())))
    return {
      opener: serialportOpener(),
      path: pty.a,
      send: (bytes) =>
        new Promise<void>((resolve, reject) =>
          device.write(Buffer.from(bytes), (err) => (err ? reject(err) : device.drain(() => resolve()))),
        ),
      received: () => Buffer.concat(received),
      hangUp: () => pty.unplug(),
    }
  })
}
