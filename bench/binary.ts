/**
 * Single-binary benchmark: `npm run bench -- binary [--runs N]` after `npm run build:binary`.
 * Prints one JSON line with, per binary in dist/:
 *
 * - size_mb: the file size.
 * - cold_start_ms: spawn of `latchkey run` to its `node ready` log line, with an empty native
 *   addon cache (PKG_NATIVE_CACHE_PATH), as on a board's first boot after an install.
 * - warm_start_ms: the same with the cache filled (median of --runs, default 3).
 * - rss_mb: resident memory of the process once ready (VmRSS).
 *
 * The node runs with a sim board, the HTTP API and its broker on loopback, no site. arm64 runs
 * under qemu-aarch64-static on an x64 host: its figures carry `"emulated": true` and say how
 * qemu does, not how a Pi does.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function runner(arch: string): string[] | null {
  if (arch === process.arch) return []
  if (arch !== 'arm64') return null
  try {
    const qemu = execFileSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).trim()
    return [qemu, '-L', '/usr/aarch64-linux-gnu']
  } catch {
    return null
  }
}

/** Starts `latchkey run`; resolves at `node ready` with the time it took and the RSS then. */
async function startOnce(cmd: string[], config: string, env: NodeJS.ProcessEnv) {
  const t0 = performance.now()
  const [bin, ...args] = cmd as [string, ...string[]]
  const child: ChildProcess = spawn(bin, [...args, 'run', '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`not ready in 180 s:\n${out}`)), 180_000)
      child.stdout!.on('data', (d) => {
        out += d
        if (out.includes('"msg":"node ready"')) {
          clearTimeout(timer)
          resolve(performance.now() - t0)
        }
      })
      child.on('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${out}`)))
    })
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1])
    return { readyMs, rssMb: rssKb / 1024 }
  } finally {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--runs')
  const runs = i >= 0 ? Number(args[i + 1]) : 3
  const binaries: Record<string, unknown> = {}
  for (const arch of ['x64', 'arm64']) {
    const file = join(root, 'dist', `latchkey-linux-${arch}`)
    const pre = runner(arch)
    if (!existsSync(file) || pre === null) {
      binaries[arch] = {
        skipped: existsSync(file) ? 'no way to run it here' : 'not built (npm run build:binary)',
      }
      continue
    }
    const dir = mkdtempSync(join(tmpdir(), `latchkey-bench-binary-${arch}-`))
    try {
      const config = join(dir, 'node.yaml')
      writeFileSync(
        config,
        [
          `node: { name: bench-${arch}, dataDir: ${join(dir, 'var')} }`,
          'http: { port: 0 }',
          'mqtt: { broker: { port: 0 } }',
          'log: { level: info }',
          'hardware: { gpio: sim }',
          '',
        ].join('\n'),
      )
      const env = { PATH: '/nonexistent', HOME: dir, PKG_NATIVE_CACHE_PATH: join(dir, 'cache') }
      const cold = await startOnce([...pre, file], config, env)
      const warm: Array<{ readyMs: number; rssMb: number }> = []
      for (let r = 0; r < runs; r++) warm.push(await startOnce([...pre, file], config, env))
      binaries[arch] = {
        size_mb: round(statSync(file).size / 1e6),
        cold_start_ms: Math.round(cold.readyMs),
        warm_start_ms: Math.round(median(warm.map((w) => w.readyMs))),
        rss_mb: round(median(warm.map((w) => w.rssMb))),
        emulated: pre.length > 0,
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  process.stdout.write(`${JSON.stringify({ bench: 'binary', host_arch: process.arch, runs, binaries })}\n`)
}
