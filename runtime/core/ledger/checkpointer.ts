/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold: on the node's event loop it copies megabytes into the database
 * file and fsyncs it, a pause of tens of milliseconds in the middle of a catch-up, in front of
 * a member waiting at the door. Here the main connection has `wal_autocheckpoint = 0` and a
 * second connection on a worker runs PASSIVE checkpoints (they never block the writer) on a
 * timer. If the worker cannot start (or dies), the main connection's automatic checkpoint is
 * switched back on (logged): slower pauses, never an unbounded WAL.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../log.ts'
import { helperThreadJs } from '../placement.ts'
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
 * The worker's code is checkpoint-worker.cjs. In a checkout the worker requires that file; the
 * single binary carries it bundled with better-sqlite3's JavaScript (LATCHKEY_CHECKPOINT_WORKER,
 * baked in by build-binary.ts), since a worker cannot load modules from the binary's snapshot,
 * and hands it the addon file the main thread loaded. If the worker cannot start all the same,
 * the main connection's automatic checkpoint takes over (logged): slower pauses, never a
 * second copy of SQLite.
 */
declare const LATCHKEY_CHECKPOINT_WORKER: string | undefined

function workerSource(): string {
  if (typeof LATCHKEY_CHECKPOINT_WORKER === 'string')
    return `${helperThreadJs()}\n${LATCHKEY_CHECKPOINT_WORKER}`
  const file = fileURLToPath(new URL('./checkpoint-worker.cjs', import.meta.url))
  return `${helperThreadJs()}\nrequire(${JSON.stringify(file)})`
}

/** The better-sqlite3 addon file this process has loaded (Linux: /proc/self/maps), if any. */
function loadedAddon(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const path = line.slice(line.indexOf('/'))
      if (line.includes('/') && /better[-_]sqlite3.*\.node$/.test(path)) return path
    }
  } catch {
    // not Linux: the worker loads the package's own addon, as the main thread did
  }
  return undefined
}

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
    const worker = new Worker(workerSource(), { eval: true, workerData: { file, addon: loadedAddon() } })
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
        if (m.ready) this.#log.info('WAL checkpoints run on a worker thread')
        else if (m.error) this.#fallback(`checkpoint worker could not open the ledger: ${m.error}`)
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
