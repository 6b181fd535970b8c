#!/usr/bin/env node
// Rebuilds the native addons that compile at install time (onoff's `epoll`) against the
// headers of the pinned Node, not against whatever Node ran `npm ci`.
//
// Why: npm compiles `epoll` with node-gyp during install, using the machine's Node headers
// (often the distribution's Node 20, via `nodedir=/usr` in npmrc). The pinned runtime is
// Node 24 with a different ABI, so the addon would fail to load. The pinned Node's headers
// ship in the npm registry's `node-linux-<arch>` package under `include/node`.
//
// Addons that ship Node-API prebuilds (better-sqlite3, @serialport/bindings-cpp) need nothing.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const pinned = pkg.devDependencies.node
const arch = process.arch
const log = (msg) => process.stdout.write(`latchkey postinstall: ${msg}\n`)

if (process.platform !== 'linux') {
  log(`skipping native rebuild on ${process.platform} (GPIO addons are Linux-only)`)
  process.exit(0)
}

const pinnedNode = join(root, 'node_modules', 'node', 'bin', 'node')
if (!existsSync(pinnedNode)) {
  log('the pinned node package is not installed (production install?); nothing to rebuild')
  process.exit(0)
}
const epollDir = join(root, 'node_modules', 'epoll')
if (!existsSync(epollDir)) {
  log('epoll is not installed; nothing to rebuild')
  process.exit(0)
}

function headersDir() {
  const candidates = [
    join(root, 'node_modules', 'node', 'node_modules', `node-linux-${arch}`),
    join(root, 'node_modules', `node-linux-${arch}`),
    join(root, 'node_modules', '.cache', 'latchkey', `node-linux-${arch}-${pinned}`, 'package'),
  ]
  for (const dir of candidates) {
    const pj = join(dir, 'package.json')
    if (!existsSync(join(dir, 'include', 'node', 'node.h')) || !existsSync(pj)) continue
    if (JSON.parse(readFileSync(pj, 'utf8')).version === pinned) return dir
  }
  // Not present: take the headers from the registry package (npm registry only, no other host).
  const cache = join(root, 'node_modules', '.cache', 'latchkey', `node-linux-${arch}-${pinned}`)
  mkdirSync(cache, { recursive: true })
  log(`fetching node-linux-${arch}@${pinned} headers from the npm registry`)
  const out = execFileSync('npm', ['pack', `node-linux-${arch}@${pinned}`, '--silent'], {
    cwd: cache,
    encoding: 'utf8',
  })
  const tarball = join(cache, out.trim().split('\n').pop())
  execFileSync('tar', ['-xzf', tarball, '-C', cache, 'package/include', 'package/package.json'])
  return join(cache, 'package')
}

function loadsUnderPinnedNode() {
  const r = spawnSync(pinnedNode, ['-e', "require('epoll')"], { cwd: root, encoding: 'utf8' })
  return { ok: r.status === 0, err: (r.stderr || '').split('\n').find((l) => l.includes('Error')) }
}

if (loadsUnderPinnedNode().ok) {
  log(`epoll already loads under Node ${pinned}`)
  process.exit(0)
}

const nodedir = headersDir()
const gyp =
  process.env.npm_config_node_gyp ||
  join(dirname(process.env.npm_execpath || ''), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
log(`rebuilding epoll against Node ${pinned} headers in ${nodedir}`)
const env = { ...process.env, npm_config_nodedir: nodedir }
execFileSync(pinnedNode, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: epollDir, env, stdio: 'inherit' })

const after = loadsUnderPinnedNode()
if (!after.ok) {
  log(`epoll still fails to load under Node ${pinned}: ${after.err}`)
  process.exit(1)
}
const built = readdirSync(join(epollDir, 'build', 'Release')).filter((f) => f.endsWith('.node'))
log(`epoll rebuilt for Node ${pinned} (${built.join(', ')})`)
