/**
 * `warmpool map app/fn`: one input per value, `--range n` or `--file` line, streamed to the agent and
 * back. Every result is a line on stdout (NDJSON; `-o yaml`: a YAML document each), whatever stdout
 * is — a file, a pipe or a terminal —, failures with their error; `--quiet` keeps only the failures.
 * The progress bar goes to stderr, and only when stderr is a terminal, so `map … > out.ndjson` on a
 * terminal shows the bar and still writes every line. The summary ("N inputs, …", then the first
 * failures with their errors) goes to stderr; a failed input makes the exit status 1.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import { MultiBar, Presets } from "cli-progress";
import type { Invocation, MapLine } from "../client/client";
import { clientFrom, type ClientFlags, type Context } from "./commands";
import { EXIT } from "./errors";
import { argument, target, UsageError } from "./flags";

export interface MapFlags extends ClientFlags {
  file?: string;
  range?: number;
  unordered?: boolean;
  quiet?: boolean;
  raw?: boolean;
}

/** Failures listed again in the summary: enough to see what went wrong, not a second copy of the output. */
const SUMMARY_FAILURES = 5;

export async function mapCommand(ctx: Context<MapFlags>, t: string, values: string[]): Promise<void> {
  const [app, fn] = target(t);
  const { flags, out } = ctx;
  const raw = flags.raw === true;
  const sources = [flags.range !== undefined, flags.file !== undefined, values.length > 0].filter(Boolean).length;
  if (sources !== 1) throw new UsageError(`${sources === 0 ? "no inputs" : "inputs given more than one way"}: give values, --range <n> or --file <ndjson>`);
  let total: number | undefined;
  let inputs: Iterable<Invocation> | AsyncIterable<Invocation>;
  // An input the command cannot read ends the map; this keeps that error, not the aborted request's.
  let inputError: Error | null = null;
  if (flags.range !== undefined) {
    const n = flags.range;
    total = n;
    inputs = (function* () {
      for (let i = 0; i < n; i++) yield { args: [i] };
    })();
  } else if (flags.file !== undefined) {
    const file = flags.file;
    const stream = fs.createReadStream(file);
    await new Promise<void>((resolve, reject) => stream.once("open", () => resolve()).once("error", (err) => reject(new UsageError(`--file ${JSON.stringify(file)}: ${err.message}`))));
    inputs = (async function* () {
      let n = 0;
      for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
        n++;
        if (line.trim() === "") continue;
        try {
          yield { args: [argument(line, raw, `--file ${file} line ${n}:`)] };
        } catch (err) {
          inputError = err as Error;
          throw err;
        }
      }
    })();
  } else {
    // Every value is checked before anything is sent.
    const parsed = values.map((v, i) => ({ args: [argument(v, raw, `value ${i + 1}`)] }));
    total = parsed.length;
    inputs = parsed;
  }

  const bars =
    out.err.isTTY === true ? new MultiBar({ format: "map {bar} {value}/{total} | {failed} failed | {eta_formatted} left", stream: out.err, clearOnComplete: false }, Presets.shades_classic) : null;
  const bar = bars?.create(total ?? 0, 0, { failed: 0 }) ?? null;
  // With stdout on the terminal too, lines go above the bar through it, or the two would overwrite each
  // other; anywhere else (a file, a pipe) they go to stdout as they come.
  const emit = bars !== null && out.out.isTTY === true ? (text: string) => bars.log(text) : (text: string) => out.out.write(text);
  let done = 0;
  const failures: MapLine[] = [];
  try {
    for await (const line of clientFrom(flags)
      .fn(app, fn)
      .mapLines(inputs, { ordered: flags.unordered !== true })) {
      done++;
      const ok = line.status === "succeeded";
      if (!ok) failures.push(line);
      if (total === undefined) bar?.setTotal(done);
      bar?.update(done, { failed: failures.length });
      if (ok && flags.quiet === true) continue;
      emit(out.item(out.format === "wide" ? line : ok ? { index: line.index, result: line.result } : { index: line.index, status: line.status, error: line.error }, ok ? undefined : "red"));
    }
  } catch (err) {
    throw inputError ?? err;
  } finally {
    bars?.update(); // writes what log() still holds
    bars?.stop();
  }
  out.note(`${done} inputs, ${done - failures.length} succeeded, ${failures.length} failed`, failures.length > 0 ? "red" : undefined);
  for (const f of failures.slice(0, SUMMARY_FAILURES)) out.note(`  input ${f.index}: ${f.status === "failed" ? `${f.error?.type}: ${f.error?.message}` : f.status}`);
  if (failures.length > SUMMARY_FAILURES) out.note(`  … and ${failures.length - SUMMARY_FAILURES} more (the lines on stdout have every error)`);
  if (failures.length > 0) process.exitCode = EXIT.remoteFailure;
}
