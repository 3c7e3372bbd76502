/**
 * The deployed apps, to look things up in. HTTP handlers, the data plane, the schedules and the
 * kubernetes status writer get a `Registry` (read-only); only the deployer (deployer.ts) holds the
 * `AppRegistry` that changes it.
 */
import { AgentError } from "../errors";
import type { FunctionRuntime } from "../dispatcher/function";
import type { LoadedApp } from "../spec/load";

export interface DeployedApp {
  readonly name: string;
  readonly loaded: LoadedApp;
  readonly functions: ReadonlyMap<string, FunctionRuntime>;
}

export interface Registry {
  /** The function behind a route, or the 404 that names what is missing (with the app's functions). */
  lookup(app: string, fn: string): FunctionRuntime;
  /** The function, or undefined. */
  find(app: string, fn: string): FunctionRuntime | undefined;
  app(name: string): DeployedApp | undefined;
  /** In the order they were first deployed. */
  apps(): IterableIterator<DeployedApp>;
  functions(): IterableIterator<FunctionRuntime>;
}

export class AppRegistry implements Registry {
  private readonly byName = new Map<string, DeployedApp>();

  lookup(app: string, fn: string): FunctionRuntime {
    const deployed = this.byName.get(app);
    if (deployed === undefined) throw new AgentError("WP_ERR_APP_NOT_FOUND", [JSON.stringify(app)]);
    const f = deployed.functions.get(fn);
    if (f === undefined) throw new AgentError("WP_ERR_FUNCTION_NOT_FOUND", [JSON.stringify(app), JSON.stringify(fn)], { functions: [...deployed.functions.keys()] });
    return f;
  }

  find(app: string, fn: string): FunctionRuntime | undefined {
    return this.byName.get(app)?.functions.get(fn);
  }

  app(name: string): DeployedApp | undefined {
    return this.byName.get(name);
  }

  apps(): IterableIterator<DeployedApp> {
    return this.byName.values();
  }

  *functions(): IterableIterator<FunctionRuntime> {
    for (const app of this.byName.values()) yield* app.functions.values();
  }

  /** @internal The deployer's: a redeployed app keeps its place in the order. */
  set(app: DeployedApp): void {
    this.byName.set(app.name, app);
  }

  /** @internal The deployer's. */
  delete(name: string): void {
    this.byName.delete(name);
  }
}
