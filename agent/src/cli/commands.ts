/**
 * The client commands of the CLI: call, spawn, get, cancel, map (with a progress bar), status, logs,
 * apps (as tables). Arguments are JSON when they parse as JSON, strings otherwise, so
 * `warmpool call quickstart/square 7` sends the number 7 and `... hello world` two strings.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { AGENT_ENV, CLIENT_ENV } from "@warmpool/schema";
import { SingleBar, Presets } from "cli-progress";
import Table from "cli-table3";
import { ApiError, RemoteFunctionError, WarmpoolClient, type Invocation } from "../client/client";

export interface ClientFlags {
  url?: string;
  token?: string;
}

export function clientFrom(flags: ClientFlags): WarmpoolClient {
  return new WarmpoolClient({ url: flags.url ?? process.env[CLIENT_ENV.url] ?? "http://127.0.0.1:8765", token: flags.token ?? process.env[CLIENT_ENV.token] ?? readToken() });
}

function readToken(): string {
  for (const dir of [process.env[AGENT_ENV.stateDir], ".warmpool", path.join(os.homedir(), ".warmpool")]) {
    if (dir === undefined) continue;
    try {
      return fs.readFileSync(path.join(dir, "token"), "utf8").trim();
    } catch {
      // next
    }
  }
  return "";
}

export function parseTarget(target: string): [string, string] {
  const m = /^([^/]+)\/([^/]+)$/.exec(target);
  if (m === null) throw new Error(`"${target}" is not app/function`);
  return [m[1] as string, m[2] as string];
}

export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function invocation(args: string[], kwargs: string | undefined): Invocation {
  const kw = kwargs === undefined ? {} : (JSON.parse(kwargs) as Record<string, unknown>);
  return { args: args.map(parseValue), kwargs: kw };
}

function print(value: unknown): void {
  process.stdout.write(`${typeof value === "string" ? value : JSON.stringify(value, null, 2)}\n`);
}

/** Turns client errors into a message and an exit status. */
export async function guard(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof RemoteFunctionError) {
      process.stderr.write(`remote ${err.type}: ${err.message.replace(/^[^:]+: /, "")}\n${err.traceback ?? ""}\n`);
      process.exitCode = 1;
    } else if (err instanceof ApiError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  }
}

export async function callCommand(target: string, args: string[], flags: ClientFlags & { kwargs?: string }): Promise<void> {
  const [app, fn] = parseTarget(target);
  const client = clientFrom(flags);
  print(await client.fn(app, fn).invoke(invocation(args, flags.kwargs)));
}

export async function spawnCommand(target: string, args: string[], flags: ClientFlags & { kwargs?: string }): Promise<void> {
  const [app, fn] = parseTarget(target);
  const call = await clientFrom(flags).fn(app, fn).spawnWith(invocation(args, flags.kwargs));
  print(call.id);
}

export async function getCommand(callId: string, flags: ClientFlags & { wait?: string; json?: boolean }): Promise<void> {
  const call = clientFrom(flags).call(callId);
  if (flags.json === true) {
    print(await call.status(Number(flags.wait ?? 0)));
    return;
  }
  print(await call.get(flags.wait === undefined ? {} : { timeoutMs: Number(flags.wait) * 1000 }));
}

export async function cancelCommand(callId: string, flags: ClientFlags): Promise<void> {
  print(await clientFrom(flags).call(callId).cancel());
}

