/**
 * bin/latchkey.js as a real process: started by another Node it re-runs itself on the pinned
 * Node, and a signal to the launcher stops that node (ports and lock released); a reader that
 * closes stdout early ends the CLI quietly.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { initSite } from '../runtime/cli/site-init.ts'
import { defaultConfig } from '../runtime/config/load.ts'
import { silentLogger } from '../runtime/core/ledger/testing/fixtures.ts'
import { BIN, freePorts, ROOT, spawnTracked, tmpDir } from './helpers/index.ts'

const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies.node as string

/**
 * The `node` on PATH outside this checkout's node_modules (how `#!/usr/bin/env node` starts the
 * launcher from a shell; npm puts the pinned Node first on PATH), when it is not the pinned one.
 */
function machineNode(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || dir.startsWith(join(ROOT, 'node_modules'))) continue
    const node = join(dir, 'node')
    if (!existsSync(node)) continue
    try {
      const version = execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
      return version === pinned ? null : node
    } catch {}
  }
  return null
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await ok()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })

const NODE = machineNode()
// CI's machine has its own Node (20) on PATH besides the pinned one: there the test must run.
if (NODE === null && process.env.CI === 'true')
  throw new Error('CI: no Node other than the pinned one on PATH; the launcher test needs one')

describe('the launcher (bin/latchkey.js)', () => {
  // Without a second Node on PATH the launcher runs in place: there is no child to orphan.
  it.skipIf(NODE === null)(
    'SIGTERM to a launcher started by another Node stops the re-run node: ports and lock released',
    async () => {
      const dir = tmpDir()
      const [http, mqtt] = await freePorts(2)
      const env = {
        LATCHKEY_DATA_DIR: dir,
        LATCHKEY_HTTP_PORT: String(http),
        LATCHKEY_MQTT_PORT: String(mqtt),
      }
      const p = spawnTracked(NODE!, [BIN, 'run'], { env: { ...env, LATCHKEY_NO_REEXEC: '' } })
      await until('the node to answer', async () => {
        try {
          return (await fetch(`http://127.0.0.1:${http}/api/v1/status`)).ok
        } catch {
          return false
        }
      })
      const launcher = p.child.pid!
      const children = readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim().split(/\s+/)
      expect(children).toHaveLength(1)
      const child = Number(children[0])
      expect(existsSync(join(dir, 'node.lock'))).toBe(true)

      process.kill(launcher, 'SIGTERM')
      const exited = await p.exited
      expect(exited.code === 0 || exited.signal === 'SIGTERM').toBe(true)
      await until('the re-run node to end', () => !alive(child), 10_000)
      expect(await portFree(http!)).toBe(true)
      expect(await portFree(mqtt!)).toBe(true)
      expect(existsSync(join(dir, 'node.lock'))).toBe(false)
    },
  )

  it('`ledger show | head`: a reader that closes stdout early ends the CLI quietly, no EPIPE stack trace', async () => {
    const dir = tmpDir()
    const env = { LATCHKEY_DATA_DIR: dir, LATCHKEY_HTTP_PORT: '1' }
    await initSite({ config: defaultConfig({ env, cwd: dir }), log: silentLogger(), name: 'Pipe Space' })
    const child = spawn(process.execPath, [BIN, 'ledger', 'show'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // The reader goes away before the first line is written.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    clearTimeout(timer)
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })
})
