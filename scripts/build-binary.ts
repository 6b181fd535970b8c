/**
 * `npm run build:binary [-- --arch x64,arm64] [--key <release key file>]`: single binaries
 * dist/latchkey-linux-<arch>, dist/SHA256SUMS and its detached Ed25519 signature
 * dist/SHA256SUMS.sig. Offline: every input comes from the npm registry (see docs/binary.md).
 *
 * Steps, per architecture:
 *   1. node      the pinned Node for <arch> from the registry's `node-linux-<arch>` package
 *   2. bundle    esbuild: the CLI and every pure-JS dependency in one CommonJS file; the
 *                packages with native addons stay outside it
 *   3. natives   a stage dir with those packages, keeping only <arch>'s prebuilds; onoff's
 *                `epoll` is compiled for <arch> (cross-compiled with Debian's aarch64 toolchain
 *                for arm64) or left out, in which case the onoff backend says why it is missing
 *   4. seed      pkg's SEA cache (`$HOME/.pkg-cache/sea/node-v<ver>-linux-<arch>…`) with that
 *                Node, under a HOME of our own (node_modules/.cache/latchkey/pkg-home), so pkg
 *                never downloads anything
 *   5. pkg       @yao-pkg/pkg --sea on the stage dir
 * then SHA256SUMS over the binaries and its signature with the release key.
 *
 * The release key is a key file (runtime/core/keys.ts format, mode 0600) from `--key` or
 * LATCHKEY_RELEASE_KEY; without one a throwaway key is generated in dist/ (fine for CI, never
 * for a release) and said so. Its public key is written to dist/release.pub and baked into the
 * binaries as the key `latchkey verify-release` trusts by default.
 */
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { generateSeed, readKeyFile, writeKeyFile } from '../runtime/core/keys.ts'
import { signRelease, sumsFile } from '../runtime/release.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const NODE_VERSION: string = pkg.devDependencies.node
const cache = join(root, 'node_modules', '.cache', 'latchkey')
const dist = join(root, 'dist')
const require = createRequire(import.meta.url)

export type Arch = 'x64' | 'arm64'
const GNU: Record<Arch, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }

/** Packages that load a native addon: kept out of the bundle, shipped as files for pkg. */
const EXTERNAL = ['better-sqlite3', '@serialport/bindings-cpp', 'onoff', 'epoll']
/** Build-time only dependencies of those packages (C headers): never shipped. */
const BUILD_ONLY = new Set(['nan', 'node-addon-api'])

const log = (msg: string) => process.stdout.write(`build:binary: ${msg}\n`)

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
}

/** Runs a chatty tool (node-gyp, pkg): its output is shown only when it fails. */
function quiet(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): void {
  try {
    execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe', ...opts })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string }
    process.stderr.write(`${e.stdout ?? ''}${e.stderr ?? ''}`)
    throw err
  }
}

/** Step 1: bin/node and include/node of the pinned Node for `arch`, from the npm registry. */
function nodeFor(arch: Arch): { bin: string; dir: string } {
  const dir = join(cache, `node-linux-${arch}-${NODE_VERSION}`, 'package')
  const bin = join(dir, 'bin', 'node')
  if (existsSync(bin) && existsSync(join(dir, 'include', 'node', 'node.h'))) return { bin, dir }
  mkdirSync(dirname(dir), { recursive: true })
  log(`fetching node-linux-${arch}@${NODE_VERSION} from the npm registry`)
  const out = sh('npm', ['pack', `node-linux-${arch}@${NODE_VERSION}`, '--silent'], { cwd: dirname(dir) })
  const tarball = join(dirname(dir), out.trim().split('\n').pop() as string)
  sh('tar', [
    '-xzf',
    tarball,
    '-C',
    dirname(dir),
    'package/bin/node',
    'package/include',
    'package/package.json',
  ])
  rmSync(tarball)
  return { bin, dir }
}

/**
 * The checkpoint worker with better-sqlite3's JavaScript in one file: a worker cannot load
 * modules from the binary's snapshot (runtime/core/ledger/checkpointer.ts). Its addon stays out: the
 * worker is handed the file the main thread loaded.
 */
async function checkpointWorker(): Promise<string> {
  const out = await build({
    entryPoints: [join(root, 'runtime', 'core', 'ledger', 'checkpoint-worker.cjs')],
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    external: ['bindings'],
    legalComments: 'none',
    logLevel: 'warning',
  })
  return out.outputFiles[0]!.text
}

