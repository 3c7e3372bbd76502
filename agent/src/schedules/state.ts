/**
 * What the agent remembers of each schedule across restarts: last and next firing, the last call and
 * how it ended, and the run of consecutive failures. One small table, `schedule_state`, in the agent's
 * SQLite file, written through its own connection (WAL lets it sit beside the call store's). Writes are
 * rare (a few per firing) and synchronous, so a firing's call id is on disk before the next one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";

export type LastStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "skipped";

export interface ScheduleState {
  /** `app/name`. */
  key: string;
  /** Epoch ms of the last firing that made a call. */
  lastRun: number | null;
  /** Epoch ms of the next firing as computed when the agent last ran; a past value after a restart is a missed firing. */
  nextRun: number | null;
  lastCallId: string | null;
  lastStatus: LastStatus | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** Firings skipped because the previous run was still going (overlap: skip) or missed while down (missed: skip). */
  skipped: number;
}

export function emptyState(key: string): ScheduleState {
  return { key, lastRun: null, nextRun: null, lastCallId: null, lastStatus: null, lastError: null, consecutiveFailures: 0, skipped: 0 };
}

export class ScheduleStateStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;

  constructor(file: string, fsync = true) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${fsync ? "FULL" : "NORMAL"}`);
    this.db.pragma("busy_timeout = 5000");
    this.db.exec("CREATE TABLE IF NOT EXISTS schedule_state (key TEXT PRIMARY KEY, state TEXT NOT NULL)");
    this.getStmt = this.db.prepare("SELECT state FROM schedule_state WHERE key = ?").pluck();
    this.putStmt = this.db.prepare("INSERT OR REPLACE INTO schedule_state (key, state) VALUES (?, ?)");
  }

  get(key: string): ScheduleState {
    const text = this.getStmt.get(key) as string | undefined;
    return text === undefined ? emptyState(key) : { ...emptyState(key), ...(JSON.parse(text) as Partial<ScheduleState>), key };
  }

  put(state: ScheduleState): void {
    if (!this.db.open) return;
    this.putStmt.run(state.key, JSON.stringify(state));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
