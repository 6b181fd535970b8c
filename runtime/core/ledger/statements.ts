/**
 * The ledger's prepared SQL statements: every statement the parts of a ledger run, prepared
 * once at open. Nothing outside runtime/core/ledger/ runs SQL on a ledger.
 */
import type { Db } from './store.ts'

/** Records written by one INSERT statement in bulk ingest (the per-statement cost dominates). */
export const ROWS_PER_INSERT = 32
export const COLUMNS = 10
/** Rows per INSERT into record_ids (ids are written in runs sorted by prefix). */
export const IDS_PER_INSERT = 64

/** Records whose id starts like the bound id; CROSS JOIN keeps record_ids first (a lookup). */
export const ID_LOOKUP_SQL =
  'SELECT r.rowid, r.* FROM record_ids i CROSS JOIN records r ON r.rowid = i.rec WHERE i.p = substr(?, 1, 4)'

/**
 * Authority records of one type in time order. CROSS JOIN keeps authority_rows the outer loop:
 * with a plain JOIN the planner walks the whole records table in time order to satisfy the
 * ORDER BY (about a second at every open of a 1M-record ledger).
 */
export const AUTHORITY_ROWS_SQL =
  'SELECT r.rowid AS rowid, r.* FROM authority_rows s CROSS JOIN records r ON r.rowid = s.rec WHERE r.type = ? ORDER BY r.ms, r.c'

export function statements(db: Db) {
  return {
    metaGet: db.prepare('SELECT value FROM meta WHERE key = ?'),
    metaDel: db.prepare('DELETE FROM meta WHERE key = ?'),
    metaPut: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    insertAuthor: db.prepare('INSERT INTO authors (idx, key, head_seq) VALUES (?, ?, 0)'),
    setHead: db.prepare('UPDATE authors SET head_seq = ? WHERE idx = ?'),
    insertType: db.prepare('INSERT INTO types (idx, name) VALUES (?, ?)'),
    insertRecord: db.prepare(
      'INSERT INTO records (rowid, author, seq, ms, c, type, id, sig, parents, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertRecords: db.prepare(
      `INSERT INTO records (rowid, author, seq, ms, c, type, id, sig, parents, body) VALUES ${Array.from(
        { length: ROWS_PER_INSERT },
        () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).join(', ')}`,
    ),
    maxRowid: db.prepare('SELECT max(rowid) AS m FROM records'),
    headRow: db.prepare('SELECT id, ms, c FROM records WHERE author = ? AND seq = ?'),
    idAt: db.prepare('SELECT id FROM records WHERE author = ? AND seq = ?'),
    rowByRowid: db.prepare('SELECT rowid, * FROM records WHERE rowid = ?'),
    rowAt: db.prepare('SELECT rowid, * FROM records WHERE author = ? AND seq = ?'),
    byId: db.prepare(ID_LOOKUP_SQL),
    insertId: db.prepare('INSERT OR IGNORE INTO record_ids (p, rec) VALUES (substr(?, 1, 4), ?)'),
    insertIds: db.prepare(
      `INSERT OR IGNORE INTO record_ids (p, rec) VALUES ${Array.from(
        { length: IDS_PER_INSERT },
        () => '(substr(?, 1, 4), ?)',
      ).join(', ')}`,
    ),
    rangeByAuthor: db.prepare(
      'SELECT rowid, * FROM records WHERE author = ? AND seq >= ? ORDER BY seq LIMIT ?',
    ),
    // One blob per row (id | sig | parents | body): each blob column costs a buffer.
    rangeWire: db
      .prepare(
        `SELECT seq, ms, c, type, length(parents), CAST(id || sig || ifnull(parents, x'') || body AS BLOB)
         FROM records WHERE author = ? AND seq >= ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    page: db.prepare(
      'SELECT rowid, * FROM records WHERE (ms, c, rowid) > (?, ?, ?) ORDER BY ms, c, rowid LIMIT ?',
    ),
    byType: db.prepare(AUTHORITY_ROWS_SQL),
    authorityRowPut: db.prepare('INSERT INTO authority_rows (rec) VALUES (?)'),
    undoFrom: db.prepare(
      'SELECT r.rowid AS rowid, r.ms, r.c, r.id, u.changes FROM undo u JOIN records r ON r.rowid = u.rec WHERE (r.ms, r.c) >= (?, ?) ORDER BY r.ms DESC, r.c DESC',
    ),
    undoPut: db.prepare('INSERT OR REPLACE INTO undo (rec, changes) VALUES (?, ?)'),
    undoDel: db.prepare('DELETE FROM undo WHERE rec = ?'),
    undoCutoff: db.prepare(
      'SELECT r.ms, r.c FROM undo u JOIN records r ON r.rowid = u.rec ORDER BY r.ms DESC, r.c DESC LIMIT 1 OFFSET ?',
    ),
    undoPrune: db.prepare(
      'DELETE FROM undo WHERE rec IN (SELECT u.rec FROM undo u JOIN records r ON r.rowid = u.rec WHERE (r.ms, r.c) < (?, ?))',
    ),
    statePut: db.prepare(
      'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    stateDel: db.prepare('DELETE FROM state WHERE key = ?'),
    quarantinePut: db.prepare(
      'INSERT INTO quarantine (ref, received_ms, code, detail, retry, wire) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET code = excluded.code, detail = excluded.detail, retry = excluded.retry',
    ),
    quarantineList: db.prepare('SELECT code, detail, retry, received_ms FROM quarantine ORDER BY qid'),
    quarantineHeld: db.prepare('SELECT qid, wire FROM quarantine WHERE retry = 1 ORDER BY qid LIMIT ?'),
    quarantineDel: db.prepare('DELETE FROM quarantine WHERE qid = ?'),
    quarantineByRef: db.prepare('SELECT code, detail, retry FROM quarantine WHERE ref = ?'),
    quarantineHeldCount: db.prepare('SELECT count(*) AS n FROM quarantine WHERE retry = 1'),
    recent: db.prepare(
      'SELECT a.key AS author, r.seq, r.ms, r.c, t.name AS type, r.id, r.body FROM records r JOIN authors a ON a.idx = r.author JOIN types t ON t.idx = r.type ORDER BY r.ms DESC, r.c DESC, r.id DESC LIMIT ?',
    ),
    indexedIds: db.prepare('SELECT count(*) AS n FROM record_ids'),
    detailGet: db.prepare('SELECT detail FROM rejection_detail WHERE id = ?'),
    detailPut: db.prepare('INSERT OR REPLACE INTO rejection_detail (id, detail) VALUES (?, ?)'),
    forkEvidence: db.prepare('SELECT other_wire FROM forks WHERE other_id = ?'),
    forkPut: db.prepare(
      'INSERT OR IGNORE INTO forks (author, seq, held_id, other_id, other_wire, detected_ms) VALUES (?, ?, ?, ?, ?, ?)',
    ),
  }
}

export type Stmts = ReturnType<typeof statements>
