/**
 * Consistency rules of a ScheduleSpec: exactly one of cron and every, a cron expression that parses,
 * and a timezone the runtime knows.
 */
import { Cron } from "croner";
import type { Problem } from "../problems";
import type { ScheduleSpec } from "../generated/specs";

export function scheduleProblems(spec: ScheduleSpec): Problem[] {
  const problems: Problem[] = [];
  if ((spec.cron === undefined) === (spec.every === undefined)) {
    problems.push({
      path: spec.cron === undefined ? "cron" : "every",
      value: spec.cron === undefined ? undefined : spec.every,
      message: "exactly one of cron and every must be set",
    });
  }
  const timezone = spec.timezone ?? "UTC";
  const timezoneOk = isTimezone(timezone);
  if (!timezoneOk) {
    problems.push({ path: "timezone", value: timezone, message: "must be an IANA timezone such as Europe/Paris or America/New_York" });
  }
  if (spec.cron !== undefined) {
    const error = cronError(spec.cron, timezoneOk ? timezone : "UTC");
    if (error !== undefined) problems.push({ path: "cron", value: spec.cron, message: `is not a valid 5-field cron expression: ${error}` });
  }
  return problems;
}

export function isTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function cronError(expression: string, timezone: string): string | undefined {
  try {
    // paused: parse only, never schedule a timer from a validator.
    new Cron(expression, { timezone, paused: true, mode: "5-part" } as ConstructorParameters<typeof Cron>[1]);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
