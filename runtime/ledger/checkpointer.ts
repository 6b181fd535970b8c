/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold: on the node's event loop it copies megabytes into the database
 * file and fsyncs it, a pause of tens of milliseconds in the middle of a catch-up, in front of
 * a member waiting at the door. Here the main connection has `wal_autocheckpoint = 0` and a
 * second connection on a worker runs PASSIVE checkpoints (they never block the writer) on a
 * timer. If the worker cannot start (or dies), the main connection's automatic checkpoint is
 * switched back on (logged): slower pauses, never an unbounded WAL.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../log.ts'
import { LOWER_THIS_THREAD_JS } from '../priority.ts'
import type { Db } from './store.ts'

/**
 * The worker opens its connection with the same better-sqlite3 the main connection uses, so
 * both are one copy of SQLite in this process. Never another copy (node:sqlite, say): POSIX
 * advisory locks belong to the process, so two copies in one process do not see each other's
 * locks (a writer may restart the WAL under a running checkpoint), and one copy closing the file
 * drops the other's locks: the corruption SQLite documents ("How To Corrupt An SQLite Database
 * File", 2.2.1). One copy keeps its connections' locks apart in memory (its unix VFS tracks
 * them per file; better-sqlite3 builds SQLite with SQLITE_THREADSAFE=2).
 *
 * Where the package is not a file the worker can load (the single binary serves it from its
 * snapshot), the worker cannot start and the main connection's automatic checkpoint takes over
 * (logged): slower pauses, never a second copy of SQLite.
 */
function sqliteModule(): string {
  try {
    return createRequire(import.meta.url).resolve('better-sqlite3')
  } catch (err) {
    return `(better-sqlite3 not resolvable: ${(err as Error).message})`
  }
}

const WORKER_SOURCE = `${LOWER_THIS_THREAD_JS}
const { parentPort, workerData } = require('node:worker_threads')
let db = null
try {
  const Database = require(workerData.sqlite)
  db = new Database(workerData.file, { fileMustExist: true, timeout: 2000 })
  parentPort.postMessage({ ready: true })
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err) })
}
parentPort.on('message', (m) => {
  if (!db) return
  if (m === 'close') {
    db.close()
    db = null
    parentPort.close()
    return
  }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0]
    parentPort.postMessage({ done: { ...r } })
  } catch (err) {
    parentPort.postMessage({ failed: String(err && err.message || err) })
  }
})
`

/** SQLite's default threshold (pages), restored on the main connection as the fallback. */
const AUTO_PAGES = 1000

export class Checkpointer {
  readonly #db: Db
  readonly #log: Logger
  #worker: Worker | null = null
  #timer: ReturnType<typeof setInterval> | null = null
  #busy = false
  #closed = false
  /** Checkpoints completed on the worker, and failures. */
  readonly stats = { done: 0, failed: 0 }
  /** The last checkpoint's result: WAL frames, and frames copied into the database. */
  last: { log: number; checkpointed: number } | null = null

  constructor(db: Db, file: string, log: Logger, intervalMs = 500) {
    this.#db = db
    this.#log = log
    db.pragma('wal_autocheckpoint = 0')
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sqlite: sqliteModule() } })
    this.#worker = worker
    worker.unref()
    worker.on(
      'message',
      (m: {
        ready?: true
        error?: string
        done?: { log: number; checkpointed: number }
        failed?: string
      }) => {
        if (m.error) this.#fallback(`checkpoint worker could not open the ledger: ${m.error}`)
        else if (m.done) {
          this.#busy = false
          this.stats.done++
          this.last = { log: m.done.log, checkpointed: m.done.checkpointed }
        } else if (m.failed) {
          this.#busy = false
          this.stats.failed++
          this.#log.warn({ err: m.failed }, 'WAL checkpoint failed; retrying on the next tick')
        }
      },
    )
    worker.on('error', (err) => {
      if (this.#worker === worker) this.#fallback(`checkpoint worker failed: ${err.message}`)
    })
    worker.on('exit', () => {
      if (this.#worker === worker && !this.#closed) this.#fallback('checkpoint worker exited')
    })
    this.#timer = setInterval(() => this.checkpoint(), intervalMs)
    this.#timer.unref()
  }

  /** Asks the worker for a checkpoint now (skipped while one is running). */
  checkpoint(): void {
    if (!this.#worker || this.#busy || this.#closed) return
    this.#busy = true
    this.#worker.postMessage('checkpoint')
  }

  /** Stops the worker; the main connection's close then checkpoints what is left. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    const w = this.#worker
    this.#worker = null
    if (!w) return
    w.ref() // the close must keep the process alive until the worker is gone
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => void w.terminate(), 2000)
      w.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      w.postMessage('close')
    })
  }

  #fallback(why: string): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    const w = this.#worker
    this.#worker = null
    if (w) void w.terminate()
    if (this.#closed) return
    try {
      this.#db.pragma(`wal_autocheckpoint = ${AUTO_PAGES}`)
    } catch {
      // the connection is closing
    }
    this.#log.warn({ why }, 'WAL checkpoints run in the commit path (no checkpoint worker)')
  }
}
