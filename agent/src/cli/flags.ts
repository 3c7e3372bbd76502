/**
 * Parsers of the client commands' flag values and arguments. A value that does not parse is an error
 * naming the flag and what was typed (commander words it: "option '--range <n>' argument 'abc' is
 * invalid. …"), never a silent NaN: `map --range abc` used to map over nothing and exit 0.
 *
 * Arguments of call, spawn and map are JSON (`7` is a number, `'"hi"'` a string); one that is not
 * valid JSON is an error, unless --raw sends every argument as the string it is.
 */
import { InvalidArgumentError } from "commander";

/** A whole number ≥ `min` (`--range`, `--tail`). */
export function wholeNumber(min: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number${min > 0 ? ` ≥ ${min}` : " ≥ 0"}.`);
    return n;
  };
}

/** Seconds ≥ 0, fractions allowed (`--wait`). */
export function seconds(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError("must be a number of seconds ≥ 0.");
  return n;
}

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in seconds: `30s`, `10m`, `2h`, `1d`, or a bare number of seconds (`--since`). */
export function duration(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(raw);
  if (m === null) throw new InvalidArgumentError("must be a duration: a number with s, m, h or d (30s, 10m, 2h, 1d), or a bare number of seconds.");
  return Number(m[1]) * (UNIT_S[m[2] || "s"] as number);
}

/** A JSON object (`--kwargs '{"x": 3}'`). */
export function jsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message}); keyword arguments are a JSON object, e.g. '{"x": 3}'.`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new InvalidArgumentError(`must be a JSON object, e.g. '{"x": 3}'.`);
  return value as Record<string, unknown>;
}

/** An argument: JSON, or with `raw` the string itself. `where` names it in the error ("argument 2"). */
export function argument(text: string, raw: boolean, where: string): unknown {
  if (raw) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(
      `${where} ${JSON.stringify(text)} is not valid JSON (${(err as Error).message}): quote a string as '${JSON.stringify(text)}', or pass --raw to send every argument as a string`,
    );
  }
}

/** A mistake in what was typed: exit status 2, the message only. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `app/function` */
export function target(text: string): [string, string] {
  const m = /^([^/]+)\/([^/]+)$/.exec(text);
  if (m === null) throw new UsageError(`${JSON.stringify(text)} is not app/function`);
  return [m[1] as string, m[2] as string];
}
