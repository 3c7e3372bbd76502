/**
 * The client commands of the CLI: call, spawn, get, cancel and apps (map, status, schedules, logs,
 * deploy/stop/run and container have their own files). Each finds its agent as client/config.ts says, and prints with `-o json|yaml`
 * for programs, or for people by default (`-o wide`: more columns where there is a table).
 */
import { WarmpoolClient, type CallResult, type Invocation } from "../client/client";
import { resolveConfig } from "../client/config";
import { argument, target } from "./flags";
import { human, type Output, type OutputFlags } from "./output";
import { remoteFailure } from "./errors";

export interface ClientFlags extends OutputFlags {
  url?: string;
  token?: string;
  profile?: string;
}

/** A command's surroundings: its flags and where it writes. */
export interface Context<F extends ClientFlags = ClientFlags> {
  flags: F;
  out: Output;
}

export function clientFrom(flags: ClientFlags): WarmpoolClient {
  return new WarmpoolClient({ resolved: resolveConfig({ url: flags.url, token: flags.token, profile: flags.profile }) });
}

export interface InvokeFlags extends ClientFlags {
  kwargs?: Record<string, unknown>;
  raw?: boolean;
}

export function invocation(args: string[], flags: InvokeFlags): Invocation {
  return { args: args.map((a, i) => argument(a, flags.raw === true, `argument ${i + 1}`)), kwargs: flags.kwargs ?? {} };
}

/**
 * A call's record: -o json|yaml print it whole; otherwise the result as it is (a string bare, anything
 * else as JSON). A failed call exits 1 with its exception on stderr either way.
 */
export function printRecord(ctx: Context, r: CallResult): void {
  ctx.out.document(r, () => {
    if (r.status === "succeeded") ctx.out.write(human(r.result));
  });
  if (r.status === "failed" || r.status === "cancelled") remoteFailure(ctx.out, r.error ?? { type: "Cancelled", message: `call ${r.status}` });
}

export async function callCommand(ctx: Context<InvokeFlags>, t: string, args: string[]): Promise<void> {
  const [app, fn] = target(t);
  const inv = invocation(args, ctx.flags);
  printRecord(ctx, await clientFrom(ctx.flags).fn(app, fn).invokeResult(inv));
}

export async function spawnCommand(ctx: Context<InvokeFlags>, t: string, args: string[]): Promise<void> {
  const [app, fn] = target(t);
  const inv = invocation(args, ctx.flags);
  const call = await clientFrom(ctx.flags).fn(app, fn).spawnWith(inv);
  ctx.out.document({ callId: call.id }, () => ctx.out.write(call.id));
}

/**
 * Waits for a call (up to --wait seconds) and prints it as `call` does. Run out of --wait, -o json|yaml
 * print the record as it stands (pending or running, exit 0); the default output has no result to
 * print, and says so (exit 2).
 */
export async function getCommand(ctx: Context<ClientFlags & { wait?: number }>, callId: string): Promise<void> {
  const wait = ctx.flags.wait;
  const r = await clientFrom(ctx.flags)
    .call(callId)
    .wait(wait === undefined ? {} : { timeoutMs: wait * 1000 });
  if (r.status === "pending" || r.status === "running") {
    if (ctx.out.format === "json" || ctx.out.format === "yaml") return ctx.out.document(r);
    throw new Error(`call ${callId} is still ${r.status} after --wait ${wait} s`);
  }
  printRecord(ctx, r);
}

export async function cancelCommand(ctx: Context, callId: string): Promise<void> {
  const r = await clientFrom(ctx.flags).call(callId).cancel();
  ctx.out.document(r, () => ctx.out.write(r.cancelled ? `${r.callId} cancelled` : `${r.callId} not cancelled: it is ${r.status}`));
}

export async function appsCommand(ctx: Context): Promise<void> {
  const { apps } = await clientFrom(ctx.flags).apps();
  const wide = ctx.out.format === "wide";
  ctx.out.document(apps, () => {
    const rows = apps.flatMap(
      (app) =>
        (app.functions as Array<Record<string, unknown>>).map((fn) => [
          app.name,
          fn.name,
          fn.runtime,
          fn.handler,
          fn.containers,
          fn.queueDepth,
          fn.inFlight,
          ...(wide ? [fn.replicas, fn.readyReplicas, fn.delayed, app.environment] : []),
        ]) as string[][],
    );
    ctx.out.table(["app", "function", "runtime", "handler", "containers", "queued", "in flight", ...(wide ? ["desired", "ready", "delayed", "environment"] : [])], rows);
    const endpoints = apps.flatMap(
      (a) =>
        ((a.endpoints ?? []) as Array<Record<string, unknown>>).map((e) => [
          a.name,
          e.name,
          e.function,
          e.kind,
          e.public === true ? "public" : "token",
          e.url,
          (e.domains as string[]).join(" ") || "-",
        ]) as string[][],
    );
    if (endpoints.length > 0) {
      ctx.out.write("");
      ctx.out.table(["app", "endpoint", "function", "kind", "auth", "url", "domains"], endpoints);
    }
  });
}
