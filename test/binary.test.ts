/**
 * Smoke test of the single binaries (`npm run build:binary`): dist/latchkey-linux-x64 natively
 * and dist/latchkey-linux-arm64 under qemu-aarch64-static. Everything goes through the
 * binary's own CLI: site init, member, badge and door records, `run` with a sim board and an
 * RDM6300 reader on a pty, a badge frame, the unlock seen in status, stop, `ledger verify`,
 * `self-test`, `verify-release`.
 *
 * The binary is copied into a read-only directory and run with no `node` on PATH (PATH is an
 * empty directory), HOME unwritable, and only its data dir and PKG_NATIVE_CACHE_PATH writable.
 * As root (CI), "read-only" is made real by running the binary as the `nobody` user.
 *
 * A missing binary fails in CI (.ci/run builds them first); on a developer machine the test
 * skips and says to run `npm run build:binary`.
 */
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { emFrame } from '../devices/readers/testing/fixtures.ts'
import { startPty } from '../devices/readers/testing/pty.ts'
import { hasTool, ROOT, spawnTracked, tmpDir } from './helpers/index.ts'

const CI = process.env.CI === 'true'
const NOBODY = 65534
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu'

interface Target {
  arch: 'x64' | 'arm64'
  binary: string
  /** Why the target cannot run here (dev machine only); null when it can. */
  missing: string | null
  /** Prefix that runs a binary of this arch here. */
  runner: string[]
  /** Scale for timeouts: qemu emulates arm64 instruction by instruction. */
  slow: number
}

function target(arch: 'x64' | 'arm64'): Target {
  const binary = join(ROOT, 'dist', `latchkey-linux-${arch}`)
  let missing: string | null = existsSync(binary) ? null : `${binary} is not built (npm run build:binary)`
  let runner: string[] = []
  if (arch !== process.arch && arch === 'arm64') {
    if (!hasTool('qemu-aarch64-static'))
      missing ??= 'qemu-aarch64-static is not installed (apt install qemu-user-static)'
    else if (!existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
      if (CI) throw new Error(`CI: ${ARM64_SYSROOT} is missing; .ci/run must install libc6-arm64-cross`)
      missing ??= `${ARM64_SYSROOT} is missing (apt install libc6-arm64-cross libstdc++6-arm64-cross)`
    } else {
      const qemu = execFileSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).trim()
      runner = [qemu, '-L', ARM64_SYSROOT]
    }
  }
  if (missing && CI) throw new Error(`CI: ${missing}; .ci/run builds the binaries before the tests`)
  return { arch, binary, missing, runner, slow: arch === process.arch ? 1 : 6 }
}

const targets = [target('x64'), target('arm64')]

