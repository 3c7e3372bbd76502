/**
 * Reading the local containers' log files (one per container, records written by log-writer.ts): the
 * last lines of each, and following them as they grow (`warmpool logs --follow`).
 *
 * Following polls: every `pollMs` the directory is listed and each file's size compared with what was
 * read. fs.watch would wake sooner, but it misses writes on some file systems (overlay, NFS) and needs
 * a watcher per file; at 250 ms a follower costs one readdir and a stat per container per tick. The
 * files are the buffer: a reader that is behind (`paused()`) is simply not read for, and no tick reads
 * more than READ_CHUNK bytes of a file, so a follower holds at most that much whatever the worker
 * writes. Every line carries the time the agent read it from the worker (log-writer.ts); a line of
 * a file written before lines had times has none.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FollowOptions, LogLine, LogSink } from "../backend";
import { parseRecord } from "./log-writer";

const READ_CHUNK = 1 << 20;
/** A record is at most log-writer.ts's MAX_LINE characters plus its prefix; a longer run without a newline is a torn write. */
const MAX_RECORD = 256 << 10;

interface Tracked {
  container: string;
  offset: number;
  partial: string;
}

export interface FollowerOptions extends FollowOptions {
  /** @default 250 */
  pollMs?: number;
}

/** The container ids of `dir`'s log files, oldest output first. */
function logFiles(dir: string): Array<{ container: string; file: string; mtimeMs: number; size: number }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith(".log"));
  } catch {
    return [];
  }
  const files = [];
  for (const name of names) {
    try {
      const st = fs.statSync(path.join(dir, name));
      files.push({ container: name.slice(0, -4), file: path.join(dir, name), mtimeMs: st.mtimeMs, size: st.size });
    } catch {
      // Removed between the listing and the stat.
    }
  }
  return files.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

/** The last `n` lines of `file`, read from its end (at most READ_CHUNK bytes), and its size then. */
function tailOf(file: string, size: number, n: number): { lines: string[]; offset: number } {
  const start = Math.max(0, size - READ_CHUNK);
  const text = readRange(file, start, size);
  const end = text.lastIndexOf("\n") + 1;
  const lines = text.slice(0, end).split("\n");
  lines.pop();
  if (start > 0) lines.shift(); // cut in the middle
  return { lines: lines.slice(-n), offset: start + Buffer.byteLength(text.slice(0, end)) };
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return "";
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(end - start);
    const n = fs.readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

function logLine(container: string, line: string): LogLine {
  const r = parseRecord(line);
  return { container, line: r.text, time: r.time, stream: r.stream };
}

/** Each container's last `n` lines, oldest output first. */
export function lastLines(dir: string, n: number): Array<{ container: string; lines: string[]; times: Array<number | null> }> {
  return logFiles(dir).map((f) => {
    const records = tailOf(f.file, f.size, n).lines.map((l) => parseRecord(l));
    return { container: f.container, lines: records.map((r) => r.text), times: records.map((r) => r.time) };
  });
}

/** Sends the history, then (with `follow`) new lines every `pollMs`, until `close()`. */
export function followLogDir(dir: string, options: FollowerOptions, sink: LogSink): { close(): void } {
  const tracked = new Map<string, Tracked>();
  const history: LogLine[] = [];
  for (const f of logFiles(dir)) {
    if (f.mtimeMs < options.sinceMs) {
      // Output older than --since: followed from its end, so only what it writes from now on shows.
      tracked.set(f.file, { container: f.container, offset: f.size, partial: "" });
      continue;
    }
    const { lines, offset } = tailOf(f.file, f.size, options.tailLines);
    tracked.set(f.file, { container: f.container, offset, partial: "" });
    for (const line of lines) history.push(logLine(f.container, line));
  }
  if (history.length > 0) sink.lines(history);
  sink.caughtUp();
  if (!options.follow) return { close: () => undefined };

  const tick = (): void => {
    if (sink.paused()) return;
    const out: LogLine[] = [];
    for (const f of logFiles(dir)) {
      let t = tracked.get(f.file);
      if (t === undefined) {
        t = { container: f.container, offset: 0, partial: "" };
        tracked.set(f.file, t);
      }
      if (f.size < t.offset) t.offset = 0; // truncated
      if (f.size === t.offset) continue;
      const text = t.partial + readRange(f.file, t.offset, Math.min(f.size, t.offset + READ_CHUNK));
      t.offset = Math.min(f.size, t.offset + READ_CHUNK);
      const lines = text.split("\n");
      t.partial = lines.pop() as string;
      if (t.partial.length > MAX_RECORD) {
        lines.push(t.partial);
        t.partial = "";
      }
      for (const line of lines) out.push(logLine(t.container, line));
    }
    if (out.length > 0) sink.lines(out);
  };
  const timer = setInterval(tick, options.pollMs ?? 250);
  return { close: () => clearInterval(timer) };
}
