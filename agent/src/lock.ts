/**
 * One agent per state directory. Two agents on the same directory would both re-queue the same
 * unfinished calls (running them twice) and the second would kill the first's workers as orphans, so
 * the agent writes its pid to `<stateDir>/agent.pid` and refuses to start while that process lives. A
 * pid file left by a killed agent (kill -9) names a dead process and is taken over.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export class StateDirLocked extends Error {}

export function lockStateDir(stateDir: string): () => void {
  const file = path.join(stateDir, "agent.pid");
  for (let tries = 0; tries < 2; tries++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new StateDirLocked(`another warmpool agent (pid ${pid}) is using ${stateDir}; stop it first or use another --state-dir`);
    }
    fs.rmSync(file, { force: true });
  }
  throw new StateDirLocked(`could not lock ${stateDir}`);
}

/** Whether process `pid` runs (a zombie does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
