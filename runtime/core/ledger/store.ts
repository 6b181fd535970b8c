/**
 * SQLite storage of the ledger (better-sqlite3). Durability is chosen on purpose:
 * WAL with synchronous=FULL, so a transaction that returned has reached the disk and survives
 * SIGKILL and power loss (WAL + NORMAL would survive a crash of the process but could lose the
 * last transactions on power loss). Group commit amortises the fsync over concurrent appends.
 *
 * Records are stored as columns, not as their encoded bytes: the canonical encoding is
 * re-derived (`site`, `prev` and the type name come from other rows), which keeps a record
 * with a 200-byte body under 400 bytes on disk. Migrations are numbered; `user_version`
 * holds the schema version.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { errors, isLatchkeyError } from '../errors.ts'

export type Db = Database.Database

const migrations: ReadonlyArray<(db: Db) => void> = [
  // 1: initial schema
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
      CREATE TABLE authors (
        idx INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,
        head_seq INTEGER NOT NULL DEFAULT 0,
        verified_seq INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE types (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE records (
        author INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        ms INTEGER NOT NULL,
        c INTEGER NOT NULL,
        type INTEGER NOT NULL,
        id BLOB NOT NULL,
        sig BLOB NOT NULL,
        parents BLOB,
        body BLOB NOT NULL
      );
      CREATE UNIQUE INDEX records_author_seq ON records (author, seq);
      CREATE INDEX records_time ON records (ms, c);
      CREATE INDEX records_type ON records (type);
      CREATE INDEX records_id ON records (substr(id, 1, 8));
      CREATE TABLE quarantine (
        qid INTEGER PRIMARY KEY,
        ref BLOB NOT NULL UNIQUE,
        received_ms INTEGER NOT NULL,
        code TEXT NOT NULL,
        detail TEXT NOT NULL,
        retry INTEGER NOT NULL,
        wire BLOB NOT NULL
      );
      CREATE TABLE forks (
        author BLOB NOT NULL,
        seq INTEGER NOT NULL,
        held_id BLOB NOT NULL,
        other_id BLOB NOT NULL,
        other_wire BLOB NOT NULL,
        detected_ms INTEGER NOT NULL,
        PRIMARY KEY (author, seq, other_id)
      ) WITHOUT ROWID;
      CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE undo (rec INTEGER PRIMARY KEY, changes BLOB NOT NULL);
    `)
  },
  // 2: rejection sentences live beside the state, not in it: rewording one must not change
  //    the state hash (state keeps only the stable code).
  (db) => {
    db.exec('CREATE TABLE rejection_detail (id BLOB PRIMARY KEY, detail TEXT NOT NULL) WITHOUT ROWID')
  },
  // 3: the id lookup index keys on a 4-byte id prefix (collisions are resolved by comparing
  //    the full id): 4 bytes less per record on disk.
  (db) => {
    db.exec('DROP INDEX records_id; CREATE INDEX records_id4 ON records (substr(id, 1, 4))')
  },
  // 4: only authority records (ledger.ts AUTHORITY_TYPES) are ever looked up by type: a table
  //    of their rowids replaces the index on every record's type (one index insert less per
  //    record, ~8 bytes less per record on disk).
  (db) => {
    db.exec(`
      CREATE TABLE authority_rows (rec INTEGER PRIMARY KEY);
      INSERT INTO authority_rows (rec)
        SELECT r.rowid FROM records r JOIN types t ON t.idx = r.type
        WHERE t.name LIKE 'site.%' OR t.name IN ('governance.propose', 'governance.approve');
      DROP INDEX records_type;
    `)
  },
  // 5: the id lookup moves from an index on every record to a table of (4-byte id prefix,
  //    rowid) that the ledger fills in sorted runs when a transaction commits. Ids are random,
  //    so the index took a random B-tree insert per record (the largest single cost of
  //    catch-up, and a page rewrite per record in each commit); sorted runs touch each page once.
  (db) => {
    db.exec(`
      CREATE TABLE record_ids (p BLOB NOT NULL, rec INTEGER NOT NULL, PRIMARY KEY (p, rec)) WITHOUT ROWID;
      INSERT INTO record_ids (p, rec) SELECT substr(id, 1, 4), rowid FROM records ORDER BY 1, 2;
      DROP INDEX records_id4;
    `)
  },
]

export const SCHEMA_VERSION = migrations.length

/**
 * Opens (or, where no file exists, creates) a ledger. A file that exists but is empty, is not a
 * SQLite database, or is shorter than its header says is refused (LK_LEDGER_EMPTY,
 * LK_LEDGER_CORRUPT): a damaged ledger is never silently replaced by a new site. The whole-file
 * `PRAGMA quick_check` is not run here: it reads every page (seconds on a large ledger, at every
 * start); damage past the header surfaces as SQLITE_CORRUPT, which `storeError` names.
 */
