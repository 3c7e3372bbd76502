/**
 * Checks of the SQLite file at start, before the agent trusts it with calls. SQLite opens a database
 * whose write-ahead log is gone or damaged without an error, and simply lacks what was in the log:
 * up to every call accepted since the last checkpoint (1,000 pages, ~4 MB of spawns). The agent refuses
 * to start instead, with one message: the file, what is wrong, and what to do.
 *
 * - Missing log: `<db>-open` is made once the database is open in WAL mode (when the log exists) and
 *   removed on a clean close (before SQLite checkpoints and deletes the log), so "marker there, log not"
 *   means the agent stopped without closing, and the log went missing since.
 * - Damaged log: wal.ts, whenever a log is there.
 * - Damaged database: "file is not a database" or "malformed" from the first read, and `PRAGMA
 *   quick_check` (every page's structure, without integrity_check's cross-check of indexes against
 *   tables). Measured: 84 ms for a 59 MB file of 200,000 calls (integrity_check: 162 ms), page cache
 *   warm; cold, it costs one read of the file.
 *
 * The ways out are always the same two, and each message states them: restore from a backup, or move
 * the files aside and start empty, losing the calls in them.
 */
import * as fs from "node:fs";
import type Database from "better-sqlite3";
import { inspectWal, walDamage } from "./wal";

export class DatabaseStartError extends Error {
  constructor(message: string) {
    super(`warmpool agent: ${message}`);
    this.name = "DatabaseStartError";
  }
}

export function markerPath(file: string): string {
  return `${file}-open`;
}

/** Before SQLite touches the files: a missing or damaged write-ahead log. */
export function checkLog(file: string): void {
  const marker = markerPath(file);
  const wal = `${file}-wal`;
  if (!fs.existsSync(file)) {
    // Nothing to lose (first start, or the database was moved aside): a stale marker means nothing.
    fs.rmSync(marker, { force: true });
    return;
  }
  if (!fs.existsSync(wal)) {
    if (!fs.existsSync(marker)) return;
    throw new DatabaseStartError(
      `${file} was not closed cleanly (${marker} is still there), and its write-ahead log ${wal} is missing: the calls accepted since the last checkpoint were in it, ` +
        `and starting without it would lose them without a word. Restore ${wal} from the backup taken with ${file}; or remove ${marker} to start from what ${file} holds ` +
        `(nothing is lost if another SQLite program opened and closed the database since: that folds the log into it and deletes it; otherwise the calls since its last checkpoint are); ` +
        `or move ${file} and ${file}-shm aside to start with an empty database, which loses every call in it.`,
    );
  }
  const damage = walDamage(inspectWal(wal));
  if (damage !== null) {
    throw new DatabaseStartError(
      `the write-ahead log ${wal} of ${file} is damaged: ${damage} (the calls accepted and the results recorded in them). ` +
        `Restore ${file} and ${wal} from a backup; or move ${file}, ${wal} and ${file}-shm aside to start with an empty database, which loses every call in them.`,
    );
  }
}

/** Once open: the database's own structure. */
export function checkDatabase(db: Database.Database, file: string): void {
  const result = db.pragma("quick_check", { simple: false }) as Array<{ quick_check: string }>;
  // One line: quick_check's own answer spans several ("*** in database main ***\nTree 3 page 3: ...").
  const problems = result.map((r) => r.quick_check.replace(/\s*\n\s*/g, " ")).filter((r) => r !== "ok");
  if (problems.length > 0) throw damagedDatabase(file, `PRAGMA quick_check found ${problems.length} problem(s): ${problems.slice(0, 3).join("; ")}`);
}

/** A SQLite error of opening `file`, worded for whoever has to act on it. */
export function openError(err: unknown, file: string): Error {
  if (err instanceof DatabaseStartError) return err;
  const code = (err as { code?: string }).code ?? "";
  const message = (err as Error).message;
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) return damagedDatabase(file, message);
  return new DatabaseStartError(`cannot open the database ${file}: ${message}`);
}

function damagedDatabase(file: string, what: string): DatabaseStartError {
  return new DatabaseStartError(
    `the database ${file} is damaged (${what}). Restore it from a backup; or move ${file}, ${file}-wal and ${file}-shm aside to start with an empty database, which loses every call in it.`,
  );
}
