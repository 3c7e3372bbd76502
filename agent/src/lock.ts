/**
 * One agent per state directory. Two agents on the same directory would both re-queue the same
 * unfinished calls (running them twice) and the second would kill the first's workers as orphans.
 *
 * The lock is SQLite's own file lock on `<stateDir>/agent.lock`, held exclusively for the agent's life
 * (locking_mode EXCLUSIVE): the kernel drops it when the process dies, however it dies, and it holds
 * between processes that cannot see each other's pids, such as two agent pods on one volume (a pod
 * replaced while the old one still drains; both are pid 1 in their own pid namespace, so a pid file
 * alone would let the second in). `<stateDir>/agent.pid` names the holder in the refusal message.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";

export class StateDirLocked extends Error {}

export function lockStateDir(stateDir: string): () => void {
  const pidFile = path.join(stateDir, "agent.pid");
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of after better-sqlite3's 5 s default.
  const db = new Database(path.join(stateDir, "agent.lock"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write transaction takes the exclusive lock; in EXCLUSIVE mode COMMIT keeps it.
    db.exec("BEGIN EXCLUSIVE; COMMIT");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    let holder = "";
    try {
      holder = ` (pid ${Number(fs.readFileSync(pidFile, "utf8").trim())})`;
    } catch {
      // Written just after the lock is taken: the holder may not have written it yet.
    }
    throw new StateDirLocked(`another warmpool agent${holder} is using ${stateDir}; stop it first or use another --state-dir`);
  }
  fs.writeFileSync(pidFile, String(process.pid), { mode: 0o600 });
  return () => {
    fs.rmSync(pidFile, { force: true });
    db.close();
  };
}
