/**
 * Idempotency keys in the embedded SQLite file: (function, key) → the call made with it. The key's
 * row is written in the same transaction as its call, so after kill -9 either both are there or
 * neither; it lives as long as its call (the result sweep deletes both), which is the key's TTL.
 */
import type Database from "better-sqlite3";
import type { NewCall } from "./store";

export const IDEMPOTENCY_SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  fn TEXT NOT NULL,
  key TEXT NOT NULL,
  call_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (fn, key)
) WITHOUT ROWID;
`;

export class SqliteIdempotency {
  private readonly lookup: Database.Statement;
  private readonly insertCall: Database.Statement;
  private readonly insertKey: Database.Statement;
  private readonly orphans: Database.Statement;

  constructor(db: Database.Database) {
    db.exec(IDEMPOTENCY_SCHEMA);
    // A key whose call was swept is as good as absent (and is replaced by the next call that uses it).
    this.lookup = db.prepare("SELECT k.call_id FROM idempotency_keys k JOIN calls c ON c.id = k.call_id WHERE k.fn = ? AND k.key = ?").pluck();
    // The same row as SqliteStore's own insert (sqlite.ts), parent included: a keyed call made from inside another is its child.
    this.insertCall = db.prepare("INSERT INTO calls (id, fn, state, created_at, payload, parent) VALUES (?, ?, 'waiting', ?, ?, ?)");
    this.insertKey = db.prepare("INSERT OR REPLACE INTO idempotency_keys (fn, key, call_id, created_at) VALUES (?, ?, ?, ?)");
    this.orphans = db.prepare("DELETE FROM idempotency_keys WHERE call_id NOT IN (SELECT id FROM calls)");
  }

  callFor(fn: string, key: string): string | undefined {
    return this.lookup.get(fn, key) as string | undefined;
  }

  /** The write of a keyed call, to run inside a group commit. */
  insert(call: NewCall, key: string): void {
    this.insertCall.run(call.id, call.fn, call.createdAt, call.payload, call.parent ?? null);
    this.insertKey.run(call.fn, key, call.id, call.createdAt);
  }

  /** Deletes the keys of swept calls. */
  sweep(): void {
    this.orphans.run();
  }
}
