/**
 * The agent's side of the cluster: watches Function, Schedule and Endpoint resources in every
 * namespace (list+watch, cluster-wide read is what the agent's ClusterRole grants), groups them by
 * `spec.app` into Apps and deploys, redeploys or removes those in the agent; then, every
 * `statusIntervalMs`, has the StatusWriter write the `status` of each Function, Schedule and Endpoint
 * (only when it changed) and one Event on the Function per scale decision, so that
 * `kubectl get functions.warmpool.dev` and `kubectl describe` say what the autoscaler did and why, and
 * `kubectl get schedules.warmpool.dev` / `endpoints.warmpool.dev` when a schedule runs and where a route is.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, makeInformer, setHeaderOptions, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Deployer } from "../../apps/deployer";
import { groupResources, loadGrouped, GROUP, VERSION, type FunctionTarget, type Kind, type ResourceTarget, type SpecResource } from "./resources";
import type { KubernetesBackend } from "./kubernetes";
import { StatusWriter, type StatusApi, type StatusSource } from "./status";

const PLURALS: Record<Kind, string> = { Function: "functions", Schedule: "schedules", Endpoint: "endpoints" };

export interface ControllerOptions {
  kc: KubeConfig;
  backend: KubernetesBackend;
  log: Logger;
  /** How often status is written back (only what changed). @default 1000 */
  statusIntervalMs?: number;
}

/** The agent as the controller sees it: where it deploys Apps, and what their status is made of. */
export interface ControlledAgent extends StatusSource {
  readonly deployer: Deployer;
}

interface Informer {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): KubernetesObject[];
}

export class ResourceController {
  private readonly informers = new Map<Kind, Informer>();
  private readonly custom: CustomObjectsApi;
  private readonly status: StatusWriter;
  private agent: ControlledAgent | null = null;
  /** The App document last deployed, per app, to redeploy only what changed. */
  private readonly deployed = new Map<string, string>();
  private targets = new Map<string, FunctionTarget>();
  /** The Schedule and Endpoint resources of the Apps, whose status is written too. */
  private resources: ResourceTarget[] = [];
  private syncQueued = false;
  private statusTimer: NodeJS.Timeout | null = null;
  private statusRunning = false;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.custom = options.kc.makeApiClient(CustomObjectsApi);
    this.status = new StatusWriter(statusApi(options.kc, this.custom), options.log);
  }

  /** Starts the watches; resolves once every kind was listed and the Apps deployed. */
  async start(agent: ControlledAgent): Promise<void> {
    this.agent = agent;
    const log = this.options.log;
    for (const kind of ["Function", "Schedule", "Endpoint"] as const) {
      const plural = PLURALS[kind];
      const informer = makeInformer<KubernetesObject>(this.options.kc, `/apis/${GROUP}/${VERSION}/${plural}`, () => this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }));
      const changed = (): void => this.queueSync();
      informer.on("add", changed);
      informer.on("update", changed);
      informer.on("delete", changed);
      informer.on("error", (err: unknown) => {
        if (this.stopped) return;
        log.warn({ event: "kubernetes.watchError", kind, error: String((err as Error)?.message ?? err) }, `watch of ${plural}.${GROUP} failed; restarting`);
        setTimeout(() => {
          if (!this.stopped) informer.start().then(changed, () => undefined);
        }, 1000).unref();
      });
      this.informers.set(kind, informer as unknown as Informer);
    }
    // A failed first list is retried by the error handler above; sync() runs again when it succeeds.
    await Promise.all([...this.informers.values()].map((i) => i.start().catch(() => undefined)));
    this.sync();
    const interval = this.options.statusIntervalMs ?? 1000;
    const tick = (): void => {
      if (this.stopped) return;
      void this.writeStatus().finally(() => {
        if (!this.stopped) this.statusTimer = setTimeout(tick, interval);
      });
    };
    this.statusTimer = setTimeout(tick, interval);
  }

  private queueSync(): void {
    if (this.syncQueued || this.stopped) return;
    this.syncQueued = true;
    // Coalesces the burst of events a `pulumi up` or a re-list produces into one sync.
    setTimeout(() => {
      this.syncQueued = false;
      this.sync();
    }, 50);
  }

  /** Deploys what the resources declare; removes Apps whose resources are gone. */
  sync(): void {
    const agent = this.agent;
    if (agent === null || this.stopped) return;
    const log = this.options.log;
    const list = (kind: Kind): SpecResource[] => (this.informers.get(kind)?.list() ?? []) as SpecResource[];
    const { apps, skipped } = groupResources({ Function: list("Function"), Schedule: list("Schedule"), Endpoint: list("Endpoint") });
    for (const s of skipped) log.warn({ event: "kubernetes.resourceSkipped", ...s }, `${s.kind} ${s.namespace}/${s.name} skipped: ${s.why}`);
    const targets = new Map<string, FunctionTarget>();
    const resources: ResourceTarget[] = [];
    for (const group of apps.values()) {
      const text = JSON.stringify(group.doc);
      for (const t of group.targets) targets.set(t.key, t);
      resources.push(...group.resources);
      if (this.deployed.get(group.name) === text) continue;
      let loaded;
      try {
        loaded = loadGrouped(group);
      } catch (err) {
        log.error({ event: "kubernetes.appInvalid", app: group.name, namespace: group.namespace, error: (err as Error).message }, `app ${group.name} not deployed: its resources do not validate`);
        this.deployed.set(group.name, text);
        continue;
      }
      for (const t of group.targets) this.options.backend.bind(t);
      agent.deployer.deploy(loaded, "cluster");
      this.deployed.set(group.name, text);
    }
    for (const name of [...this.deployed.keys()]) {
      if (apps.has(name)) continue;
      agent.deployer.remove(name);
      this.deployed.delete(name);
      log.info({ event: "kubernetes.appRemoved", app: name }, `app ${name} removed: its resources are gone`);
    }
    for (const key of this.targets.keys()) if (!targets.has(key)) this.options.backend.unbind(key);
    this.targets = targets;
    this.resources = resources;
  }

  /** One pass of the StatusWriter; a pass still running (a slow API server) is not doubled. */
  async writeStatus(): Promise<void> {
    const agent = this.agent;
    if (agent === null || this.statusRunning) return;
    this.statusRunning = true;
    try {
      await this.status.write(agent, this.targets.values(), this.resources);
    } finally {
      this.statusRunning = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    await this.writeStatus().catch(() => undefined);
    await Promise.all([...this.informers.values()].map((i) => i.stop().catch(() => undefined)));
  }
}

/** The StatusWriter's calls on the real client. */
function statusApi(kc: KubeConfig, custom: CustomObjectsApi): StatusApi {
  const core = kc.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  return {
    patchStatus: (plural, namespace, name, status) => custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural, name, body: { status } }, merge),
    createEvent: (namespace, event) => core.createNamespacedEvent({ namespace, body: event as never }),
  };
}
