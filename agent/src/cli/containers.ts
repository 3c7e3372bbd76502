/**
 * `warmpool container list [app/fn]` and `warmpool container exec <id|app/fn> -- <command>`.
 *
 * exec runs the command inside the container as its worker runs (local backend: in its sandbox, as
 * its user, with its environment), without a terminal or stdin, prints its stdout and stderr once it
 * ends and exits with its status (124 when `--timeout` killed it, 128 + n when signal n did). A
 * kubernetes container is a Pod that `kubectl exec` reaches with the cluster's credentials, which the
 * agent does not hand out: the agent answers 501 with that command.
 */
import * as os from "node:os";
import type { WarmpoolClient } from "../client/client";
import { clientFrom, type ClientFlags, type Context } from "./commands";
import { target, UsageError } from "./flags";

export async function containerListCommand(ctx: Context, t: string | undefined): Promise<void> {
  const only = t === undefined ? null : target(t);
  const { containers } = await clientFrom(ctx.flags).containers();
  const list = only === null ? containers : containers.filter((c) => c.app === only[0] && c.function === only[1]);
  const wide = ctx.out.format === "wide";
  ctx.out.document(list, () =>
    ctx.out.table(
      ["container", "app", "function", "state", "in flight", "served", "ref", "created", ...(wide ? ["ready", "idle since", "port", "gpus"] : [])],
      list.map((c) => [
        String(c.id),
        String(c.app),
        String(c.function),
        String(c.state),
        String(c.inFlight),
        String(c.served),
        String(c.ref ?? "-"),
        String(c.createdAt),
        ...(wide ? [String(c.readyAt ?? "-"), String(c.idleSince ?? "-"), String(c.port ?? "-"), (c.gpus as string[]).join(",") || "-"] : []),
      ]),
    ),
  );
}

export interface ExecFlags extends ClientFlags {
  timeout?: number;
}

/** Exit statuses of `container exec` that are not the command's own (as coreutils' `timeout` and shells give them). */
export const EXEC_EXIT = { timedOut: 124, signalBase: 128 } as const;

/** `app/fn`: the function's oldest ready container (as `kubectl exec deploy/x` picks a Pod). */
async function oldestReady(client: WarmpoolClient, t: string): Promise<string> {
  const [app, fn] = target(t);
  const { containers } = await client.containers();
  const ready = containers.filter((c) => c.app === app && c.function === fn && c.state === "ready").sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  if (ready[0] === undefined) throw new UsageError(`${app}/${fn} has no ready container (\`warmpool container list\` lists them; a call starts one)`);
  return String(ready[0].id);
}

export async function containerExecCommand(ctx: Context<ExecFlags>, id: string, command: string[]): Promise<void> {
  if (command.length === 0) throw new UsageError("container exec needs a command after --, e.g. `warmpool container exec <id> -- ls /`");
  const client = clientFrom(ctx.flags);
  const r = await client.exec(id.includes("/") ? await oldestReady(client, id) : id, command, ctx.flags.timeout);
  const status = r.timedOut ? EXEC_EXIT.timedOut : (r.exitCode ?? EXEC_EXIT.signalBase + (r.signal === null ? 0 : (os.constants.signals[r.signal as NodeJS.Signals] ?? 0)));
  ctx.out.document(r, () => {
    ctx.out.out.write(r.stdout);
    ctx.out.err.write(r.stderr);
    if (r.truncated) ctx.out.note(`warmpool: the output was cut after ${r.outputLimitBytes} bytes of a stream`, "yellow");
    if (r.timedOut) ctx.out.note(`warmpool: killed after ${ctx.flags.timeout === undefined ? "the agent's default timeout" : `--timeout ${ctx.flags.timeout} s`}`, "yellow");
  });
  process.exitCode = status;
}
