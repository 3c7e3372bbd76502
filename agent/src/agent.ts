/**
 * The agent process in one object: it owns the store, the call table, the backend, the autoscaler and
 * the gateway, deploys apps into FunctionRuntimes, and on start re-queues every spawned call that a
 * previous run accepted but did not finish (see queue/calls.ts for the at-least-once rule).
 *
 * `run()` starts it; `close()` stops it (safe to call twice: it returns the same promise).
 */
import * as diagnostics from "node:diagnostics_channel";
import * as fs from "node:fs";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import type { Backend } from "./backends/backend";
import { inheritedEnv, LocalBackend } from "./backends/local/local";
import { createSandbox } from "./backends/local/sandbox/sandbox";
import { freePort } from "./backends/local/ports";
import { AutoscalerRunner } from "./autoscaler/runner";
import { compileFunction } from "./config/function";
import { haproxyMaxConnections, openFileLimit } from "./config/limits";
import { compileOptions, type AgentOptions, type CompiledOptions } from "./config/options";
import { FunctionRuntime } from "./dispatcher/function";
import { AgentError } from "./errors";
import { webDispatcher, withWebServer } from "./endpoints/proxy";
import { HaproxyDataPlane, type ServedEndpoint } from "./dataplane/haproxy";
import type { DataPlaneApp } from "./dataplane/haproxy-config";
import { buildGateway } from "./gateway/server";
import { Metrics } from "./metrics/metrics";
import { Series } from "./metrics/series";
import { CallTable, type Input } from "./queue/calls";
import { Scheduler } from "./schedules/scheduler";
import { ScheduleStateStore } from "./schedules/state";
import { validateApp, type LoadedApp } from "./spec/load";
import { SqliteStore } from "./store/sqlite";
import type { Store, UnfinishedCall } from "./store/store";
import { lockStateDir } from "./lock";
import { requireSetpriv } from "./proc/parent-death";
import { bearerCheck, loadOrCreateToken, type TokenCheck } from "./token";

/** Published for each settled input when something subscribes (free otherwise). */
export const inputChannel = diagnostics.channel("warmpool:input");

