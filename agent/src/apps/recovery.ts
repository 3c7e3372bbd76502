/**
 * What a starting agent does before it serves: it deploys the apps stored by earlier runs (those the
 * API deployed; the spec file's apps replace stored ones of the same name), then the spec file's, and
 * queues again every spawned call a previous run accepted but did not finish (see
 * queue/call-table.ts for the at-least-once rule). A stored app that no longer validates is logged and left out.
 */
import type { Logger } from "pino";
import { validateApp, type LoadedApp } from "../spec/load";
import type { Store } from "../store/store";
import type { AppDeployer } from "./deployer";
import type { Registry } from "./registry";

export interface RecoveryDeps {
  store: Store;
  deployer: AppDeployer;
  registry: Registry;
  log: Logger;
}

export async function recover(deps: RecoveryDeps, fileApps: readonly LoadedApp[]): Promise<void> {
  const { store, deployer, registry, log } = deps;
  for (const stored of await store.apps()) {
    if (fileApps.some((a) => a.app.name === stored.name)) continue;
    try {
      deployer.deploy(validateApp(stored.doc, `app "${stored.name}"`, stored.appDir), "store");
    } catch (err) {
      log.error({ event: "app.invalid", app: stored.name, error: (err as Error).message }, "stored app no longer validates");
    }
  }
  for (const app of fileApps) deployer.deploy(app, "file");
  const unfinished = await store.unfinished();
  const restored = deployer.restore(unfinished);
  if (unfinished.length > 0) log.info({ event: "agent.recovered", requeued: restored, waitingForDeploy: unfinished.length - restored }, "re-queued unfinished spawned calls");
  for (const fn of registry.functions()) fn.dispatch.pump();
}
