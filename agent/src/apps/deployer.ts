/**
 * Deploys, replaces and removes apps. A deploy builds a DeployedFunction per function whose spec (or
 * app dir) changed and keeps the others as they run; a replaced function hands its waiting inputs to
 * its new version (and inputs coming back from a retry delay follow), a removed one fails them. Spawned
 * calls that recovery found for a function not deployed yet wait here until a deploy brings it.
 *
 * Where an app came from decides two things: an app of the spec file (`warmpool dev`/`serve`) cannot
 * be replaced over the API (409 WP_ERR_NOT_STANDALONE), and an app deployed over the API is stored, so
 * that the next start deploys it again.
 */
import type { Logger } from "pino";
import type { AutoscalerRunner } from "../autoscaler/runner";
import type { Backend } from "../backends/backend";
import type { Clock } from "../clock";
import { compileFunction } from "../config/function";
import type { Container } from "../containers/container";
import { AgentError } from "../errors";
import type { Metrics } from "../metrics/metrics";
import type { CallTable } from "../queue/call-table";
import type { Scheduler } from "../schedules/scheduler";
import type { LoadedApp } from "../spec/load";
import type { Store, UnfinishedCall } from "../store/store";
import { DeployedFunction } from "./deployed-function";
import type { AppRegistry, DeployedApp } from "./registry";

/** `file`: the spec file the agent was started with; `api`: `PUT /v1/apps/{app}`; `store`: stored by an earlier run; `cluster`: warmpool.dev resources. */
export type AppOrigin = "file" | "api" | "store" | "cluster";

export interface Deployer {
  /**
   * Deploys (or replaces) an app; one from the API is stored so that a restart deploys it again.
   * Functions whose spec and app dir are unchanged keep running, unless `options.replace` (their
   * handler code changed: `warmpool dev`'s reload) makes new versions of them all.
   */
  deploy(loaded: LoadedApp, origin: AppOrigin, options?: DeployOptions): DeployedApp;
  /** Removes an app: its functions stop, their waiting inputs fail, its schedules stop. */
  remove(name: string): void;
  /**
   * `DELETE /v1/apps/{app}` (`warmpool stop`): removes an app deployed over the API and forgets it, so
   * that a restart does not bring it back. The spec file's apps are refused (409): the file is their source.
   * False when no such app is deployed.
   */
  stop(name: string): boolean;
}

export interface DeployOptions {
  /** New versions of every function, changed or not (new containers, which load the handlers again). @default false */
  replace?: boolean;
}

/** What the rest of the agent hears of deploys and containers (the data plane). */
export interface DeployEvents {
  /** Apps or endpoints changed. */
  deployed?(): void;
  /** A container of `fn` became ready or stopped. */
  containersChanged?(fn: DeployedFunction): void;
  /** A container starts draining, before its inFlight is read to decide whether it may stop now. */
  draining?(fn: DeployedFunction, c: Container): void;
}

export interface DeployerDeps {
  registry: AppRegistry;
  calls: CallTable;
  backend: Backend;
  store: Store;
  clock: Clock;
  log: Logger;
  autoscaler: AutoscalerRunner;
  schedules: Scheduler;
  metrics: Metrics;
  /** Where the spec file's apps come from, for the 409 that refuses to replace them. */
  appSource: string;
  events: DeployEvents;
}

export class AppDeployer implements Deployer {
  /** Apps that came from the spec file: the file is their source, not the API. */
  private readonly fileApps = new Set<string>();
  /** Unfinished spawned calls whose function is not deployed (yet), by `app/fn`. */
  private readonly orphans = new Map<string, UnfinishedCall[]>();

  constructor(private readonly deps: DeployerDeps) {}

