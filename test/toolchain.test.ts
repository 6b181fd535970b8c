import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import pkg from '../package.json' with { type: 'json' }
import { ROOT } from './helpers/index.ts'

const require = createRequire(import.meta.url)

describe('pinned toolchain', () => {
  it('runs the tests on the pinned Node, not the machine Node', () => {
    expect(process.version).toBe(`v${pkg.devDependencies.node}`)
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24)
  })

  it('npm scripts and the CLI resolve `node` to the pinned binary', () => {
    const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'node'), ['-p', 'process.version'], {
      encoding: 'utf8',
    })
    expect(r.stdout.trim()).toBe(`v${pkg.devDependencies.node}`)
  })

  it('loads better-sqlite3 (Node-API prebuild) on the pinned Node', () => {
    const Database = require('better-sqlite3')
    const db = new Database(':memory:')
    expect(db.prepare('select 1 + 1 as two').get()).toEqual({ two: 2 })
    db.close()
  })

  it.runIf(process.platform === 'linux')(
    'loads the epoll addon that npm compiled at install, rebuilt for the pinned ABI',
    () => {
      // epoll compiles at install against whatever headers npm found; postinstall rebuilds it
      // against the pinned Node's headers. A wrong ABI throws "was compiled against a different
      // Node.js version" here.
      const epoll = require('epoll')
      expect(typeof epoll.Epoll).toBe('function')
      expect(process.versions.modules).toBe('137')
    },
  )
})
