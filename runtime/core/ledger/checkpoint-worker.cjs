/**
 * The checkpoint worker (see checkpointer.ts), as the single binary runs it: build-binary.ts
 * bundles this file with better-sqlite3's JavaScript and bakes the result into the binary. The
 * addon itself is the one the main thread loaded (workerData.addon: the file pkg extracted),
 * so both connections are one copy of SQLite. In a checkout, checkpointer.ts runs the same
 * steps from source text instead.
 */
const { parentPort, workerData } = require('node:worker_threads')
const Database = require('better-sqlite3')

let db = null
try {
  const opts = { fileMustExist: true, timeout: 2000 }
  if (typeof workerData.addon === 'string') opts.nativeBinding = workerData.addon
  db = new Database(workerData.file, opts)
  parentPort.postMessage({ ready: true })
} catch (err) {
  parentPort.postMessage({ error: String(err?.message ?? err) })
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
    parentPort.postMessage({ failed: String(err?.message ?? err) })
  }
})
