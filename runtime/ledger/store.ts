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
import Database from 'better-sqlite3'

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

export function openDb(file: string, opts: { readonly?: boolean } = {}): Db {
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false })
  if (!opts.readonly) {
    // 8 KiB pages: ~5 bytes less per record than 4 KiB (fewer page headers and part-filled
    // pages). Takes effect only when the file is created; an existing ledger keeps its size.
    db.pragma('page_size = 8192')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
  }
  db.pragma('cache_size = -16000') // 16 MB page cache: bounded memory on a Pi
  db.pragma('temp_store = MEMORY')
  if (!opts.readonly) migrate(db)
  return db
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `ledger schema version ${version} is newer than this latchkey (${SCHEMA_VERSION}); upgrade latchkey`,
    )
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      migrations[v]!(db)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
