/**
 * Dicts and Queues in the embedded SQLite file (collections.ts says what each operation promises).
 *
 * Expired Dict entries are filtered out on every read and deleted by the next write to their Dict (so
 * a Dict only read keeps its expired rows, invisible, until then). Queue items are ordered by an
 * AUTOINCREMENT sequence, so ids are never reused and FIFO holds across restarts.
 */
import type Database from "better-sqlite3";
import type { CollectionRef, CollectionStore, PutOutcome } from "./collections";

export const COLLECTIONS_SCHEMA = `
CREATE TABLE IF NOT EXISTS collections (
  kind TEXT NOT NULL,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, ns, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dict_entries (
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (ns, name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  partition TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_order ON queue_items(ns, name, partition, seq);
CREATE TABLE IF NOT EXISTS payloads (
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
`;

const LIVE = "(expires_at IS NULL OR expires_at > ?)";

/** How SqliteStore runs a write in its next group commit and hands back what it returned. */
export type Submit = <T>(op: () => T) => Promise<T>;

export class SqliteCollections implements CollectionStore {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly submit: Submit,
  ) {
    this.s = {
      create: db.prepare("INSERT OR IGNORE INTO collections (kind, ns, name, created_at) VALUES (?, ?, ?, ?)"),
      exists: db.prepare("SELECT 1 FROM collections WHERE kind = ? AND ns = ? AND name = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM collections WHERE kind = ? AND ns = ?").pluck(),
      drop: db.prepare("DELETE FROM collections WHERE kind = ? AND ns = ? AND name = ?"),
      dropEntries: db.prepare("DELETE FROM dict_entries WHERE ns = ? AND name = ?"),
      dropItems: db.prepare("DELETE FROM queue_items WHERE ns = ? AND name = ?"),
      get: db.prepare(`SELECT value FROM dict_entries WHERE ns = ? AND name = ? AND key = ? AND ${LIVE}`).pluck(),
      expire: db.prepare("DELETE FROM dict_entries WHERE ns = ? AND name = ? AND expires_at <= ?"),
      len: db.prepare(`SELECT count(*) FROM dict_entries WHERE ns = ? AND name = ? AND ${LIVE}`).pluck(),
      has: db.prepare("SELECT 1 FROM dict_entries WHERE ns = ? AND name = ? AND key = ?").pluck(),
      put: db.prepare("INSERT OR REPLACE INTO dict_entries (ns, name, key, value, expires_at) VALUES (?, ?, ?, ?, ?)"),
      putNew: db.prepare("INSERT OR IGNORE INTO dict_entries (ns, name, key, value, expires_at) VALUES (?, ?, ?, ?, ?)"),
      del: db.prepare("DELETE FROM dict_entries WHERE ns = ? AND name = ? AND key = ?"),
      scan: db.prepare(`SELECT key, value FROM dict_entries WHERE ns = ? AND name = ? AND key > ? AND ${LIVE} ORDER BY key LIMIT ?`),
      push: db.prepare("INSERT INTO queue_items (ns, name, partition, value) VALUES (?, ?, ?, ?)"),
      head: db.prepare("SELECT seq, value FROM queue_items WHERE ns = ? AND name = ? AND partition = ? ORDER BY seq LIMIT ?"),
      take: db.prepare("DELETE FROM queue_items WHERE seq = ?"),
      peek: db.prepare("SELECT seq, value FROM queue_items WHERE ns = ? AND name = ? AND partition = ? AND seq > ? ORDER BY seq LIMIT ?"),
      partLen: db.prepare("SELECT count(*) FROM queue_items WHERE ns = ? AND name = ? AND partition = ?").pluck(),
      queueLen: db.prepare("SELECT count(*) FROM queue_items WHERE ns = ? AND name = ?").pluck(),
      putPayload: db.prepare("INSERT INTO payloads (ns, id, payload, created_at) VALUES (?, ?, ?, ?)"),
      getPayload: db.prepare("SELECT payload FROM payloads WHERE ns = ? AND id = ?").pluck(),
      delPayload: db.prepare("DELETE FROM payloads WHERE ns = ? AND id = ?"),
      sweepPayloads: db.prepare("DELETE FROM payloads WHERE created_at < ?"),
    };
  }

  create(ref: CollectionRef, now: number, maxPerNamespace: number): Promise<boolean | "full"> {
    return this.submit(() => {
      if (this.s.exists.get(ref.kind, ref.ns, ref.name) !== undefined) return false;
      if ((this.s.count.get(ref.kind, ref.ns) as number) >= maxPerNamespace) return "full";
      return this.s.create.run(ref.kind, ref.ns, ref.name, now).changes === 1;
    });
  }

  async exists(ref: CollectionRef): Promise<boolean> {
    return this.s.exists.get(ref.kind, ref.ns, ref.name) !== undefined;
  }

  drop(ref: CollectionRef): Promise<boolean> {
    return this.submit(() => {
      const gone = this.s.drop.run(ref.kind, ref.ns, ref.name).changes === 1;
      (ref.kind === "dict" ? this.s.dropEntries : this.s.dropItems).run(ref.ns, ref.name);
      return gone;
    });
  }

  async dictGet(ref: CollectionRef, key: string, now: number): Promise<string | undefined> {
    return this.s.get.get(ref.ns, ref.name, key, now) as string | undefined;
  }

  dictPut(ref: CollectionRef, entries: ReadonlyArray<{ key: string; value: string }>, expiresAt: number | null, skipIfExists: boolean, maxEntries: number, now: number): Promise<PutOutcome> {
    return this.submit((): PutOutcome => {
      if (this.s.exists.get("dict", ref.ns, ref.name) === undefined) return { ok: false, reason: "missing" };
      this.s.expire.run(ref.ns, ref.name, now);
      const len = this.s.len.get(ref.ns, ref.name, now) as number;
      const fresh = new Set<string>();
      for (const e of entries) if (this.s.has.get(ref.ns, ref.name, e.key) === undefined) fresh.add(e.key);
      if (len + fresh.size > maxEntries) return { ok: false, reason: "full", len };
      let written = 0;
      const stmt = skipIfExists ? this.s.putNew : this.s.put;
      for (const e of entries) written += stmt.run(ref.ns, ref.name, e.key, e.value, expiresAt).changes;
      return { ok: true, written, len: len + fresh.size };
    });
  }

  /** The value popped; undefined when the key is absent; null when the Dict is gone. */
  dictPop(ref: CollectionRef, key: string, now: number): Promise<string | undefined | null> {
    return this.submit(() => {
      if (this.s.exists.get("dict", ref.ns, ref.name) === undefined) return null;
      const value = this.s.get.get(ref.ns, ref.name, key, now) as string | undefined;
      this.s.del.run(ref.ns, ref.name, key);
      return value;
    });
  }

  async dictLen(ref: CollectionRef, now: number): Promise<number> {
    return this.s.len.get(ref.ns, ref.name, now) as number;
  }

  async dictScan(ref: CollectionRef, after: string | null, limit: number, now: number): Promise<Array<{ key: string; value: string }>> {
    // "" sorts before every key the gateway writes (each is JSON text, never empty).
    return this.s.scan.all(ref.ns, ref.name, after ?? "", now, limit) as Array<{ key: string; value: string }>;
  }

  queuePut(ref: CollectionRef, partition: string, values: readonly string[], maxItems: number): Promise<PutOutcome> {
    return this.submit((): PutOutcome => {
      if (this.s.exists.get("queue", ref.ns, ref.name) === undefined) return { ok: false, reason: "missing" };
      const len = this.s.partLen.get(ref.ns, ref.name, partition) as number;
      if (len + values.length > maxItems) return { ok: false, reason: "full", len };
      for (const v of values) this.s.push.run(ref.ns, ref.name, partition, v);
      return { ok: true, written: values.length, len: len + values.length };
    });
  }

  queueTake(ref: CollectionRef, partition: string, n: number): Promise<string[]> {
    return this.submit(() => {
      const rows = this.s.head.all(ref.ns, ref.name, partition, n) as Array<{ seq: number; value: string }>;
      for (const r of rows) this.s.take.run(r.seq);
      return rows.map((r) => r.value);
    });
  }

  queuePeek(ref: CollectionRef, partition: string, after: number, n: number): Promise<Array<{ seq: number; value: string }>> {
    // Through the write queue, so that a put answered before this request is seen by it.
    return this.submit(() => this.s.peek.all(ref.ns, ref.name, partition, after, n) as Array<{ seq: number; value: string }>);
  }

  putPayload(ns: string, id: string, payload: string, now: number): Promise<void> {
    return this.submit(() => {
      this.s.putPayload.run(ns, id, payload, now);
    });
  }

  takePayload(ns: string, id: string): Promise<string | undefined> {
    return this.submit(() => {
      const payload = this.s.getPayload.get(ns, id) as string | undefined;
      if (payload !== undefined) this.s.delPayload.run(ns, id);
      return payload;
    });
  }

  sweepPayloads(before: number): Promise<number> {
    return this.submit(() => this.s.sweepPayloads.run(before).changes);
  }

  async queueLen(ref: CollectionRef, partition: string | null): Promise<number> {
    return (partition === null ? this.s.queueLen.get(ref.ns, ref.name) : this.s.partLen.get(ref.ns, ref.name, partition)) as number;
  }
}
