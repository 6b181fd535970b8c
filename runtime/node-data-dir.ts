/**
 * A node's claim on its data directory: created 0700 if missing, and held by a lock file naming
 * the process. One node per data directory: a second process would fight over the ledger and the
 * outputs. A lock left by a process that is gone is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from './core/errors.ts'

export class DataDirLock {
  readonly dir: string
  readonly #file: string

  constructor(dir: string) {
    this.dir = dir
    this.#file = join(dir, 'node.lock')
  }

  /** Creates the directory and takes the lock; throws LK_DATA_DIR naming the holder if another node has it. */
  acquire(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw errors.DATA_DIR(this.dir, (err as NodeJS.ErrnoException).code ?? String(err))
    }
    try {
      const holder = Number(readFileSync(this.#file, 'utf8'))
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw errors.DATA_DIR(this.dir, `another latchkey node (pid ${holder}) is using it`)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    writeFileSync(this.#file, String(process.pid), { mode: 0o600 })
  }

  /** Removes the lock file if this process holds it. */
  release(): void {
    try {
      if (Number(readFileSync(this.#file, 'utf8')) === process.pid) rmSync(this.#file)
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
