/**
 * `warmpool logs app/fn [--follow] [--since 10m] [--timestamps] [--tail N]`: what the function's
 * containers printed. Without --follow and --since, one request for the last lines; with either, the
 * agent streams (NDJSON): the last --tail lines of each container whose output changed within
 * --since, then with --follow each new line until Ctrl-C. Lines read from `-o json|yaml` are one JSON
 * line (or YAML document) each.
 *
 * --timestamps: the time the agent read each line from the container (local backend: every line, as
 * it arrived through the worker's stdout or stderr; `-` where a backend keeps none).
 */
import { clientFrom, type ClientFlags, type Context } from "./commands";
import { target } from "./flags";

export interface LogsFlags extends ClientFlags {
  tail?: number;
  follow?: boolean;
  since?: number;
  timestamps?: boolean;
}

export async function logsCommand(ctx: Context<LogsFlags>, t: string): Promise<void> {
  const [app, fn] = target(t);
  const f = ctx.flags;
  const client = clientFrom(f);
  const tail = f.tail ?? 200;
  const structured = ctx.out.format === "json" || ctx.out.format === "yaml";
  if (f.follow !== true && f.since === undefined) {
    const logs = await client.logs(app, fn, tail);
    ctx.out.document(logs, () => {
      for (const c of logs.containers) c.lines.forEach((line, i) => ctx.out.write(`${f.timestamps === true ? `${c.times?.[i] ?? "-"} ` : ""}[${c.container}] ${line}`));
    });
    return;
  }
  for await (const l of client.followLogs(app, fn, { tail, follow: f.follow === true, ...(f.since === undefined ? {} : { sinceSeconds: f.since }) })) {
    if ("caughtUp" in l) continue;
    if (structured) ctx.out.out.write(ctx.out.item(l));
    else ctx.out.write(`${f.timestamps === true ? `${l.time ?? "-"} ` : ""}[${l.container}] ${l.line}`);
  }
}
