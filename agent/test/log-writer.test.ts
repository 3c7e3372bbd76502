/**
 * The local backend's log records (backends/local/log-writer.ts): a line per record with the time it
 * was read and its stream, long lines in parts, unfinished lines written once they have waited, and
 * read back by parseRecord.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { LogWriter, MAX_LINE, PARTIAL_MS, parseRecord } from "../src/backends/local/log-writer";
import { tempDir } from "./helpers";

const T0 = Date.parse("2026-12-03T05:00:00.000Z");

function setup(): { file: string; w: LogWriter; out: PassThrough; err: PassThrough; clock: { now: number } } {
  const file = path.join(tempDir("logw"), "c.log");
  const clock = { now: T0 };
  const w = new LogWriter(file, () => clock.now);
  const out = new PassThrough();
  const err = new PassThrough();
  w.attach(out, "stdout");
  w.attach(err, "stderr");
  return { file, w, out, err, clock };
}

/** Lets the streams deliver what was written to them. */
const delivered = (): Promise<void> => new Promise((r) => setImmediate(r));

afterEach(() => jest.useRealTimers());

test("each line is one record with the time it was read and its stream, in the order read", async () => {
  const { file, w, out, err, clock } = setup();
  out.write("one\ntw");
  await delivered();
  clock.now += 5;
  err.write("oops\n");
  await delivered();
  out.write("o\n");
  await delivered();
  await w.close();
  expect(fs.readFileSync(file, "utf8")).toBe(["2026-12-03T05:00:00.000Z stdout F one", "2026-12-03T05:00:00.005Z stderr F oops", "2026-12-03T05:00:00.005Z stdout F two", ""].join("\n"));
});

test("a line longer than MAX_LINE is written in parts, its end as the last", async () => {
  const { file, w, out } = setup();
  out.write(`${"x".repeat(MAX_LINE * 2 + 10)}\nnext\n`);
  await delivered();
  await w.close();
  const records = fs.readFileSync(file, "utf8").trimEnd().split("\n").map(parseRecord);
  expect(records.map((r) => [r.partial, r.text.length])).toEqual([
    [true, MAX_LINE],
    [true, MAX_LINE],
    [false, 10],
    [false, 4],
  ]);
});

test("an unfinished line is written as a part once it has waited PARTIAL_MS, however often it grows (a progress bar)", async () => {
  jest.useFakeTimers({ doNotFake: ["setImmediate", "nextTick"] });
  const { file, w, out, clock } = setup();
  const step = async (ms: number): Promise<void> => {
    clock.now += ms;
    jest.advanceTimersByTime(ms);
    await delivered();
  };
  for (const frame of ["10%\r", "50%\r", "90%\r"]) {
    out.write(frame);
    await delivered();
    await step(PARTIAL_MS / 4);
  }
  await step(PARTIAL_MS / 4);
  // Written by the wait (at T0 + PARTIAL_MS), not by close an hour later.
  clock.now = T0 + 3_600_000;
  await w.close();
  expect(fs.readFileSync(file, "utf8").split("\n").slice(0, -1).map(parseRecord)).toEqual([{ time: T0 + PARTIAL_MS, stream: "stdout", partial: true, text: "10%\r50%\r90%\r" }]);
});

test("close writes what is left of unfinished lines", async () => {
  const { file, w, err } = setup();
  err.write("Traceback without a newline");
  await delivered();
  await w.close();
  expect(parseRecord(fs.readFileSync(file, "utf8").trimEnd())).toEqual({ time: T0, stream: "stderr", partial: true, text: "Traceback without a newline" });
});

test("a line of a file written before records existed reads as itself, without a time", () => {
  expect(parseRecord("plain output 2026-12-03T05:00:00.000Z stdout F x")).toEqual({ time: null, stream: null, partial: false, text: "plain output 2026-12-03T05:00:00.000Z stdout F x" });
});
