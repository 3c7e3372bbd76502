/**
 * Reads a request trace in the Azure LLM inference traces' CSV format: a header naming the columns
 * `TIMESTAMP`, `ContextTokens` and `GeneratedTokens` (any order, any case, more columns ignored), then
 * one request a line. Timestamps are `YYYY-MM-DD HH:MM:SS[.fraction]` (UTC unless an offset or `Z`
 * follows; `T` may separate date and time) or plain numbers of seconds. Rows need not be sorted. Lines
 * that do not parse are skipped and counted; a file with no usable row is an error. Read as a stream, so
 * week-long traces of millions of rows fit.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";

export interface Trace {
  file: string;
  /** Arrival of each request, ms after the first, ascending. */
  arrivalMs: Float64Array;
  contextTokens: Float64Array;
  generatedTokens: Float64Array;
  /** The first arrival, as an ISO date (1970 for traces of plain seconds). */
  start: string;
  skipped: number;
  /** The first skipped line and why, to show. */
  firstSkipped: string | null;
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/** Milliseconds since the epoch of a trace timestamp, or NaN. */
export function parseTimestamp(text: string): number {
  const s = text.trim().replace(/^"|"$/g, "");
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const m = STAMP.exec(s);
  if (m === null) return NaN;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)) + (frac === undefined ? 0 : Number(`0${frac}`) * 1000);
  if (zone !== undefined && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

export async function readTrace(file: string): Promise<Trace> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let cols: { ts: number; ctx: number; gen: number } | null = null;
  let at: Float64Array<ArrayBuffer> = new Float64Array(1 << 16);
  let ctx: Float64Array<ArrayBuffer> = new Float64Array(1 << 16);
  let gen: Float64Array<ArrayBuffer> = new Float64Array(1 << 16);
  let n = 0;
  let skipped = 0;
  let firstSkipped: string | null = null;
  let lineNo = 0;
  const skip = (line: string, why: string): void => {
    skipped++;
    firstSkipped ??= `line ${lineNo}: ${why}: ${line.slice(0, 120)}`;
  };
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line === "") continue;
    const fields = line.split(",").map((f) => f.trim().replace(/^"|"$/g, ""));
    if (cols === null) {
      const lower = fields.map((f) => f.toLowerCase());
      cols = { ts: lower.indexOf("timestamp"), ctx: lower.indexOf("contexttokens"), gen: lower.indexOf("generatedtokens") };
      if (cols.ts < 0 || cols.ctx < 0 || cols.gen < 0) throw new Error(`${file}: the header must name TIMESTAMP, ContextTokens and GeneratedTokens; it is: ${line.slice(0, 200)}`);
      continue;
    }
    const t = parseTimestamp(fields[cols.ts] ?? "");
    const c = Number(fields[cols.ctx]);
    const g = Number(fields[cols.gen]);
    if (!Number.isFinite(t)) {
      skip(line, "unreadable timestamp");
      continue;
    }
    if (!(Number.isFinite(c) && c >= 0 && Number.isFinite(g) && g >= 0) || fields[cols.ctx] === "" || fields[cols.gen] === "") {
      skip(line, "token counts must be numbers ≥ 0");
      continue;
    }
    if (n === at.length) {
      at = grow(at);
      ctx = grow(ctx);
      gen = grow(gen);
    }
    at[n] = t;
    ctx[n] = c;
    gen[n] = g;
    n++;
  }
  if (cols === null) throw new Error(`${file}: empty`);
  if (n === 0) throw new Error(`${file}: no usable row${firstSkipped === null ? "" : ` (${skipped} skipped; ${firstSkipped})`}`);
  const order = Array.from({ length: n }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if ((at[i] as number) < (at[i - 1] as number)) sorted = false;
  if (!sorted) order.sort((a, b) => (at[a] as number) - (at[b] as number) || a - b);
  const first = at[order[0] as number] as number;
  const out: Trace = {
    file,
    arrivalMs: new Float64Array(n),
    contextTokens: new Float64Array(n),
    generatedTokens: new Float64Array(n),
    start: new Date(first).toISOString(),
    skipped,
    firstSkipped,
  };
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    out.arrivalMs[k] = (at[i] as number) - first;
    out.contextTokens[k] = ctx[i] as number;
    out.generatedTokens[k] = gen[i] as number;
  }
  return out;
}

function grow(a: Float64Array): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