/** Step 2: one CommonJS file; the build's commit and release key baked in. */
async function bundle(outfile: string, baked: { commit: string; releaseKey: string }): Promise<void> {
  const worker = await checkpointWorker()
  await build({
    entryPoints: [join(root, 'runtime', 'cli', 'standalone.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    external: EXTERNAL,
    // CommonJS has no import.meta: give modules that ask for their URL the bundle's own.
    define: {
      'import.meta.url': '__latchkey_bundle_url',
      LATCHKEY_BUILD_COMMIT: JSON.stringify(baked.commit),
      LATCHKEY_BUILD_RELEASE_KEY: JSON.stringify(baked.releaseKey),
      LATCHKEY_CHECKPOINT_WORKER: JSON.stringify(worker),
    },
    banner: { js: 'var __latchkey_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    legalComments: 'none',
    logLevel: 'warning',
  })
}

/** The package directory of `name` as resolved from `from`, and the packages it needs at run time. */
function packageClosure(names: string[]): Map<string, string> {
  const found = new Map<string, string>()
  const visit = (name: string, from: string) => {
    if (BUILD_ONLY.has(name) || found.has(name)) return
    const dir = packageDir(name, from)
    found.set(name, dir)
    const deps = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {}
    for (const dep of Object.keys(deps)) visit(dep, dir)
  }
  for (const n of names) visit(n, root)
  return found
}

function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dirname(dir) === dir) throw new Error(`package ${name} not found from ${from}`)
  }
}

/**
 * Step 3: the stage's node_modules: the external packages and their run-time dependencies,
 * with only `arch`'s prebuilt addons. Returns what became of epoll.
 */
function stageNatives(stage: string, arch: Arch, nodeDir: string): string {
  const keepPrebuild = (p: string) => {
    const parts = p.split('/')
    const i = parts.indexOf('prebuilds')
    if (i < 0 || i + 1 >= parts.length) return true
    return parts[i + 1] === `linux-${arch}` || parts[i + 1] === `linux-${arch}.node`
  }
  for (const [name, dir] of packageClosure(EXTERNAL)) {
    if (name === 'epoll') continue
    const dest = join(stage, 'node_modules', name)
    cpSync(dir, dest, {
      recursive: true,
      dereference: true,
      filter: (src) => {
        const rel = relative(dir, src)
        if (rel === '') return true
        if (/^(src|deps|build|test|docs?|node_modules)(\/|$)/.test(rel)) return false
        if (/\.(md|markdown|ts|map|gyp|gypi|cc|cpp|h)$/.test(rel) && !rel.endsWith('.d.ts')) return false
        return keepPrebuild(rel)
      },
    })
  }
  return stageEpoll(stage, arch, nodeDir)
}

/** epoll: the addon built by postinstall for x64; for arm64 a cross-build when the toolchain is here. */
function stageEpoll(stage: string, arch: Arch, nodeDir: string): string {
  const src = packageDir('epoll', root)
  const dest = join(stage, 'node_modules', 'epoll')
  const copyPackage = (from: string) =>
    cpSync(from, dest, {
      recursive: true,
      filter: (s) => {
        const rel = relative(from, s)
        return rel === '' || /^(package\.json|epoll\.js|LICENSE|build(\/Release(\/epoll\.node)?)?)$/.test(rel)
      },
    })
  if (arch === process.arch) {
    if (!existsSync(join(src, 'build', 'Release', 'epoll.node'))) return 'not built (npm ci rebuilds it)'
    copyPackage(src)
    return 'built at install'
  }
  const cxx = `${GNU[arch]}-g++`
  try {
    sh('sh', ['-c', `command -v ${cxx}`])
  } catch {
    const why = `${cxx} not installed (apt install g++-${GNU[arch].replace(/_/g, '-')})`
    // CI installs the toolchain: there a binary without epoll is a broken install, not a choice.
    if (process.env.CI === 'true') throw new Error(`CI: cannot build epoll for ${arch}: ${why}`)
    return `left out: ${why}`
  }
  const work = join(cache, `epoll-${arch}`)
  rmSync(work, { recursive: true, force: true })
  cpSync(src, work, { recursive: true, filter: (s) => !relative(src, s).startsWith('build') })
  // nan's headers are found by `node -p require('nan')` from the package dir: point it at ours.
  mkdirSync(join(work, 'node_modules'), { recursive: true })
  cpSync(packageDir('nan', src), join(work, 'node_modules', 'nan'), { recursive: true })
  const prefix = GNU[arch]
  quiet(process.execPath, [nodeGyp(), 'rebuild', `--arch=${arch}`, `--nodedir=${nodeDir}`], {
    cwd: work,
    env: {
      ...process.env,
      CC: `${prefix}-gcc`,
      CXX: `${prefix}-g++`,
      LINK: `${prefix}-g++`,
      AR: `${prefix}-ar`,
      npm_config_nodedir: nodeDir,
    },
  })
  copyPackage(work)
  return `cross-compiled with ${cxx}`
}

function nodeGyp(): string {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp
  const npmRoot = process.env.npm_execpath
    ? join(dirname(process.env.npm_execpath), '..')
    : join(sh('npm', ['root', '-g']).trim(), 'npm')
  return join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
}

