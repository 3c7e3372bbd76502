/**
 * When a schedule fires. A cron expression (5 fields) is evaluated by croner in the schedule's IANA
 * timezone, so "0 9 * * *" in Europe/Berlin fires at 08:00Z in winter and 07:00Z in summer; a local
 * time skipped by a spring-forward change fires at the first valid time after it (02:30 → 03:00), and
 * one repeated by a fall-back change fires once. A period (`every: 5m`) fires at the multiples of the
 * period since the Unix epoch (UTC), so firing times do not depend on when the agent started and are
 * the same after a restart.
 */
import { Cron } from "croner";
import type { ResolvedScheduleSpec } from "@warmpool/schema";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of an `every` period such as `30s`, `5m`, `1h`, `1d`. */
export function periodMs(every: string): number {
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(every);
  if (m === null) throw new Error(`every = ${JSON.stringify(every)}: must be a positive integer followed by s, m, h or d`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

export interface Timing {
  /** The first firing strictly after `after` (epoch ms), or null when there is none. */
  next(after: number): number | null;
  /** For people: `cron "0 9 * * *" (Europe/Berlin)` or `every 5m`. */
  readonly describe: string;
}

export function timingOf(spec: Pick<ResolvedScheduleSpec, "cron" | "every" | "timezone">): Timing {
  if (spec.cron !== undefined && spec.every !== undefined) throw new Error("a schedule has exactly one of cron and every");
  if (spec.cron !== undefined) {
    const timezone = spec.timezone;
    const cron = new Cron(spec.cron, { timezone, paused: true, mode: "5-part" });
    return {
      describe: `cron "${spec.cron}" (${timezone})`,
      next(after) {
        const d = cron.nextRun(new Date(after));
        return d === null ? null : d.getTime();
      },
    };
  }
  if (spec.every !== undefined) {
    const period = periodMs(spec.every);
    return {
      describe: `every ${spec.every}`,
      next: (after) => (Math.floor(after / period) + 1) * period,
    };
  }
  throw new Error("a schedule needs cron or every");
}