export async function mapCommand(target: string, values: string[], flags: ClientFlags & { file?: string; range?: string; unordered?: boolean; quiet?: boolean }): Promise<void> {
  const [app, fn] = parseTarget(target);
  const client = clientFrom(flags);
  let total: number | undefined;
  let inputs: AsyncIterable<Invocation> | Iterable<Invocation>;
  if (flags.range !== undefined) {
    const n = Number(flags.range);
    total = n;
    inputs = (function* () {
      for (let i = 0; i < n; i++) yield { args: [i] };
    })();
  } else if (flags.file !== undefined) {
    const rl = readline.createInterface({ input: fs.createReadStream(flags.file) });
    inputs = (async function* () {
      for await (const line of rl) if (line.trim() !== "") yield { args: [parseValue(line)] };
    })();
  } else {
    total = values.length;
    inputs = values.map((v) => ({ args: [parseValue(v)] }));
  }
  const bar =
    process.stderr.isTTY && flags.quiet !== true
      ? new SingleBar({ format: "map {bar} {value}/{total} | {failed} failed | {eta_formatted} left", stream: process.stderr }, Presets.shades_classic)
      : null;
  bar?.start(total ?? 0, 0, { failed: 0 });
  let done = 0;
  let failed = 0;
  for await (const line of client.fn(app, fn).mapLines(inputs, { ordered: flags.unordered !== true })) {
    done++;
    if (line.status !== "succeeded") failed++;
    bar?.update(done, { failed });
    if (total === undefined) bar?.setTotal(done);
    if (flags.quiet !== true || line.status !== "succeeded") {
      const out = line.status === "succeeded" ? { index: line.index, result: line.result } : { index: line.index, status: line.status, error: line.error };
      if (bar === null) process.stdout.write(`${JSON.stringify(out)}\n`);
    }
  }
  bar?.stop();
  process.stderr.write(`${done} inputs, ${done - failed} succeeded, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
}

export async function statusCommand(target: string, flags: ClientFlags & { json?: boolean }): Promise<void> {
  const [app, fn] = parseTarget(target);
  const s = (await clientFrom(flags).status(app, fn)) as {
    status: Record<string, unknown>;
    containers: Array<Record<string, unknown>>;
    events: Array<{ at: string; reason: string }>;
  };
  if (flags.json === true) return print(s);
  const summary = new Table({ head: ["desired", "ready", "queued", "delayed", "in flight", "last scale"] });
  summary.push([s.status.replicas, s.status.readyReplicas, s.status.queueDepth, s.status.delayed, s.status.inFlight, String(s.status.lastScaleReason ?? "-")] as string[]);
  print(summary.toString());
  const containers = new Table({ head: ["container", "state", "in flight", "served", "ready at", "ref"] });
  for (const c of s.containers) containers.push([c.id, c.state, c.inFlight, c.served, c.readyAt ?? "-", c.ref ?? "-"] as string[]);
  print(containers.toString());
  if (s.events.length > 0) {
    const events = new Table({ head: ["time", "autoscaler decision"], colWidths: [26, 100], wordWrap: true });
    for (const e of s.events.slice(-10)) events.push([e.at, e.reason]);
    print(events.toString());
  }
}

export async function logsCommand(target: string, flags: ClientFlags & { tail?: string }): Promise<void> {
  const [app, fn] = parseTarget(target);
  const logs = await clientFrom(flags).logs(app, fn, Number(flags.tail ?? 200));
  for (const c of logs.containers) for (const line of c.lines) process.stdout.write(`[${c.container}] ${line}\n`);
}

export async function appsCommand(flags: ClientFlags & { json?: boolean }): Promise<void> {
  const { apps } = await clientFrom(flags).apps();
  if (flags.json === true) return print(apps);
  const table = new Table({ head: ["app", "function", "runtime", "handler", "containers", "queued", "in flight"] });
  for (const app of apps) {
    for (const fn of app.functions as Array<Record<string, unknown>>) {
      table.push([app.name, fn.name, fn.runtime, fn.handler, fn.containers, fn.queueDepth, fn.inFlight] as string[]);
    }
  }
  print(table.toString());
  const endpoints = apps.flatMap((a) =>
    ((a.endpoints ?? []) as Array<Record<string, unknown>>).map((e) => [a.name, e.name, e.function, e.kind, e.public === true ? "public" : "token", e.url, (e.domains as string[]).join(" ")]),
  );
  if (endpoints.length > 0) {
    const t = new Table({ head: ["app", "endpoint", "function", "kind", "auth", "url", "domains"] });
    for (const row of endpoints) t.push(row as string[]);
    print(t.toString());
  }
}
