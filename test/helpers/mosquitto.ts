/**
 * Debian's mosquitto for interop tests: writes a config listening on `port` (loopback) plus the
 * caller's lines, starts it (killed when the test ends) and waits until the port is taken.
 */
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { expect } from 'vitest'
import { spawnTracked } from './index.ts'

export async function startMosquitto(
  dir: string,
  port: number,
  lines: readonly string[] = [],
): Promise<void> {
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...lines, ''].join('\n'),
  )
  spawnTracked('mosquitto', ['-c', conf])
  await expect
    .poll(
      () =>
        new Promise<boolean>((resolve) => {
          const s = createServer()
          s.once('error', () => resolve(true)) // in use: mosquitto is listening
          s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
        }),
      { timeout: 5000 },
    )
    .toBe(true)
}
