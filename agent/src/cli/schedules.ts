/** `warmpool schedules`: every schedule with its timing, policies, last and next run and last outcome. */
import Table from "cli-table3";
import { clientFrom, type ClientFlags } from "./commands";

export async function schedulesCommand(flags: ClientFlags & { app?: string; json?: boolean }): Promise<void> {
  const { schedules } = await clientFrom(flags).schedules(flags.app);
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(schedules, null, 2)}\n`);
    return;
  }
  const table = new Table({ head: ["schedule", "function", "timing", "next run", "last run", "last status", "failures", "skipped", "last error"], wordWrap: true });
  for (const s of schedules) {
    const name = `${String(s.app)}/${String(s.name)}${s.suspended === true ? " (suspended)" : ""}`;
    table.push([name, s.function, s.timing, s.nextRun ?? "-", s.lastRun ?? "-", s.lastStatus ?? "-", s.consecutiveFailures, s.skipped, s.lastError ?? ""] as string[]);
  }
  process.stdout.write(`${table.toString()}\n`);
}
