/**
 * The deployed apps, to look things up in, and their route table (routes/table.ts), compiled whenever
 * an app is deployed or removed. HTTP handlers, the data plane, the schedules and the kubernetes
 * status writer get a `Registry` (read-only); only the deployer (deployer.ts) holds the `AppRegistry`
 * that changes it.
 */
import { AgentError } from "../errors";
import type { DeployedFunction } from "./deployed-function";
import { RouteTable } from "../routes/table";
import type { LoadedApp } from "../spec/load";

export interface DeployedApp {
  readonly name: string;
  readonly loaded: LoadedApp;
  readonly functions: ReadonlyMap<string, DeployedFunction>;
}

export interface Registry {
  /** The endpoints of every deployed app, compiled at each deploy. */
  readonly routes: RouteTable;
  /** The function behind a route, or the 404 that names what is missing (with the app's functions). */
  lookup(app: string, fn: string): DeployedFunction;
  /** The function, or undefined. */
  find(app: string, fn: string): DeployedFunction | undefined;
  app(name: string): DeployedApp | undefined;
  /** In the order they were first deployed. */
  apps(): IterableIterator<DeployedApp>;
  functions(): IterableIterator<DeployedFunction>;
}

export class AppRegistry implements Registry {
  private readonly byName = new Map<string, DeployedApp>();
  private table = new RouteTable([]);

  get routes(): RouteTable {
    return this.table;
  }

  lookup(app: string, fn: string): DeployedFunction {
    const deployed = this.byName.get(app);
    if (deployed === undefined) throw new AgentError("WP_ERR_APP_NOT_FOUND", [JSON.stringify(app)]);
    const f = deployed.functions.get(fn);
    if (f === undefined) throw new AgentError("WP_ERR_FUNCTION_NOT_FOUND", [JSON.stringify(app), JSON.stringify(fn)], { functions: [...deployed.functions.keys()] });
    return f;
  }

  find(app: string, fn: string): DeployedFunction | undefined {
    return this.byName.get(app)?.functions.get(fn);
  }

  app(name: string): DeployedApp | undefined {
    return this.byName.get(name);
  }

  apps(): IterableIterator<DeployedApp> {
    return this.byName.values();
  }

  *functions(): IterableIterator<DeployedFunction> {
    for (const app of this.byName.values()) yield* app.functions.values();
  }

  /** @internal The deployer's: a redeployed app keeps its place in the order. The routes are compiled again. */
  set(app: DeployedApp): void {
    this.byName.set(app.name, app);
    this.compileRoutes();
  }

  /** @internal The deployer's. */
  delete(name: string): void {
    this.byName.delete(name);
    this.compileRoutes();
  }

  private compileRoutes(): void {
    this.table = new RouteTable(
      [...this.byName.values()].map((a) => ({ name: a.name, endpoints: a.loaded.endpoints })),
      this.table,
    );
  }
}