  deploy(loaded: LoadedApp, origin: AppOrigin, options: DeployOptions = {}): DeployedApp {
    const d = this.deps;
    const name = loaded.app.name;
    if (origin === "api" && this.fileApps.has(name)) throw new AgentError("WP_ERR_NOT_STANDALONE", [JSON.stringify(name), d.appSource]);
    if (origin === "file") this.fileApps.add(name);
    const previous = d.registry.app(name);
    const functions = new Map<string, DeployedFunction>();
    for (const spec of loaded.functions) {
      const old = previous?.functions.get(spec.name);
      if (options.replace !== true && old !== undefined && JSON.stringify(old.config.spec) === JSON.stringify(spec) && old.config.appDir === loaded.appDir) {
        functions.set(spec.name, old);
        continue;
      }
      const fn = this.build(loaded, spec);
      if (old !== undefined) this.handOver(old, fn);
      functions.set(spec.name, fn);
    }
    const deployed: DeployedApp = { name, loaded, functions };
    d.registry.set(deployed);
    for (const [fnName, old] of previous?.functions ?? []) {
      if (functions.get(fnName) === old) continue;
      if (!functions.has(fnName)) this.failWaiting(old);
      d.autoscaler.detach(old);
      // Its inputs in flight finish on the old version (up to its timeout) before its containers stop.
      void old.close(old.config.timeoutMs, old.config.timeoutMs);
    }
    for (const fn of functions.values()) {
      const orphans = this.orphans.get(fn.key);
      if (orphans !== undefined) {
        this.orphans.delete(fn.key);
        for (const call of orphans) d.calls.restore(fn.lane, call.id, call.createdAt, call.attempts);
      }
      d.autoscaler.attach(fn);
      fn.dispatch.pump();
    }
    d.schedules.sync(name, loaded.schedules);
    d.events.deployed?.();
    if (origin === "api") void d.store.saveApp({ name, doc: loaded.app, appDir: loaded.appDir });
    d.log.info({ event: "app.deployed", app: name, functions: [...functions.keys()] }, `deployed app ${name}`);
    return deployed;
  }

  remove(name: string): void {
    const current = this.deps.registry.app(name);
    if (current === undefined) return;
    this.deploy({ ...current.loaded, app: { name } as typeof current.loaded.app, functions: [], schedules: [], endpoints: [] }, "cluster");
    this.deps.registry.delete(name);
    this.deps.events.deployed?.();
  }

  stop(name: string): boolean {
    if (this.fileApps.has(name)) throw new AgentError("WP_ERR_NOT_STANDALONE", [JSON.stringify(name), this.deps.appSource]);
    if (this.deps.registry.app(name) === undefined) return false;
    this.remove(name);
    void this.deps.store.deleteApp(name);
    this.deps.log.info({ event: "app.stopped", app: name }, `stopped app ${name}`);
    return true;
  }

  /**
   * Recovery: each unfinished spawned call is queued again on its function, or kept until a deploy
   * brings that function. Returns how many were queued now.
   */
  restore(unfinished: readonly UnfinishedCall[]): number {
    let restored = 0;
    for (const call of unfinished) {
      const [app, name] = call.fn.split("/") as [string, string];
      const fn = this.deps.registry.find(app, name);
      if (fn === undefined) {
        const list = this.orphans.get(call.fn) ?? [];
        list.push(call);
        this.orphans.set(call.fn, list);
        continue;
      }
      this.deps.calls.restore(fn.lane, call.id, call.createdAt, call.attempts);
      restored++;
    }
    return restored;
  }

  private build(loaded: LoadedApp, spec: LoadedApp["functions"][number]): DeployedFunction {
    const d = this.deps;
    const config = compileFunction(spec, loaded.appDir, loaded.endpoints);
    return new DeployedFunction(config, {
      calls: d.calls,
      backend: d.backend,
      clock: d.clock,
      log: d.log,
      outcomes: d.metrics.outcomes(config.app, config.name),
      timings: d.metrics.timings(config.app, config.name),
      pressure: (f) => d.autoscaler.request(f),
      changed: (f) => {
        d.autoscaler.request(f);
        d.events.containersChanged?.(f);
      },
      draining: (f, c) => d.events.draining?.(f, c),
    });
  }

  /** A redeployed function takes over the inputs still waiting for the old one. */
  private handOver(old: DeployedFunction, fn: DeployedFunction): void {
    this.deps.calls.handOver(old.lane, fn.lane);
  }

  private failWaiting(old: DeployedFunction): void {
    this.deps.calls.failWaiting(old.lane, { type: "FunctionRemoved", message: `function ${old.key} was removed by a deploy before this input ran` });
  }
}