// A target is skipped only on a developer machine without its binary or emulator (`missing`
// says which); in CI `target()` throws instead, so both targets always run there.
for (const t of targets) {
  describe.skipIf(t.missing !== null)(
    `single binary linux-${t.arch}${t.missing ? ` (skipped: ${t.missing})` : ''}`,
    () => {
      it(
        'runs from a read-only dir with no node on PATH: site, records, badge at a pty reader, unlock in status, stop, ledger verify',
        async () => {
          const root = tmpDir('latchkey-binary-')
          chmodSync(root, 0o755)
          const asRoot = process.getuid?.() === 0
          // Read-only: the binary's dir is root's and mode 0555; as root we run the binary as nobody.
          const binDir = join(root, 'bin')
          mkdirSync(binDir)
          const bin = join(binDir, 'latchkey')
          copyFileSync(t.binary, bin)
          chmodSync(bin, 0o555)
          chmodSync(binDir, 0o555)
          onTestFinished(() => chmodSync(binDir, 0o755)) // so tmpDir's cleanup can remove it
          const emptyPath = join(root, 'no-tools')
          mkdirSync(emptyPath, { mode: 0o555 })
          const data = join(root, 'data')
          const cache = join(root, 'cache')
          for (const d of [data, cache]) {
            mkdirSync(d)
            if (asRoot) chownSync(d, NOBODY, NOBODY)
          }
          const pty = await startPty(root)
          if (asRoot) chmodSync(pty.a, 0o666) // the pts device behind the link, for nobody

          const env = { PATH: emptyPath, HOME: binDir, PKG_NATIVE_CACHE_PATH: cache, TMPDIR: data, CI: '' }
          const prefix = [
            ...(asRoot
              ? ['/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']
              : []),
            ...t.runner,
          ]
          const spawnBin = (args: string[]) => {
            const [cmd, ...pre] = [...prefix, bin]
            return spawnTracked(cmd as string, [...pre, ...args], { env, cwd: data })
          }
          const lk = async (args: string[]) => {
            const s = spawnBin(args)
            const { code } = await s.exited
            return { code, stdout: s.stdout(), stderr: s.stderr() }
          }
          const ok = async (args: string[]) => {
            const r = await lk(args)
            expect(r.code, `latchkey ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
            return r.stdout
          }

          // The binary knows what it is, with no .git and no node around it.
          const version = await ok(['--version'])
          expect(version).toMatch(
            new RegExp(
              `^latchkey \\S+ \\(commit [0-9a-f]{7,}\\S*, node v\\d+\\.\\d+\\.\\d+, linux-${t.arch}\\)`,
            ),
          )
          expect(version).not.toContain('commit unknown')

          const config = join(data, 'node.yaml')
          writeFileSync(
            config,
            [
              `node: { name: door-1, dataDir: ${join(data, 'var')} }`,
              'http: { port: 0, publicStatus: full }', // the lock state read below
              'mqtt: { broker: { port: 0 } }',
              'site: { timeZone: Europe/Berlin }',
              'hardware:',
              '  gpio: sim',
              '  outputs:',
              // A long pulse: under qemu each status look takes seconds.
              '    - { name: front-lock, kind: lock, line: { name: GPIO17 }, pulseMs: 60000 }',
              '  readers:',
              `    - { type: rdm6300, name: front-reader, path: ${pty.a} }`,
              'doors:',
              '  - { name: front, reader: front-reader, lock: front-lock }',
              '',
            ].join('\n'),
          )
          if (asRoot) chownSync(config, NOBODY, NOBODY)
          const c = ['--config', config]
          await ok(['site', 'init', '--name', 'Binary Smoke', ...c])
          await ok(['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members', ...c])
          await ok(['badge', 'bind', 'em:4335412', 'alice', ...c])
          await ok(['door', 'set', 'front', '--groups', 'members', ...c])

          const node = spawnBin(['run', ...c])
          const up = await node.waitForLog((l) => l.msg === 'HTTP API listening', 60_000 * t.slow)
          await node.waitForLog((l) => l.msg === 'node ready', 30_000 * t.slow)
          // The checkpoint worker runs inside the binary too (its bundled code, the same addon).
          await node.waitForLog((l) => l.msg === 'WAL checkpoints run on a worker thread', 30_000 * t.slow)
          expect(node.stdout()).not.toContain('no checkpoint worker')
          const url = `http://127.0.0.1:${(up.address as { port: number }).port}`
          const lockState = async () => {
            const s = (await (await fetch(`${url}/api/v1/status`)).json()) as {
              hardware: { outputs: Array<{ name: string; state: string }> }
            }
            return s.hardware.outputs.find((o) => o.name === 'front-lock')?.state
          }
          expect(await lockState()).toBe('locked')

          writeFileSync(pty.b, emFrame(Uint8Array.of(0x1a, 0x00, 0x42, 0x27, 0x34))) // em:4335412, Alice
          await expect.poll(lockState, { timeout: 20_000 * t.slow, interval: 200 }).toBe('unlocked')
          // The same seen through the binary's own `status`.
          const status = JSON.parse(await ok(['status', '--json', '--url', url])) as {
            hardware: {
              outputs: Array<{ name: string; state: string }>
              readers: Array<{ health: { state: string } }>
            }
          }
          expect(status.hardware.outputs).toContainEqual(
            expect.objectContaining({ name: 'front-lock', state: 'unlocked' }),
          )
          expect(status.hardware.readers[0]?.health.state).toBe('ok')

          node.child.kill('SIGTERM')
          expect((await node.exited).code).toBe(0)
          await ok(['ledger', 'verify', ...c])
          const events = (await ok(['ledger', 'show', '--json', '--limit', '50', ...c]))
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { type: string; body: { decision?: string; member?: string } })
            .filter((e) => e.type === 'door-access.event')
          expect(events.map((e) => [e.body.decision, e.body.member])).toEqual([['granted', 'alice']])

          // self-test passes in this binary, under the same restrictions.
          const selfTest = await ok(['self-test'])
          for (const check of ['sqlite', 'crypto', 'broker', 'serial', 'gpio'])
            expect(selfTest).toMatch(new RegExp(`^(ok|warn) +${check} `, 'm'))

          // Native addons went to the cache dir we chose, nowhere else.
          expect(execFileSync('find', [cache, '-name', '*.node'], { encoding: 'utf8' })).toMatch(
            /better_sqlite3\.node|linux-/,
          )
        },
        300_000 * t.slow,
      )
    },
  )
}

const x64 = targets.find((t) => t.arch === 'x64') as Target
// Skipped only on a developer machine that has not run `npm run build:binary`; in CI the build
// runs first, so a missing signature is an error rather than a silent skip.
const signatureMissing = !existsSync(join(ROOT, 'dist', 'SHA256SUMS.sig'))
if (signatureMissing && CI)
  throw new Error('CI: dist/SHA256SUMS.sig is missing; .ci/run builds the binaries first')
describe.skipIf(x64.missing !== null || signatureMissing)('release signature', () => {
  it('verify-release accepts dist/ under its release key and refuses an altered binary or another key', async () => {
    const dir = tmpDir('latchkey-release-')
    const env = { PATH: join(dir, 'none'), PKG_NATIVE_CACHE_PATH: join(dir, 'cache') }
    const run = async (args: string[]) => {
      const s = spawnTracked(x64.binary, args, { env, cwd: dir })
      return { code: (await s.exited).code, out: s.stdout() + s.stderr() }
    }
    const pub = join(ROOT, 'dist', 'release.pub')
    const good = await run(['verify-release', join(ROOT, 'dist'), '--public-key', pub])
    expect(good.code, good.out).toBe(0)
    expect(good.out).toMatch(/^ok +SHA256SUMS\.sig/m)
    // The binary trusts the key it was built with when none is given.
    expect((await run(['verify-release', join(ROOT, 'dist')])).code).toBe(0)

    // A copy of the release with one binary altered by one byte.
    const copy = join(dir, 'release')
    mkdirSync(copy)
    for (const f of ['SHA256SUMS', 'SHA256SUMS.sig']) copyFileSync(join(ROOT, 'dist', f), join(copy, f))
    const listed = readFileSync(join(copy, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')[0]
      ?.split('  ')[1] as string
    const bytes = readFileSync(join(ROOT, 'dist', listed))
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff
    writeFileSync(join(copy, listed), bytes)
    const altered = await run(['verify-release', copy, '--public-key', pub, '--ignore-missing'])
    expect(altered.code).toBe(1)
    expect(altered.out).toMatch(new RegExp(`^FAIL +${listed} `, 'm'))

    const otherKey = await run(['verify-release', join(ROOT, 'dist'), '--public-key', '11'.repeat(32)])
    expect(otherKey.code).toBe(1)
    expect(otherKey.out).toMatch(/^FAIL +SHA256SUMS\.sig/m)
  }, 120_000)
})
