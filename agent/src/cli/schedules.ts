/** `warmpool schedules`: every schedule with its timing, policies, last and next run and last outcome. */
import { clientFrom, type ClientFlags, type Context } from "./commands";

/** A last error longer than this is cut in the default table (`-o wide` shows it whole). */
const ERROR_WIDTH = 60;

export async function schedulesCommand(ctx: Context<ClientFlags & { app?: string }>): Promise<void> {
  const { schedules } = await clientFrom(ctx.flags).schedules(ctx.flags.app);
  const wide = ctx.out.format === "wide";
  ctx.out.document(schedules, () => {
    const rows = schedules.map((s) => {
      const name = `${String(s.app)}/${String(s.name)}${s.suspended === true ? " (suspended)" : ""}`;
      const error = typeof s.lastError === "string" ? s.lastError.replace(/\s+/g, " ") : null;
      return [
        name,
        s.function,
        s.timing,
        s.nextRun,
        s.lastRun,
        s.lastStatus,
        s.consecutiveFailures,
        ...(wide ? [s.skipped, error] : [error !== null && error.length > ERROR_WIDTH ? `${error.slice(0, ERROR_WIDTH - 1)}…` : error]),
      ] as string[];
    });
    ctx.out.table(["schedule", "function", "timing", "next run", "last run", "last status", "failures", ...(wide ? ["skipped"] : []), "last error"], rows);
  });
}
