/**
 * Modal's everyday commands over the agent's API: `deploy <spec>` (PUT /v1/apps/{app} with the file's
 * YAML), `stop <app>` (DELETE /v1/apps/{app}), and `run <spec> <fn> [args...]`, a one-shot run like
 * `modal run`: deploy the spec's app, call the function once, print what it returned, stop the app.
 *
 * `run` refuses an app that is already deployed on the agent (it would replace it, then stop it):
 * `warmpool call app/fn` calls that one. The app is stopped however the call ends: with its result,
 * its exception (exit 1), an error, or Ctrl-C.
 *
 * The spec is checked here first, so every problem of the file is reported before anything is sent;
 * the agent checks it again. Handlers are loaded by the agent from the spec file's directory, so the
 * agent must see that path (the same machine, or a shared file system).
 */
import * as fs from "node:fs";
import { ApiError } from "../client/client";
import { loadSpecFile, type LoadedApp } from "../spec/load";
import { clientFrom, invocation, printRecord, type Context, type InvokeFlags } from "./commands";
import { UsageError } from "./flags";

function readSpec(file: string): { loaded: LoadedApp; text: string } {
  if (!fs.existsSync(file)) throw new UsageError(`spec file ${JSON.stringify(file)} does not exist`);
  const loaded = loadSpecFile(file);
  return { loaded, text: fs.readFileSync(file, "utf8") };
}

export async function deployCommand(ctx: Context, file: string): Promise<void> {
  const { loaded, text } = readSpec(file);
  const client = clientFrom(ctx.flags);
  const r = await client.deployText(loaded.app.name, text, loaded.appDir);
  ctx.out.document(r, () => ctx.out.write(`deployed app ${r.app}: ${r.functions.join(", ") || "no functions"}`));
}

export async function stopCommand(ctx: Context, app: string): Promise<void> {
  const r = await clientFrom(ctx.flags).stop(app);
  ctx.out.document(r, () => ctx.out.write(`stopped app ${r.app}`));
}

export async function runCommand(ctx: Context<InvokeFlags>, file: string, fn: string, args: string[]): Promise<void> {
  const { loaded, text } = readSpec(file);
  const app = loaded.app.name;
  if (!loaded.functions.some((f) => f.name === fn)) {
    throw new UsageError(`${file} has no function ${JSON.stringify(fn)} (its functions: ${loaded.functions.map((f) => f.name).join(", ") || "none"})`);
  }
  const inv = invocation(args, ctx.flags);
  const client = clientFrom(ctx.flags);
  if (await deployed(client, app)) {
    throw new UsageError(`app ${app} is already deployed on ${client.url}; \`warmpool call ${app}/${fn}\` calls it, or \`warmpool stop ${app}\` stops it so that run can deploy its own`);
  }
  await client.deployText(app, text, loaded.appDir);
  const stop = (): Promise<unknown> => client.stop(app).catch(() => undefined);
  const onSignal = (): void => void stop().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    printRecord(ctx, await client.fn(app, fn).invokeResult(inv));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stop();
  }
}

async function deployed(client: ReturnType<typeof clientFrom>, app: string): Promise<boolean> {
  try {
    await client.json("GET", `/v1/apps/${encodeURIComponent(app)}`);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "WP_ERR_APP_NOT_FOUND") return false;
    throw err;
  }
}
