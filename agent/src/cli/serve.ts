/**
 * `warmpool agent` (standalone: apps come from `PUT /v1/apps/{app}` and survive restarts) and
 * `warmpool dev <spec.yaml>` (the local backend with the App of one spec file, state under
 * `.warmpool/`). Both print the API token once, when it is first created, leave their URL and token
 * where clients find them (profile.ts), and stop cleanly on SIGINT/SIGTERM.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_ENV, AGENT_FLAGS as F, SpecError, appToken } from "@warmpool/schema";
import { Agent } from "../agent";
import { StateDirLocked } from "../lock";
import { agentLogger } from "../log";
import { withDefaults, type AgentOptions } from "../config/options";
import { loadSpecFile } from "../spec/load";
import { describeRoute } from "../routes/describe";
import { watchDev } from "./dev-watch";
import { describePublished, publishAgent } from "./profile";

export interface ServeFlags {
  stateDir?: string;
  /** A file holding the API token (the Runtime mounts its Secret there). */
  tokenFile?: string;
  host?: string;
  port?: string;
  maxPending?: string;
  payloadLimit?: string;
  resultTtl?: string;
  logLevel?: AgentOptions["logLevel"];
  logFormat?: AgentOptions["logFormat"];
  metricsPort?: string;
  /** `dev`: reload on changes of the spec file and the app dir (dev-watch.ts). */
  watch?: boolean;
  python?: string;
  dataPlane?: AgentOptions["dataPlane"];
  maxConnections?: string;
  headersTimeout?: string;
  bodyTimeout?: string;
  bodyMinRate?: string;
  sandbox?: AgentOptions["sandbox"];
  sandboxUser?: string;
  /** `local` (default) or `kubernetes`. */
  backend?: string;
  kubeconfig?: string;
  workerAddress?: string;
}

export function agentOptions(flags: ServeFlags, defaults: AgentOptions): AgentOptions {
  return {
    ...defaults,
    ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }),
    ...(flags.tokenFile === undefined ? {} : { token: readTokenFile(flags.tokenFile) }),
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: Number(flags.port) }),
    ...(flags.maxPending === undefined ? {} : { maxPendingInputs: Number(flags.maxPending) }),
    ...(flags.payloadLimit === undefined ? {} : { payloadLimitMiB: Number(flags.payloadLimit) }),
    ...(flags.resultTtl === undefined ? {} : { resultTtl: Number(flags.resultTtl) }),
    ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
    ...(flags.logFormat === undefined ? {} : { logFormat: flags.logFormat }),
    ...(flags.metricsPort === undefined ? {} : { metricsPort: port(F.metricsPort, flags.metricsPort) }),
    ...(flags.python === undefined ? {} : { python: flags.python }),
    ...(flags.dataPlane === undefined ? {} : { dataPlane: flags.dataPlane }),
    ...(flags.maxConnections === undefined ? {} : { maxConnections: number("--max-connections", flags.maxConnections) }),
    ...(flags.headersTimeout === undefined ? {} : { headersTimeout: number("--headers-timeout", flags.headersTimeout) }),
    ...(flags.bodyTimeout === undefined ? {} : { bodyTimeout: number("--body-timeout", flags.bodyTimeout) }),
    ...(flags.bodyMinRate === undefined ? {} : { bodyMinRate: number("--body-min-rate", flags.bodyMinRate) }),
    ...(flags.sandbox === undefined ? {} : { sandbox: flags.sandbox }),
    ...(flags.sandboxUser === undefined ? {} : { sandboxUser: flags.sandboxUser }),
  };
}

/** A TCP port (0: any free one): the error names the flag and what was typed. */
function port(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} ${JSON.stringify(raw)}: must be a port from 0 to 65535`);
  return n;
}

/** A flag that must be a positive number: the error names the flag and what was typed. */
function number(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} ${JSON.stringify(raw)}: must be a positive number`);
  return n;
}

/** The token in a file, surrounding white space trimmed (a Secret's value may end in a newline). */
function readTokenFile(file: string): string {
  const token = fs.readFileSync(file, "utf8").trim();
  if (token === "") throw new Error(`${file}: the API token file is empty`);
  return token;
}