/**
 * Step 4: pkg looks for `node-v<ver>-linux-<arch>.tar.gz` (+ `.ok`) and its extracted
 * `node-v<ver>-linux-<arch>/bin/node` (+ `.ok`) under `$HOME/.pkg-cache/sea`, and downloads
 * only when they are missing (lib-es5/sea.js getNodejsExecutable/extract). Put them there.
 */
function seedPkgCache(home: string, arch: Arch, nodeBin: string): void {
  const sea = join(home, '.pkg-cache', 'sea')
  const name = `node-v${NODE_VERSION}-linux-${arch}`
  const bin = join(sea, name, 'bin', 'node')
  const archive = join(sea, `${name}.tar.gz`)
  if (existsSync(`${bin}.ok`) && existsSync(`${archive}.ok`) && sameFile(bin, nodeBin)) return
  mkdirSync(dirname(bin), { recursive: true })
  copyFileSync(nodeBin, bin)
  sh('tar', ['-czf', archive, '-C', sea, `${name}/bin/node`])
  writeFileSync(`${bin}.ok`, '')
  writeFileSync(`${archive}.ok`, '')
}

function sameFile(a: string, b: string): boolean {
  return existsSync(a) && statSync(a).size === statSync(b).size
}

/** Step 5: the SEA binary. */
function runPkg(stage: string, arch: Arch, home: string, output: string): void {
  const pkgBin = join(dirname(require.resolve('@yao-pkg/pkg/package.json')), 'lib-es5', 'bin.js')
  quiet(process.execPath, [pkgBin, stage, '--sea', '-t', `node${NODE_VERSION}-linux-${arch}`, '-o', output], {
    cwd: stage,
    env: { ...process.env, HOME: home },
  })
}

function releaseKey(keyFile: string | undefined) {
  if (keyFile) return { pair: readKeyFile(keyFile), throwaway: false }
  const file = join(dist, 'throwaway-release.key')
  rmSync(file, { force: true })
  return { pair: writeKeyFile(file, generateSeed()), throwaway: true }
}

export async function buildBinaries(opts: { archs: Arch[]; keyFile?: string }): Promise<void> {
  if (process.versions.node !== NODE_VERSION) {
    throw new Error(
      `build with the pinned Node ${NODE_VERSION} (this is ${process.version}): npm run build:binary`,
    )
  }
  mkdirSync(dist, { recursive: true })
  const key = releaseKey(opts.keyFile)
  if (key.throwaway) log(`no release key given: signing with a throwaway key (${key.pair.id.slice(0, 16)}…)`)
  writeFileSync(join(dist, 'release.pub'), `${key.pair.id}\n`)
  let commit = 'unknown'
  try {
    commit = sh('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root }).trim()
    if (sh('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root }).trim()) commit += '-dirty'
  } catch {
    // not a checkout
  }
  const home = join(cache, 'pkg-home')
  const built: string[] = []
  for (const arch of opts.archs) {
    const t0 = performance.now()
    const node = nodeFor(arch)
    const stage = join(cache, `stage-linux-${arch}`)
    rmSync(stage, { recursive: true, force: true })
    mkdirSync(stage, { recursive: true })
    await bundle(join(stage, 'latchkey.cjs'), { commit, releaseKey: key.pair.id })
    const epoll = stageNatives(stage, arch, node.dir)
    writeFileSync(
      join(stage, 'package.json'),
      JSON.stringify({
        name: 'latchkey',
        version: pkg.version,
        private: true,
        bin: 'latchkey.cjs',
        pkg: { assets: ['node_modules/**/*'] },
      }),
    )
    seedPkgCache(home, arch, node.bin)
    const output = join(dist, `latchkey-linux-${arch}`)
    runPkg(stage, arch, home, output)
    built.push(output)
    const mb = (statSync(output).size / 1e6).toFixed(1)
    log(`${output}: ${mb} MB, epoll ${epoll}, ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  const sums = sumsFile(built.map((file) => ({ name: relative(dist, file), bytes: readFileSync(file) })))
  writeFileSync(join(dist, 'SHA256SUMS'), sums)
  writeFileSync(join(dist, 'SHA256SUMS.sig'), signRelease(Buffer.from(sums), key.pair))
  log(`dist/SHA256SUMS signed by ${key.pair.id}${key.throwaway ? ' (throwaway key)' : ''}`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { arch: { type: 'string', default: 'x64,arm64' }, key: { type: 'string' } },
  })
  const archs = (values.arch as string).split(',').map((a) => a.trim()) as Arch[]
  for (const a of archs) if (!(a in GNU)) throw new Error(`unknown arch ${a}; use x64 and/or arm64`)
  await buildBinaries({ archs, keyFile: values.key ?? process.env.LATCHKEY_RELEASE_KEY })
}
