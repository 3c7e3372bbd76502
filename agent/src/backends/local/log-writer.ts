/**
 * Writes a local container's output to its log file, a record per line with the time the agent read
 * it and the stream it came from (the format of the CRI's container logs, which `kubectl logs
 * --timestamps` reads):
 *
 *     2026-12-03T05:41:00.123Z stdout F hello
 *     2026-12-03T05:41:00.124Z stderr P 16 KiB of a line that goes on…
 *
 * `F` ends a line; `P` is part of one, written when a line passes MAX_LINE bytes or has waited
 * PARTIAL_MS for its end (a progress bar that redraws with \r and never ends its line). Records
 * go to the file in the order they were read, through one write stream; when the file cannot keep up,
 * the pipes are paused and the worker waits on its writes (64 KiB of pipe), as under a container
 * runtime, so memory stays bounded whatever the worker prints.
 *
 * The worker writes to pipes, not to the file, so that every line has its time; the price is that the
 * agent reads and writes every byte a worker prints (bench: `npm run bench:agent` (f)).
 */
import * as fs from "node:fs";
import type { Readable } from "node:stream";

export type StreamName = "stdout" | "stderr";

/** A line longer than this (in characters) is written in parts. */
export const MAX_LINE = 16 << 10;
/** A line without its end after this long is written as a part. */
export const PARTIAL_MS = 1000;

/** One record of a log file; `time` null for a line of a file written without records (before they existed). */
export interface LogRecord {
  time: number | null;
  stream: StreamName | null;
  partial: boolean;
  text: string;
}

const RECORD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (stdout|stderr) ([FP]) /;

/** A line of a log file, read back. */
export function parseRecord(line: string): LogRecord {
  const m = RECORD.exec(line);
  if (m === null) return { time: null, stream: null, partial: false, text: line };
  return { time: Date.parse(m[1] as string), stream: m[2] as StreamName, partial: m[3] === "P", text: line.slice(m[0].length) };
}

export class LogWriter {
  private readonly out: fs.WriteStream;
  private readonly sources: Readable[] = [];
  private readonly partials = new Map<StreamName, { text: string; timer: NodeJS.Timeout }>();

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.out = fs.createWriteStream(file, { flags: "a" });
    this.out.on("error", () => undefined); // a full disk loses output, never the agent
    this.out.on("drain", () => {
      for (const s of this.sources) s.resume();
    });
  }

  attach(source: Readable, stream: StreamName): void {
    this.sources.push(source);
    source.setEncoding("utf8");
    source.on("data", (chunk: string) => {
      if (!this.take(stream, chunk)) for (const s of this.sources) s.pause();
    });
    source.on("error", () => undefined);
  }

  /** Writes what is left of unfinished lines and closes the file; resolves once it is written. */
  close(): Promise<void> {
    for (const stream of [...this.partials.keys()]) this.flushPartial(stream);
    return new Promise((resolve) => this.out.end(resolve));
  }

  /** false when the file is behind (the caller pauses its sources). */
  private take(stream: StreamName, chunk: string): boolean {
    const pending = this.partials.get(stream);
    const text = pending === undefined ? chunk : pending.text + chunk;
    const time = new Date(this.now()).toISOString();
    let records = "";
    let at = 0;
    const head = `${time} ${stream} F `;
    const last = text.lastIndexOf("\n");
    if (last >= 0 && longestLine(text, last) <= MAX_LINE) {
      // The usual chunk, every line short: one native replace instead of a slice per line (bench:agent (f), 100-byte lines: 14.5 → 11.4 ms of agent CPU per MB).
      records = `${head}${text.slice(0, last).replaceAll("\n", `\n${head}`)}\n`;
      at = last + 1;
    }
    for (;;) {
      const nl = text.indexOf("\n", at);
      if ((nl < 0 ? text.length : nl) - at > MAX_LINE) {
        records += `${time} ${stream} P ${text.slice(at, at + MAX_LINE)}\n`;
        at += MAX_LINE;
      } else if (nl >= 0) {
        records += `${time} ${stream} F ${text.slice(at, nl)}\n`;
        at = nl + 1;
      } else break;
    }
    const rest = text.slice(at);
    if (pending !== undefined && at === 0 && rest !== "")
      pending.text = rest; // still the same unfinished line: its wait goes on
    else {
      if (pending !== undefined) {
        clearTimeout(pending.timer);
        this.partials.delete(stream);
      }
      if (rest !== "") {
        const timer = setTimeout(() => this.flushPartial(stream), PARTIAL_MS);
        timer.unref();
        this.partials.set(stream, { text: rest, timer });
      }
    }
    return records === "" ? true : this.out.write(records);
  }

  private flushPartial(stream: StreamName): void {
    const p = this.partials.get(stream);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.partials.delete(stream);
    this.out.write(`${new Date(this.now()).toISOString()} ${stream} P ${p.text}\n`);
  }
}

/** The longest line of `text` up to the newline at `end`. */
function longestLine(text: string, end: number): number {
  let longest = 0;
  let from = 0;
  for (;;) {
    const nl = text.indexOf("\n", from);
    longest = Math.max(longest, nl - from);
    if (nl >= end) return longest;
    from = nl + 1;
  }
}
