/**
 * The embedded Store: one SQLite file in WAL mode through better-sqlite3.
 *
 * Group commit: writes are queued and applied together in one transaction on the next turn of the
 * event loop (setImmediate), so one fsync covers every spawn that arrived meanwhile. With
 * `synchronous=FULL` each commit is fsynced before the promises of its writes resolve, which is what
 * lets the gateway answer 202 only for calls that survive kill -9 and power loss. At 2,000 spawns/s
 * and ~1 ms per fsync, a group holds a handful of calls and the disk sees a few hundred commits/s.
 *
 * better-sqlite3 is synchronous: reads (payload, get) take microseconds on the indexed primary key and
 * run inline.
 *
 * Opening checks the files first (open-check.ts): a missing or damaged write-ahead log, or a damaged
 * database, refuses the start with the file, what is wrong and what to do, instead of losing calls.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import type { RemoteError } from "../errors";
import { checkDatabase, checkLog, markerPath, openError } from "./open-check";
import { COLLECTIONS_SCHEMA, SqliteCollections } from "./sqlite-collections";
import { SqliteIdempotency } from "./sqlite-idempotency";
import type { AttemptRecord, NewCall, ScheduleState, Store, StoredApp, StoredCall, StoredState, UnfinishedCall } from "./store";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  fn TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  payload TEXT,
  result TEXT,
  error TEXT,
  last_attempt TEXT
);
CREATE INDEX IF NOT EXISTS calls_waiting ON calls(created_at) WHERE state = 'waiting';
CREATE INDEX IF NOT EXISTS calls_finished ON calls(finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
  call_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (call_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS apps (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  app_dir TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule_state (
  key TEXT PRIMARY KEY,
  state TEXT NOT NULL
);
`;

type Op = () => void;

export interface SqliteStoreOptions {
  /** fsync every group commit (synchronous=FULL); NORMAL survives a crash of the agent but not of the machine. */
  fsync?: boolean;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private ops: Op[] = [];
  private resolvers: Array<() => void> = [];
  private rejecters: Array<(err: Error) => void> = [];
  private scheduled = false;
  private closed = false;
  private readonly stmt: ReturnType<SqliteStore["prepare"]>;
  private readonly commit: (ops: Op[]) => void;
  private readonly marker: string;
  private readonly keys: SqliteIdempotency;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    checkLog(file);
    try {
      this.db = new Database(file);
    } catch (err) {
      throw openError(err, file);
    }
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${options.fsync === false ? "NORMAL" : "FULL"}`);
      this.db.pragma("busy_timeout = 5000");
      checkDatabase(this.db, file);
      this.db.exec(SCHEMA);
      this.db.exec(COLLECTIONS_SCHEMA);
      // Files created before the last_attempt column existed.
      const columns = this.db.prepare("SELECT name FROM pragma_table_info('calls')").pluck().all() as string[];
      if (!columns.includes("last_attempt")) this.db.exec("ALTER TABLE calls ADD COLUMN last_attempt TEXT");
      // The call tree (calls made from inside calls): added later, so added to older files here.
      if (!columns.includes("parent")) this.db.exec("ALTER TABLE calls ADD COLUMN parent TEXT");
      if (!columns.includes("children")) this.db.exec("ALTER TABLE calls ADD COLUMN children TEXT");
    } catch (err) {
      this.db.close();
      throw openError(err, file);
    }
    // The log exists now (WAL mode, schema read): from here an unclean stop leaves the marker beside it.
    this.marker = markerPath(file);
    fs.writeFileSync(this.marker, `${process.pid}\n`);
    this.keys = new SqliteIdempotency(this.db);
    this.stmt = this.prepare();
    this.commit = this.db.transaction((ops: Op[]) => {
      for (const op of ops) op();
    });
    this.collections = new SqliteCollections(this.db, (op) => this.submitWith(op));
  }

  readonly collections: SqliteCollections;

  /** Like submit, for a write that reads first (collections): resolves with what `op` returned, once durable. */
  private submitWith<T>(op: () => T): Promise<T> {
    let out: T;
    return this.submit(() => {
      out = op();
    }).then(() => out);
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare("INSERT INTO calls (id, fn, state, created_at, payload, parent) VALUES (?, ?, 'waiting', ?, ?, ?)"),
      children: db.prepare("UPDATE calls SET children = ? WHERE id = ?"),
      payload: db.prepare("SELECT payload FROM calls WHERE id = ?").pluck(),
      attempt: db.prepare("INSERT OR REPLACE INTO attempts (call_id, n, record) VALUES (?, ?, ?)"),
      finish: db.prepare("UPDATE calls SET state = ?, result = ?, error = ?, finished_at = ?, payload = NULL, last_attempt = ? WHERE id = ? AND state = 'waiting'"),
      get: db.prepare("SELECT id, fn, state, created_at, finished_at, result, error, last_attempt, parent, children FROM calls WHERE id = ?"),
      attempts: db.prepare("SELECT record FROM attempts WHERE call_id = ? ORDER BY n").pluck(),
      unfinished: db.prepare(
        "SELECT c.id, c.fn, c.created_at, (SELECT count(*) FROM attempts a WHERE a.call_id = c.id) AS attempts FROM calls c WHERE c.state = 'waiting' ORDER BY c.created_at, c.rowid",
      ),
      expired: db.prepare("SELECT id FROM calls WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT 1000").pluck(),
      deleteCall: db.prepare("DELETE FROM calls WHERE id = ?"),
      deleteAttempts: db.prepare("DELETE FROM attempts WHERE call_id = ?"),
      saveApp: db.prepare("INSERT OR REPLACE INTO apps (name, doc, app_dir) VALUES (?, ?, ?)"),
      deleteApp: db.prepare("DELETE FROM apps WHERE name = ?"),
      apps: db.prepare("SELECT name, doc, app_dir FROM apps ORDER BY name"),
      saveSchedule: db.prepare("INSERT OR REPLACE INTO schedule_state (key, state) VALUES (?, ?)"),
      schedules: db.prepare("SELECT key, state FROM schedule_state ORDER BY key"),
    };
  }

  /** Queues `op` for the next group commit; the promise resolves once that commit is durable. */
  private submit(op: Op): Promise<void> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    this.ops.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushNow());
    }
    return new Promise<void>((resolve, reject) => {
      this.resolvers.push(resolve);
      this.rejecters.push(reject);
    });
  }

  private queueOnly(op: Op): void {
    this.ops.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushNow());
    }
  }

  private flushNow(): void {
    this.scheduled = false;
    const ops = this.ops;
    const resolvers = this.resolvers;
    const rejecters = this.rejecters;
    this.ops = [];
    this.resolvers = [];
    this.rejecters = [];
    if (ops.length === 0) return;
    try {
      this.commit(ops);
    } catch (err) {
      for (const reject of rejecters) reject(err as Error);
      return;
    }
    for (const resolve of resolvers) resolve();
  }

  enqueue(calls: readonly NewCall[]): Promise<void> {
    return this.submit(() => {
      for (const c of calls) this.stmt.insert.run(c.id, c.fn, c.createdAt, c.payload, c.parent ?? null);
    });
  }

  async payload(id: string): Promise<string | undefined> {
    return this.stmt.payload.get(id) as string | undefined;
  }

  recordChildren(callId: string, children: readonly string[]): void {
    const text = JSON.stringify(children);
    this.queueOnly(() => this.stmt.children.run(text, callId));
  }

  recordAttempt(callId: string, attempt: AttemptRecord): void {
    const record = JSON.stringify(attempt);
    this.queueOnly(() => this.stmt.attempt.run(callId, attempt.n, record));
  }

  /**
   * The attempt that ends the call rides in the call's own row (`last_attempt`): one write per finished
   * call instead of two. If the call was already final (the row is not updated), it goes to `attempts`.
   */
  finish(callId: string, state: Exclude<StoredState, "waiting">, result: string | null, error: RemoteError | null, finishedAt: number, attempt: AttemptRecord | null = null): Promise<void> {
    const errorText = error === null ? null : JSON.stringify(error);
    const record = attempt === null ? null : JSON.stringify(attempt);
    return this.submit(() => {
      const { changes } = this.stmt.finish.run(state, result, errorText, finishedAt, record, callId);
      if (changes === 0 && attempt !== null) this.stmt.attempt.run(callId, attempt.n, record);
    });
  }

  async get(id: string): Promise<StoredCall | undefined> {
    const row = this.stmt.get.get(id) as
      | {
          id: string;
          fn: string;
          state: StoredState;
          created_at: number;
          finished_at: number | null;
          result: string | null;
          error: string | null;
          last_attempt: string | null;
          parent: string | null;
          children: string | null;
        }
      | undefined;
    if (row === undefined) return undefined;
    const attempts = (this.stmt.attempts.all(id) as string[]).map((r) => JSON.parse(r) as AttemptRecord);
    if (row.last_attempt !== null) {
      const last = JSON.parse(row.last_attempt) as AttemptRecord;
      const i = attempts.findIndex((a) => a.n === last.n);
      if (i >= 0) attempts[i] = last;
      else attempts.push(last);
      attempts.sort((x, y) => x.n - y.n);
    }
    return {
      id: row.id,
      fn: row.fn,
      state: row.state,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      result: row.result,
      error: row.error === null ? null : (JSON.parse(row.error) as RemoteError),
      attempts,
      parent: row.parent,
      children: row.children === null ? [] : (JSON.parse(row.children) as string[]),
    };
  }

  async unfinished(): Promise<UnfinishedCall[]> {
    const rows = this.stmt.unfinished.all() as Array<{ id: string; fn: string; created_at: number; attempts: number }>;
    return rows.map((r) => ({ id: r.id, fn: r.fn, createdAt: r.created_at, attempts: r.attempts }));
  }

  async sweep(before: number): Promise<number> {
    // Large invocations stored for a call that never came (the caller died between the two requests).
    await this.collections.sweepPayloads(before);
    let total = 0;
    for (;;) {
      const ids = this.stmt.expired.all(before) as string[];
      if (ids.length === 0) {
        this.keys.sweep();
        return total;
      }
      this.db.transaction(() => {
        for (const id of ids) {
          this.stmt.deleteCall.run(id);
          this.stmt.deleteAttempts.run(id);
        }
      })();
      total += ids.length;
    }
  }

  saveApp(app: StoredApp): Promise<void> {
    const doc = JSON.stringify(app.doc);
    return this.submit(() => this.stmt.saveApp.run(app.name, doc, app.appDir));
  }

  deleteApp(name: string): Promise<void> {
    return this.submit(() => this.stmt.deleteApp.run(name));
  }

  async apps(): Promise<StoredApp[]> {
    const rows = this.stmt.apps.all() as Array<{ name: string; doc: string; app_dir: string }>;
    return rows.map((r) => ({ name: r.name, doc: JSON.parse(r.doc) as unknown, appDir: r.app_dir }));
  }

  saveSchedule(state: ScheduleState): Promise<void> {
    const text = JSON.stringify(state);
    return this.submit(() => this.stmt.saveSchedule.run(state.key, text));
  }

  async schedules(): Promise<Array<Partial<ScheduleState> & { key: string }>> {
    const rows = this.stmt.schedules.all() as Array<{ key: string; state: string }>;
    return rows.map((r) => ({ ...(JSON.parse(r.state) as Partial<ScheduleState>), key: r.key }));
  }

  /** A call and its idempotency key, in one transaction (sqlite-idempotency.ts). */
  enqueueKeyed(call: NewCall, key: string): Promise<void> {
    return this.submit(() => this.keys.insert(call, key));
  }

  async callForKey(fn: string, key: string): Promise<string | undefined> {
    return this.keys.callFor(fn, key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushNow();
    this.closed = true;
    // Before the close: a stop between the two then leaves a log and no marker, which is read as usual.
    fs.rmSync(this.marker, { force: true });
    this.db.close();
  }
}
