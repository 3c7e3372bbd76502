/**
 * The agent's side of the cluster: watches Function, Schedule and Endpoint resources in every
 * namespace (list+watch, cluster-wide read is what the agent's ClusterRole grants), groups them by
 * `spec.app` into Apps and deploys, redeploys or removes those in the agent; then, every
 * `statusIntervalMs`, writes each Function's `status` through the status subresource (only when it
 * changed) and records one Event on the Function per scale decision, so that
 * `kubectl get functions.warmpool.dev` and `kubectl describe` say what the autoscaler did and why.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, makeInformer, setHeaderOptions, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Agent } from "../../agent";
import type { FunctionRuntime, ScaleEvent } from "../../dispatcher/function";
import { functionStatus, groupResources, loadGrouped, scaleEvent, GROUP, VERSION, type FunctionTarget, type Kind, type SpecResource } from "./apps";
import type { KubernetesBackend } from "./backend";

const PLURALS: Record<Kind, string> = { Function: "functions", Schedule: "schedules", Endpoint: "endpoints" };
const COMPONENT = "warmpool-agent";

export interface ControllerOptions {
  kc: KubeConfig;
  backend: KubernetesBackend;
  log: Logger;
  /** How often status is written back (only what changed). @default 1000 */
  statusIntervalMs?: number;
}

interface Informer {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): KubernetesObject[];
}

export class ResourceController {
  private readonly informers = new Map<Kind, Informer>();
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private agent: Agent | null = null;
  /** The App document last deployed, per app, to redeploy only what changed. */
  private readonly deployed = new Map<string, string>();
  private targets = new Map<string, FunctionTarget>();
  private readonly written = new Map<string, string>();
  private readonly seenEvents = new WeakSet<ScaleEvent>();
  private syncQueued = false;
  private statusTimer: NodeJS.Timeout | null = null;
  private statusRunning = false;
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    this.custom = options.kc.makeApiClient(CustomObjectsApi);
    this.core = options.kc.makeApiClient(CoreV1Api);
  }

  /** Starts the watches; resolves once every kind was listed and the Apps deployed. */
  async start(agent: Agent): Promise<void> {
    this.agent = agent;
    const log = this.options.log;
    for (const kind of ["Function", "Schedule", "Endpoint"] as const) {
      const plural = PLURALS[kind];
      const informer = makeInformer<KubernetesObject>(this.options.kc, `/apis/${GROUP}/${VERSION}/${plural}`, () =>
        this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }),
      );
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
    for (const group of apps.values()) {
      const text = JSON.stringify(group.doc);
      for (const t of group.targets) targets.set(t.key, t);
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
      agent.deploy(loaded, false);
      this.deployed.set(group.name, text);
    }
    for (const name of [...this.deployed.keys()]) {
      if (apps.has(name)) continue;
      const current = agent.apps.get(name);
      if (current !== undefined) {
        agent.deploy({ ...current.loaded, app: { name } as typeof current.loaded.app, functions: [], schedules: [], endpoints: [] }, false);
        agent.apps.delete(name);
      }
      this.deployed.delete(name);
      log.info({ event: "kubernetes.appRemoved", app: name }, `app ${name} removed: its resources are gone`);
    }
    for (const key of this.targets.keys()) if (!targets.has(key)) this.options.backend.unbind(key);
    this.targets = targets;
  }

  /** One pass: a status patch per Function whose status changed, an Event per new scale decision. */
  async writeStatus(): Promise<void> {
    const agent = this.agent;
    if (agent === null || this.statusRunning) return;
    this.statusRunning = true;
    try {
      const work: Array<Promise<void>> = [];
      for (const [key, t] of this.targets) {
        const [app, name] = key.split("/") as [string, string];
        const fn = agent.apps.get(app)?.functions.get(name);
        if (fn === undefined) continue;
        work.push(this.writeOne(t, fn));
      }
      await Promise.all(work);
    } finally {
      this.statusRunning = false;
    }
  }

  private async writeOne(t: FunctionTarget, fn: FunctionRuntime): Promise<void> {
    const log = this.options.log;
    for (const event of fn.events) {
      if (this.seenEvents.has(event)) continue;
      this.seenEvents.add(event);
      try {
        await this.core.createNamespacedEvent({ namespace: t.namespace, body: scaleEvent(t, event, COMPONENT) as never });
      } catch (err) {
        log.warn({ event: "kubernetes.eventFailed", fn: t.key, error: (err as Error).message }, "could not record scale event");
      }
    }
    const status = functionStatus(fn, t.generation);
    const text = JSON.stringify(status);
    const id = `${t.namespace}/${t.resource}/${t.uid}`;
    if (this.written.get(id) === text) return;
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: t.namespace, plural: "functions", name: t.resource, body: { status } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      this.written.set(id, text);
    } catch (err) {
      log.warn({ event: "kubernetes.statusFailed", fn: t.key, error: (err as Error).message }, "could not write function status");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    await this.writeStatus().catch(() => undefined);
    await Promise.all([...this.informers.values()].map((i) => i.stop().catch(() => undefined)));
  }
}