export interface DeployedApp {
  name: string;
  loaded: LoadedApp;
  functions: Map<string, FunctionRuntime>;
}

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
  readonly apps = new Map<string, DeployedApp>();
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
  url = "";
  ready = false;
  /** Apps that came from a spec file (`warmpool dev`/`serve`): the file is their source, not the API. */
  readonly fileApps = new Set<string>();
  /** Unfinished spawned calls whose function is not deployed (yet), by `app/fn`. */
  private readonly orphans = new Map<string, UnfinishedCall[]>();
  private closing: Promise<void> | null = null;
  private readonly unlock: () => void;
  private sweepTimer: { cancel(): void } | null = null;
  private sampleTimer: { cancel(): void } | null = null;

  constructor(options: AgentOptions = {}, deps: AgentDeps = {}) {
    this.options = compileOptions(options);
    const o = this.options;
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    this.unlock = lockStateDir(o.stateDir);
    this.log = deps.logger ?? pino({ level: o.logLevel, base: { component: "warmpool-agent" } }, pino.destination(2));
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
    this.metrics = new Metrics(() => this.functions());
    this.calls = new CallTable(this.store, o.clock, {
      retry: (input) => this.metrics.attempts.inc({ app: input.lane.key.split("/")[0], function: input.lane.key.split("/")[1], outcome: "retried" }),
      settled: (input) => this.settled(input),
    });
    this.autoscaler = new AutoscalerRunner(o.clock, o.tickMs, this.log);
    this.schedules = new Scheduler({
      clock: o.clock,
      log: this.log,
      calls: this.calls,
      state: new ScheduleStateStore(o.dbPath, o.fsync),
      lookup: (app, fn) => this.apps.get(app)?.functions.get(fn),
      maxPendingSpawns: o.maxPendingSpawns,
    });
  }

  /** Workers on this machine, sandboxed so that they see nothing of the agent's and of the other apps'. */
  private localBackend(): LocalBackend {
    const o = this.options;
    const sandbox = createSandbox({
      kind: o.sandbox,
      user: o.sandboxUser,
      runtimesDir: o.runtimesDir,
      privatePaths: [o.stateDir, o.logDir, ...(this.tokenFile === "" ? [] : [this.tokenFile])],
      appDirs: () => [...this.apps.values()].map((a) => a.loaded.appDir),
      env: inheritedEnv(),
    });
    return new LocalBackend({ stateDir: o.stateDir, logDir: o.logDir, runtimesDir: o.runtimesDir, python: o.python, node: o.node, sandbox });
  }

  private settled(input: Input): void {
    const fn = input.lane as FunctionRuntime;
    fn.outcomes[input.state === "completed" ? 0 : input.state === "failed" ? 1 : 2].inc();
    if (inputChannel.hasSubscribers) inputChannel.publish({ id: input.id, fn: fn.key, state: input.state, attempts: input.attempt });
    const now = input.finishedAt ?? this.options.clock.now();
    const failure = input.state === "failed" && input.error !== null ? { callId: input.id, type: input.error.type, message: input.error.message.slice(0, 500) } : undefined;
    this.series.record(fn.key, input.state as "completed" | "failed" | "cancelled", now - input.createdAt, now, failure);
  }

  /** Once a second: what each function looks like, into its series. */
  private scheduleSampling(): void {
    const sample = (): void => {
      const now = this.options.clock.now();
      for (const fn of this.functions()) this.series.sample(fn.key, now, fn.queued + fn.delayed, fn.inFlight, fn.liveContainers());
      this.sampleTimer = this.options.clock.setTimeout(sample, 1000);
    };
    sample();
  }

  *functions(): IterableIterator<FunctionRuntime> {
    for (const app of this.apps.values()) yield* app.functions.values();
  }

  /** The function behind a route, or a 404 naming what is missing. */
  lookup(app: string, fn: string): FunctionRuntime {
    const deployed = this.apps.get(app);
    if (deployed === undefined) throw new AgentError("WP_ERR_APP_NOT_FOUND", [JSON.stringify(app)]);
    const f = deployed.functions.get(fn);
    if (f === undefined) throw new AgentError("WP_ERR_FUNCTION_NOT_FOUND", [JSON.stringify(app), JSON.stringify(fn)], { functions: [...deployed.functions.keys()] });
    return f;
  }

  /** Starts the store recovery, the autoscaler and the gateway. Apps given here are deployed first. */
  async run(apps: LoadedApp[] = []): Promise<void> {
    for (const stored of await this.store.apps()) {
      if (apps.some((a) => a.app.name === stored.name)) continue;
      try {
        this.deploy(validateApp(stored.doc, `app "${stored.name}"`, stored.appDir), false);
      } catch (err) {
        this.log.error({ event: "app.invalid", app: stored.name, error: (err as Error).message }, "stored app no longer validates");
      }
    }
    for (const app of apps) {
      this.deploy(app, false);
      this.fileApps.add(app.app.name);
    }
    await this.recover();
    this.schedules.start();
    this.autoscaler.start();
    this.scheduleSweep();
    this.scheduleSampling();
    this.gateway = buildGateway(this);
    if (this.options.dataPlane === "haproxy") await this.startDataPlane(this.gateway);
    else this.url = await this.gateway.listen({ host: this.options.host, port: this.options.port });
    this.ready = true;
    this.log.info({ event: "agent.listening", url: this.url, apps: [...this.apps.keys()] }, `warmpool agent listening on ${this.url}`);
  }

  private async recover(): Promise<void> {
    const unfinished = await this.store.unfinished();
    let restored = 0;
    for (const call of unfinished) {
      const [app, name] = call.fn.split("/") as [string, string];
      const fn = this.apps.get(app)?.functions.get(name);
      if (fn === undefined) {
        const list = this.orphans.get(call.fn) ?? [];
        list.push(call);
        this.orphans.set(call.fn, list);
        continue;
      }
      this.calls.restore(fn, call.id, call.createdAt, call.attempts);
      restored++;
    }
    if (unfinished.length > 0) this.log.info({ event: "agent.recovered", requeued: restored, waitingForDeploy: unfinished.length - restored }, "re-queued unfinished spawned calls");
    for (const fn of this.functions()) fn.wake();
  }

  /** Deploys (or replaces) an app; `persist` stores it so a restart deploys it again. */
  deploy(loaded: LoadedApp, persist: boolean): DeployedApp {
    const name = loaded.app.name;
    const previous = this.apps.get(name);
    const functions = new Map<string, FunctionRuntime>();
    for (const spec of loaded.functions) {
      const config = withWebServer(compileFunction(spec, loaded.appDir), loaded.endpoints);
      const old = previous?.functions.get(spec.name);
      if (old !== undefined && JSON.stringify(old.config.spec) === JSON.stringify(spec) && old.config.appDir === loaded.appDir) {
        functions.set(spec.name, old);
        continue;
      }
      const fn = new FunctionRuntime(config, {
        calls: this.calls,
        backend: this.backend,
        clock: this.options.clock,
        log: this.log,
        pressure: (f) => this.autoscaler.request(f),
        changed: (f) => {
          this.autoscaler.request(f);
          this.dataPlane?.sync();
        },
        draining: (f, c) => this.dataPlane?.draining(f, c),
      });
      fn.outcomes = ["succeeded", "failed", "cancelled"].map((outcome) => this.metrics.inputs.labels({ app: config.app, function: config.name, outcome }));
      if (old !== undefined) this.handOver(old, fn);
      functions.set(spec.name, fn);
    }
    const deployed: DeployedApp = { name, loaded, functions };
    this.apps.set(name, deployed);
    for (const [fnName, old] of previous?.functions ?? []) {
      if (functions.get(fnName) === old) continue;
      if (!functions.has(fnName)) {
        const error = { type: "FunctionRemoved", message: `function ${old.key} was removed by a deploy before this input ran` };
        for (const input of [...old.queue]) this.calls.failWaiting(input, error);
      }
      this.autoscaler.detach(old);
      void old.close(old.config.timeoutMs);
    }
    for (const fn of functions.values()) {
      const orphans = this.orphans.get(fn.key);
      if (orphans !== undefined) {
        this.orphans.delete(fn.key);
        for (const call of orphans) this.calls.restore(fn, call.id, call.createdAt, call.attempts);
      }
      this.autoscaler.attach(fn);
      fn.wake();
    }
    this.schedules.sync(name, loaded.schedules);
    this.updateDataPlane();
    if (persist) void this.store.saveApp({ name, doc: loaded.app, appDir: loaded.appDir });
    this.log.info({ event: "app.deployed", app: name, functions: [...functions.keys()] }, `deployed app ${name}`);
    return deployed;
  }

  /** A redeployed function takes over the inputs still waiting for the old one. */
  private handOver(old: FunctionRuntime, fn: FunctionRuntime): void {
    old.replacedBy = fn;
    for (;;) {
      const input = old.queue.shift();
      if (input === undefined) break;
      if (input.state !== "waiting") continue;
      old.queued--;
      this.calls.moveLane(input, fn);
    }
  }

  private scheduleSweep(): void {
    const sweep = (): void => {
      const before = this.options.clock.now() - this.options.resultTtlMs;
      this.store.sweep(before).then(
        (n) => n > 0 && this.log.info({ event: "store.swept", deleted: n }, "deleted expired results"),
        (err: Error) => this.log.error({ event: "store.sweepFailed", error: err.message }, "result sweep failed"),
      );
      this.sweepTimer = this.options.clock.setTimeout(sweep, this.options.sweepIntervalMs);
    };
    sweep();
  }

  /** HAProxy on the gateway's address; the agent's own listener moves to a loopback port behind it. */
  private async startDataPlane(gateway: FastifyInstance): Promise<void> {
    const o = this.options;
    requireSetpriv("HAProxy (--data-plane haproxy)");
    const inner = new URL(await gateway.listen({ host: "127.0.0.1", port: 0 }));
    // HAProxy needs a concrete port when the caller asked for any.
    const port = o.port === 0 ? await freePort(o.host) : o.port;
    const plane = new HaproxyDataPlane({ binary: o.haproxy, dir: o.stateDir, bind: { host: o.host, port }, agent: { host: inner.hostname, port: Number(inner.port) }, token: this.token, log: this.log, maxConnections: haproxyMaxConnections(openFileLimit(), o.maxConnections), headersTimeout: o.headersTimeoutMs / 1000 });
    await plane.start(this.dataPlaneApps(), this.servedEndpoints());
    this.dataPlane = plane;
    this.url = plane.url;
  }

  private dataPlaneApps(): DataPlaneApp[] {
    return [...this.apps.values()].map((a) => ({
      name: a.name,
      endpoints: a.loaded.endpoints,
      slots: Object.fromEntries([...a.functions].map(([name, fn]) => [name, fn.scale.maxContainers])),
    }));
  }

  private servedEndpoints(): ServedEndpoint[] {
    const out: ServedEndpoint[] = [];
    for (const app of this.apps.values()) {
      for (const e of app.loaded.endpoints) {
        const fn = app.functions.get(e.function);
        if (e.kind === "webServer" && fn !== undefined) out.push({ app: app.name, endpoint: e.name, fn });
      }
    }
    return out;
  }

  private updateDataPlane(): void {
    this.dataPlane?.update(this.dataPlaneApps(), this.servedEndpoints()).catch((err: Error) => this.log.error({ event: "dataplane.reloadFailed", error: err.message }, "haproxy reload failed"));
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
    this.ready = false;
    this.autoscaler.close();
    this.schedules.close();
    this.sweepTimer?.cancel();
    this.sampleTimer?.cancel();
    await this.dataPlane?.close();
    await this.gateway?.close();
    await this.webDispatcher.destroy();
    await Promise.all([...this.functions()].map((fn) => fn.close(2000, drainMs)));
    await this.backend.close();
    await this.store.close();
    this.unlock();
    this.log.flush?.();
  }
}