export function openDb(file: string, opts: { readonly?: boolean } = {}): Db {
  checkFile(file)
  let db: Db | undefined
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false })
    if (!opts.readonly) {
      // 8 KiB pages: ~5 bytes less per record than 4 KiB (fewer page headers and part-filled
      // pages). Takes effect only when the file is created; an existing ledger keeps its size.
      db.pragma('page_size = 8192')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
    }
    db.pragma('cache_size = -16000') // 16 MB page cache: bounded memory on a Pi
    db.pragma('temp_store = MEMORY')
    if (!opts.readonly) migrate(db, file)
    else db.prepare('SELECT count(*) FROM sqlite_schema').get() // reads page 1: a damaged one throws here
    return db
  } catch (err) {
    db?.close()
    throw storeError(file, err)
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0')
/** The database header is the first 100 bytes of the file (sqlite.org/fileformat.html). */
const HEADER_SIZE = 100

/** Refuses a ledger file that exists but cannot be a ledger; an absent file is left to be created. */
function checkFile(file: string): void {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw errors.DATA_DIR(dirname(file), `ledger file ${file} cannot be opened (${code})`)
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) throw errors.LEDGER_EMPTY(file)
    const header = Buffer.alloc(HEADER_SIZE)
    const n = readSync(fd, header, 0, HEADER_SIZE, 0)
    if (n < HEADER_SIZE || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC))
      throw errors.LEDGER_CORRUPT(file, 'not a SQLite database')
    const raw = header.readUInt16BE(16)
    const pageSize = raw === 1 ? 65536 : raw
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0)
      throw errors.LEDGER_CORRUPT(file, `the header names an impossible page size ${raw}`)
    // The page count in the header is valid when its version number matches the change counter.
    const pages = header.readUInt32BE(28)
    const valid = header.readUInt32BE(24) === header.readUInt32BE(92)
    // A write-ahead log may hold pages the file has yet to receive: the size is then unknown.
    if (valid && pages > 0 && size < pages * pageSize && !hasWal(file))
      throw errors.LEDGER_CORRUPT(
        file,
        `truncated: ${size} bytes where the header counts ${pages} pages of ${pageSize} bytes`,
      )
  } finally {
    closeSync(fd)
  }
}

function hasWal(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 0
  } catch {
    return false
  }
}

const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])
/** SQLite cannot open or write the file: the data directory's permissions, not the ledger. */
const ACCESS_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_AUTH'])

/**
 * The catalogued error for a failure while opening or reading a ledger file: SQLite's "corrupt"
 * and "not a database" become LK_LEDGER_CORRUPT, "cannot open" and "read-only" LK_DATA_DIR;
 * anything else is returned as it is.
 */
export function storeError(file: string, err: unknown): unknown {
  if (isLatchkeyError(err)) return err
  const code = String((err as { code?: unknown }).code ?? '')
  if (CORRUPT_CODES.has(code) || code.startsWith('SQLITE_CORRUPT_'))
    return errors.LEDGER_CORRUPT(file, (err as Error).message)
  if (ACCESS_CODES.has(code) || code.startsWith('SQLITE_CANTOPEN_') || code.startsWith('SQLITE_READONLY_'))
    return errors.DATA_DIR(dirname(file), `ledger file ${file}: ${(err as Error).message}`)
  return err
}

function migrate(db: Db, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) throw errors.LEDGER_SCHEMA(file, version, SCHEMA_VERSION)
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      migrations[v]!(db)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
