/**
 * The composition root: builds the agent's parts and wires them together — store, call table,
 * backend, autoscaler, schedules, the app registry and its deployer, the gateway and the data plane.
 * Nothing below imports this module; each part gets the small interfaces it needs: `Registry` to look
 * deployed functions and routes up, `Deployer` to change them (apps/), `GatewayDeps` (gateway/deps.ts)
 * and `WebDeps` (endpoints/deps.ts) for the HTTP handlers, the data plane and the kubernetes
 * controller (cli/serve.ts starts it with this agent as its `ControlledAgent`).
 *
 * `run()` starts it (recovery first: apps/recovery.ts); `close()` stops it (safe to call twice: it
 * returns the same promise).
 */
import * as diagnostics from "node:diagnostics_channel";
import * as fs from "node:fs";
import type { Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { AppDeployer, type Deployer } from "./apps/deployer";
import { recover } from "./apps/recovery";
import { AppRegistry, type Registry } from "./apps/registry";
import type { Backend } from "./backends/backend";
import { inheritedEnv, LocalBackend } from "./backends/local/local";
import { createSandbox } from "./backends/local/sandbox/create";
import { freePort } from "./backends/local/ports";
import { AutoscalerRunner } from "./autoscaler/runner";
import type { Timer } from "./clock";
import { haproxyMaxConnections, openFileLimit } from "./config/limits";
import { compileOptions, type AgentOptions, type CompiledOptions } from "./config/options";
import type { DeployedFunction } from "./apps/deployed-function";
import { webDispatcher } from "./endpoints/proxy";
import { registerWeb } from "./endpoints/web";
import { registerDashboard } from "./dashboard/routes";
import { HaproxyDataPlane } from "./dataplane/haproxy";
import { buildGateway } from "./gateway/server";
import { Metrics } from "./metrics/metrics";
import { listenMetrics, type MetricsListener } from "./metrics/server";
import { Series } from "./metrics/series";
import { CallTable, type Input } from "./queue/call-table";
import { Scheduler } from "./schedules/scheduler";
import type { LoadedApp } from "./spec/load";
import { SqliteStore } from "./store/sqlite";
import type { Store } from "./store/store";
import { startSweeper } from "./store/sweeper";
import { lockStateDir } from "./lock";
import { agentLogger } from "./log";
import { requireSetpriv } from "./proc/parent-death";
import { appToken, bearerCheck, loadOrCreateToken, principalCheck, type TokenCheck } from "./token";

/** Published for each settled input when something subscribes (free otherwise). */
export const inputChannel = diagnostics.channel("warmpool:input");

export interface AgentDeps {
  store?: Store;
  backend?: Backend;
  logger?: Logger;
}

export class Agent {
  readonly options: CompiledOptions;
  readonly log: Logger;
  readonly store: Store;
  readonly backend: Backend;
  readonly calls: CallTable;
  readonly autoscaler: AutoscalerRunner;
  readonly metrics: Metrics;
  readonly schedules: Scheduler;
  /** The deployed apps, to look up. */
  readonly registry: Registry;
  /** Deploys and removes apps. */
  readonly deployer: Deployer;
  /** Kept-alive connections to the web servers behind webServer endpoints. */
  readonly webDispatcher = webDispatcher();
  /** The last hour of each function, for the dashboard. */
  readonly series = new Series();
  readonly token: string;
  readonly tokenCreated: boolean;
  readonly tokenFile: string;
  /** The API's and non-public endpoints' token check. */
  readonly checkToken: TokenCheck;
  gateway: FastifyInstance | null = null;
  /** HAProxy in front of the gateway when `dataPlane: "haproxy"`. */
  dataPlane: HaproxyDataPlane | null = null;
  /** What the probes and status pages see. */
  private readonly state = { ready: false, url: "" };
  /** Resolves with the URL workers reach the agent at, once the gateway listens (containers started earlier wait for it). */
  private readonly workerUrl: Promise<string>;
  private listening: (url: string) => void = () => undefined;
  private readonly apps = new AppRegistry();
  private readonly appDeployer: AppDeployer;
  private closing: Promise<void> | null = null;
  private readonly unlock: () => void;
  private sweeper: Timer | null = null;
  private sampler: Timer | null = null;
  /** `--metrics-port`: /metrics without the token. */
  metricsListener: MetricsListener | null = null;

  constructor(options: AgentOptions = {}, deps: AgentDeps = {}) {
    this.options = compileOptions(options);
    const o = this.options;
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    this.unlock = lockStateDir(o.stateDir);
    this.log = deps.logger ?? agentLogger(o.logLevel, o.logFormat, o.logFormat === "pretty" && process.stderr.isTTY === true && (process.env.NO_COLOR ?? "") === "");
    if (o.token !== "") {
      this.token = o.token;
      this.tokenCreated = false;
      this.tokenFile = "";
    } else {
      const t = loadOrCreateToken(o.stateDir);
      this.token = t.token;
      this.tokenCreated = t.created;
      this.tokenFile = t.file;
    }
    this.checkToken = bearerCheck(this.token);
    this.workerUrl = new Promise((resolve) => (this.listening = resolve));
    // The backend first: a sandbox that cannot work refuses the start before the database is opened.
    let backend: Backend | undefined;
    try {
      backend = deps.backend ?? this.localBackend();
      this.store = deps.store ?? new SqliteStore(o.dbPath, { fsync: o.fsync });
    } catch (err) {
      void backend?.close();
      this.unlock();
      throw err;
    }
    this.backend = backend;
    this.registry = this.apps;
    this.metrics = new Metrics(() => [...this.apps.functions()].map((fn) => fn.gauges()));
    this.calls = new CallTable(this.store, o.clock, {
      retry: (input) => this.metrics.attempts.inc({ app: input.lane.key.split("/")[0], function: input.lane.key.split("/")[1], outcome: "retried" }),
      // The outcome counters are the lane's (apps/deployed-function.ts); this is for subscribers only.
      settled: (input) => {
        this.recordSettled(input);
        if (inputChannel.hasSubscribers) inputChannel.publish({ id: input.id, fn: input.lane.key, state: input.state, attempts: input.attempt });
      },
    });
    this.autoscaler = new AutoscalerRunner(o.clock, o.tickMs, this.log);
    this.schedules = new Scheduler({
      clock: o.clock,
      log: this.log,
      calls: this.calls,
      store: this.store,
      lookup: (app, fn) => this.apps.find(app, fn)?.lane,
      maxPendingSpawns: o.maxPendingSpawns,
    });
    this.appDeployer = new AppDeployer({
      registry: this.apps,
      calls: this.calls,
      backend: this.backend,
      store: this.store,
      clock: o.clock,
      log: this.log,
      autoscaler: this.autoscaler,
      schedules: this.schedules,
      metrics: this.metrics,
      appSource: o.appSource,
      events: {
        deployed: () => this.updateDataPlane(),
        containersChanged: () => this.dataPlane?.sync(),
        draining: (fn, c) => this.dataPlane?.draining(fn, c),
      },
    });
    this.deployer = this.appDeployer;
  }

  get url(): string {
    return this.state.url;
  }

  get ready(): boolean {
    return this.state.ready;
  }

  /** Workers on this machine, sandboxed so that they see nothing of the agent's and of the other apps'. */
  private localBackend(): LocalBackend {
    const o = this.options;
    const sandbox = createSandbox({
      kind: o.sandbox,
      user: o.sandboxUser,
      runtimesDir: o.runtimesDir,
      privatePaths: [o.stateDir, o.logDir, ...(this.tokenFile === "" ? [] : [this.tokenFile])],
      appDirs: () => [...this.apps.apps()].map((a) => a.loaded.appDir),
      env: inheritedEnv(),
    });
    // Each worker gets the agent's URL and its App's token (never the admin token), so that code in it can call its App's functions.
    const agentAccess = async (app: string): Promise<{ url: string; token: string }> => ({ url: await this.workerUrl, token: appToken(this.token, app) });
    return new LocalBackend({ stateDir: o.stateDir, logDir: o.logDir, runtimesDir: o.runtimesDir, python: o.python, node: o.node, sandbox, agentAccess });
  }

  /** Recovers, then starts the schedules, the autoscaler and the gateway. Apps given here (the spec file's) are deployed first. */
  async run(apps: LoadedApp[] = []): Promise<void> {
    await this.schedules.load();
    await recover({ store: this.store, deployer: this.appDeployer, registry: this.apps, log: this.log }, apps);
    this.schedules.start();
    this.autoscaler.start();
    this.sampleSeries();
    this.sweeper = startSweeper(this.store, this.options.clock, this.options.resultTtlMs, this.options.sweepIntervalMs, this.log);
    const gateway = buildGateway({
      options: this.options,
      registry: this.apps,
      deployer: this.appDeployer,
      calls: this.calls,
      store: this.store,
      schedules: this.schedules,
      metrics: this.metrics,
      checkToken: this.checkToken,
      checkPrincipal: principalCheck(this.token),
      state: this.state,
    });
    registerWeb(gateway, {
      options: this.options,
      registry: this.apps,
      calls: this.calls,
      checkToken: this.checkToken,
      webDispatcher: this.webDispatcher,
      behindHaproxy: this.options.dataPlane === "haproxy",
      pressure: (fn: DeployedFunction) => this.autoscaler.request(fn),
    });
    registerDashboard(gateway, { registry: this.apps, series: this.series, clock: this.options.clock, state: this.state });
    this.gateway = gateway;
    if (this.options.dataPlane === "haproxy") await this.startDataPlane(gateway);
    else this.state.url = await gateway.listen({ host: this.options.host, port: this.options.port });
    this.listening(loopbackUrl(this.state.url));
    if (this.options.metricsPort !== null) this.metricsListener = await listenMetrics(this.metrics.registry, this.options.host, this.options.metricsPort, this.options.headersTimeoutMs);
    this.state.ready = true;
    this.log.info(
      { event: "agent.listening", url: this.url, metrics: this.metricsListener?.url ?? null, apps: [...this.apps.apps()].map((a) => a.name) },
      `warmpool agent listening on ${this.url}${this.metricsListener === null ? "" : `, metrics without a token on ${this.metricsListener.url}`}`,
    );
  }

  /** HAProxy on the gateway's address; the agent's own listener moves to a loopback port behind it. */
  private async startDataPlane(gateway: FastifyInstance): Promise<void> {
    const o = this.options;
    requireSetpriv("HAProxy (--data-plane haproxy)");
    const inner = new URL(await gateway.listen({ host: "127.0.0.1", port: 0 }));
    // HAProxy needs a concrete port when the caller asked for any.
    const port = o.port === 0 ? await freePort(o.host) : o.port;
    const plane = new HaproxyDataPlane({
      registry: this.apps,
      binary: o.haproxy,
      dir: o.stateDir,
      bind: { host: o.host, port },
      agent: { host: inner.hostname, port: Number(inner.port) },
      token: this.token,
      log: this.log,
      maxConnections: haproxyMaxConnections(openFileLimit(), o.maxConnections),
      headersTimeout: o.headersTimeoutMs / 1000,
    });
    await plane.start();
    this.dataPlane = plane;
    this.state.url = plane.url;
  }

  /** A settled input into its function's series (the dashboard's last hour). */
  private recordSettled(input: Input): void {
    const now = input.finishedAt ?? this.options.clock.now();
    const failure = input.state === "failed" && input.error !== null ? { callId: input.id, type: input.error.type, message: input.error.message.slice(0, 500) } : undefined;
    this.series.record(input.lane.key, input.state as "completed" | "failed" | "cancelled", now - input.createdAt, now, failure);
  }

  /** Once a second: what each function looks like, into its series. */
  private sampleSeries(): void {
    const sample = (): void => {
      const now = this.options.clock.now();
      for (const fn of this.apps.functions()) this.series.sample(fn.key, now, fn.lane.queued + fn.lane.delayed, fn.load.inFlight, fn.pool.live());
      this.sampler = this.options.clock.setTimeout(sample, 1000);
    };
    sample();
  }

  private updateDataPlane(): void {
    this.dataPlane?.update().catch((err: Error) => this.log.error({ event: "dataplane.reloadFailed", error: err.message }, "haproxy reload failed"));
  }

  /**
   * Stops the agent. `drainMs`: how long inputs already sent to containers get to finish (and be
   * recorded) before their containers are let go; queued inputs are never sent, they wait in the store.
   */
  close(drainMs = 0): Promise<void> {
    this.closing ??= this.doClose(drainMs);
    return this.closing;
  }

  private async doClose(drainMs: number): Promise<void> {
    this.state.ready = false;
    this.autoscaler.close();
    this.schedules.close();
    this.sweeper?.cancel();
    this.sampler?.cancel();
    await this.dataPlane?.close();
    await this.gateway?.close();
    await this.metricsListener?.close();
    await this.webDispatcher.destroy();
    await Promise.all([...this.apps.functions()].map((fn) => fn.close(2000, drainMs)));
    await this.backend.close();
    await this.store.close();
    this.unlock();
    this.log.flush?.();
  }
}

/** The agent's URL as a worker on this machine reaches it: a wildcard address (0.0.0.0, ::) becomes loopback. */
function loopbackUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === "0.0.0.0") u.hostname = "127.0.0.1";
  else if (u.hostname === "[::]") u.hostname = "[::1]";
  return u.toString().replace(/\/$/, "");
}