export async function serve(specFile: string | undefined, flags: ServeFlags): Promise<void> {
  // The Runtime's `state.kind: postgres` sets this; the PostgreSQL store is not written yet. Starting on
  // SQLite in a pod with no volume would lose accepted calls on the next restart, so refuse instead.
  if (process.env[AGENT_ENV.databaseUrl] !== undefined) {
    process.stderr.write(
      "warmpool agent: WARMPOOL_DATABASE_URL is set (Runtime state.kind: postgres), but this agent keeps its state only in SQLite (--state-dir); " +
        "refusing to start rather than keep accepted calls where a restart loses them. Use state.kind: sqlite.\n",
    );
    process.exit(2);
  }
  let apps;
  try {
    apps = specFile === undefined ? [] : [loadSpecFile(specFile)];
  } catch (err) {
    if (err instanceof SpecError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const options = agentOptions(flags, specFile === undefined ? { stateDir: process.env[AGENT_ENV.stateDir] ?? ".warmpool" } : { stateDir: ".warmpool", appSource: path.resolve(specFile) });
  // Pods get their App's token from the Secret the App renders; the agent sends the same one, derived
  // from its token once the Agent has read (or created) it.
  let adminToken: string | undefined;
  const k8s = flags.backend === "kubernetes" ? await kubernetesSetup(flags, options, (app) => (adminToken === undefined ? undefined : `Bearer ${appToken(adminToken, app)}`)) : undefined;
  if (flags.backend !== undefined && flags.backend !== "local" && k8s === undefined) throw new Error(`--backend ${flags.backend}: must be local or kubernetes`);
  const agent = await lockedAgent(() => new Agent(options, k8s === undefined ? {} : { backend: k8s.backend, logger: k8s.log }), k8s?.log);
  adminToken = agent.token;
  if (agent.tokenCreated) {
    process.stdout.write(`API token (saved to ${agent.tokenFile}, shown only this once):\n  ${agent.token}\n`);
  }
  const stop = (): void => {
    k8s?.backend.detach();
    void (k8s?.controller.stop() ?? Promise.resolve()).then(() => agent.close(k8s === undefined ? 0 : SHUTDOWN_DRAIN_MS)).then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await agent.run(apps);
  await k8s?.controller.start(agent);
  // Before "ready": whoever waits for that line finds the profile written. Not for an agent in a
  // cluster, whose clients reach it through its Service, not the address it listens on.
  const published =
    k8s === undefined ? publishAgent({ stateDir: agent.options.stateDir, url: agent.url, tokenFile: flags.tokenFile ?? agent.tokenFile, profile: apps[0]?.app.environment ?? "dev" }) : null;
  const plane = agent.dataPlane === null ? "" : "; web-server endpoints through HAProxy";
  process.stdout.write(`warmpool agent ready on ${agent.url} (state: ${agent.options.stateDir}${plane})\n`);
  if (agent.metricsListener !== null) process.stdout.write(`  metrics without a token on ${agent.metricsListener.url}\n`);
  for (const app of apps) {
    for (const fn of app.functions) process.stdout.write(`  ${app.app.name}/${fn.name}  ${fn.runtime}  ${fn.handler}\n`);
    for (const r of agent.registry.routes.routes(app.app.name)) {
      const d = describeRoute(agent.url, r);
      process.stdout.write(`  endpoint ${d.name} (${d.kind}${d.public ? ", public" : ", token"}) → ${d.function}: ${d.url}${d.domains.length > 0 ? `  (Host: ${d.domains.join(", ")})` : ""}\n`);
    }
  }
  if (published !== null) (published.written instanceof Error ? process.stderr : process.stdout).write(`${describePublished(published)}\n`);
  if (flags.watch === true && specFile !== undefined) {
    watchDev(agent, { specFile, stateDir: agent.options.stateDir, python: agent.options.python, print: (line) => process.stdout.write(`[dev] ${line}\n`) });
    process.stdout.write(`[dev] watching ${path.relative(process.cwd(), path.dirname(path.resolve(specFile))) || "."} for changes: the spec file redeploys, other files get new containers\n`);
  }
}

/**
 * In a cluster, how long a stopping agent lets the inputs it already sent finish, so that their results
 * are its to record: below the pod's default 30 s termination grace period. Queued inputs wait in the
 * store for the next agent; inputs still running after this are run again by it (at least once).
 */
const SHUTDOWN_DRAIN_MS = 25_000;

/**
 * The agent, once it holds its state directory. In a cluster the replacement of a deleted agent pod
 * starts while the old one still drains, on the same volume: it waits for the old one to let go
 * (not ready meanwhile) instead of running the calls the old one is finishing a second time. Locally a
 * second agent on the same directory is refused at once.
 */
async function lockedAgent(make: () => Agent, log: import("pino").Logger | undefined): Promise<Agent> {
  for (let waiting = false; ;) {
    try {
      return make();
    } catch (err) {
      if (!(err instanceof StateDirLocked) || log === undefined) throw err;
      if (!waiting) log.info({ event: "agent.waitingForStateDir", error: err.message }, "waiting for the previous agent to release the state directory");
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The kubernetes backend and its resource controller, loaded only for `--backend kubernetes`. */
async function kubernetesSetup(flags: ServeFlags, options: AgentOptions, authorization: (app: string) => string | undefined) {
  const { createKubernetes } = await import("../backends/kubernetes");
  const log = agentLogger(withDefaults(options).logLevel, "json");
  return {
    log,
    ...createKubernetes({
      log,
      authorization,
      ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      ...(flags.workerAddress === undefined ? {} : { workerAddress: flags.workerAddress }),
    }),
  };
}
