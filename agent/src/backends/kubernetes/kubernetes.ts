/**
 * The `kubernetes` backend: one worker Deployment per function (rendered by the provider, named after
 * the Function resource, in the App's namespace). The agent stays the only writer of `replicas`:
 *
 * - `start` reserves a container, sets `replicas` to the number of reserved containers through the
 *   `deployments/scale` subresource (read, then update with its resourceVersion; retried on conflict),
 *   and resolves with the first Pod of the Deployment nobody has claimed yet (oldest first, so Pods
 *   left by a previous agent are adopted before new ones).
 * - `ready` waits for the Pod's Ready condition (its readiness probe on `/ready`) and its Pod IP.
 * - `stop` removes exactly the chosen (idle, drained) Pod, then lowers `replicas`: while every other
 *   Pod is Ready it marks the chosen one with the lowest `controller.kubernetes.io/pod-deletion-cost`
 *   (seen in the agent's own watch before `replicas` goes down) and the ReplicaSet removes it; while
 *   another Pod is starting, which the ReplicaSet would remove first whatever the cost, the agent
 *   deletes the chosen Pod itself, by UID (`removal` in pods.ts weighs the two).
 * - `list` reports the claimed Pods; Pods of the Deployment are read by label from the watch.
 *
 * Everything it does fits the RBAC the provider grants the agent in App namespaces
 * (provider/src/render/rbac.ts): deployments/scale get+update, pods get/list/watch/patch/delete.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { WORKER_PORT } from "@warmpool/schema";
import type { Logger } from "pino";
import type { FunctionConfig } from "../../config/function";
import { ContainerStartError, type Backend, type ContainerHandle, type ContainerInfo } from "../backend";
import { DELETION_COST_ANNOTATION, LABEL_APP, LABEL_FUNCTION, LOWEST_DELETION_COST, type FunctionTarget } from "./resources";
import { PodWatch, podGone, podReady, removal, startFailure } from "./pods";

export { WORKER_PORT } from "@warmpool/schema";

export interface KubernetesBackendOptions {
  kc: KubeConfig;
  log: Logger;
  /**
   * `host:port` that every worker request goes to instead of the Pod IP and port 8000: for an agent
   * outside the cluster network (through a port-forward), or tests on simulated nodes. Default: the Pod IP.
   */
  workerAddress?: string;
  /**
   * The `Authorization` header for an App's workers (`Bearer <App token>`): the App's pods get the
   * same token from the Secret `warmpool-agent-access` and then take inputs only with it.
   */
  authorization?: (app: string) => string | undefined;
}

interface Claimed {
  handle: ContainerHandle;
  target: FunctionTarget;
  pod: string;
  /** The Pod's UID: a delete with it as precondition can never remove a later Pod of the same name. */
  uid: string;
  exit: (how: string) => void;
  unsubscribe: () => void;
  /** Gives back the container's place in `replicas` (once; false after the first time). */
  release: () => boolean;
}

export class KubernetesBackend implements Backend {
  readonly name = "kubernetes";
  private readonly targets = new Map<string, FunctionTarget>();
  private readonly watches = new Map<string, PodWatch>();
  private readonly claimed = new Map<string, Claimed>();
  /**
   * Pods (`ns/name`) a start has taken but not yet entered in `claimed`. The watch runs every waiter's
   * check in one go, so two starts waiting for a Pod both saw the same new one unclaimed and both
   * claimed it: two containers on one Pod, and when one was stopped its Pod took the other along (a
   * journey run lost the container a scale-down kept that way) while a Pod nobody claimed idled.
   */
  private readonly taking = new Set<string>();
  /** Containers reserved per Deployment (`ns/name`): claimed ones plus starts waiting for their Pod. */
  private readonly reserved = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private closed = false;
  private detached = false;

  constructor(private readonly options: KubernetesBackendOptions) {
    this.apps = options.kc.makeApiClient(AppsV1Api);
    this.core = options.kc.makeApiClient(CoreV1Api);
  }

  /** Tells the backend where a function's Deployment is (the controller calls it before each deploy). */
  bind(target: FunctionTarget): void {
    this.targets.set(target.key, target);
    this.watch(target.namespace);
  }

  unbind(key: string): void {
    this.targets.delete(key);
  }

  private watch(namespace: string): PodWatch {
    let w = this.watches.get(namespace);
    if (w === undefined) {
      w = new PodWatch(this.options.kc, namespace, this.options.log);
      w.synced.catch((err: Error) => this.options.log.error({ event: "kubernetes.podWatchFailed", namespace, error: err.message }, "could not watch pods"));
      this.watches.set(namespace, w);
    }
    return w;
  }

  private target(key: string): FunctionTarget {
    const t = this.targets.get(key);
    if (t === undefined) throw new Error(`${key} has no Function resource in the cluster (the kubernetes backend runs only functions declared as warmpool.dev resources)`);
    return t;
  }

  async start(fn: FunctionConfig, id: string): Promise<ContainerHandle> {
    if (this.closed) throw new Error("the kubernetes backend is closed");
    const t = this.target(fn.key);
    const w = this.watch(t.namespace);
    await w.synced;
    const dep = `${t.namespace}/${t.resource}`;
    this.reserved.set(dep, (this.reserved.get(dep) ?? 0) + 1);
    let pod: V1Pod;
    try {
      await this.setReplicas(t);
      pod = await w.waitFor(
        `a new Pod of Deployment ${dep}`,
        () => {
          const p = this.unclaimedPod(t, w);
          // Taken in the check itself, before the next waiter's check runs.
          if (p !== undefined) this.taking.add(`${t.namespace}/${p.metadata?.name}`);
          return p;
        },
        fn.startupTimeoutMs,
      );
    } catch (err) {
      this.reserved.set(dep, Math.max(0, (this.reserved.get(dep) ?? 1) - 1));
      void this.setReplicas(t).catch(() => undefined);
      throw err;
    }
    const name = pod.metadata?.name as string;
    let exit!: (how: string) => void;
    const exited = new Promise<string>((resolve) => (exit = resolve));
    const [host, port] = this.address(pod);
    const authorization = this.options.authorization?.(fn.app);
    const handle: ContainerHandle = {
      id,
      fn: fn.key,
      host,
      port,
      ref: `pod ${t.namespace}/${name}`,
      gpus: [],
      startedAt: Date.now(),
      exited,
      ...(authorization === undefined ? {} : { authorization }),
    };
    const entry: Claimed = { handle, target: t, pod: name, uid: pod.metadata?.uid as string, exit: () => undefined, unsubscribe: () => undefined, release: () => false };
    let done = false;
    let released = false;
    // The container's place in `replicas`, given back once: by stop(), or when its Pod goes on its own
    // (terminated, evicted, or deleted by the ReplicaSet before it was ready). Without this a Pod that
    // went by itself kept its reservation, and replicas grew past maxContainers with every such Pod
    // (7 for a function of at most 4, seen with containers started and stopped in quick succession).
    entry.release = () => {
      if (released) return false;
      released = true;
      this.reserved.set(dep, Math.max(0, (this.reserved.get(dep) ?? 1) - 1));
      return true;
    };
    entry.exit = (how) => {
      if (done) return;
      done = true;
      entry.unsubscribe();
      this.claimed.delete(id);
      exit(how);
    };
    entry.unsubscribe = w.subscribe(() => {
      const gone = podGone(w.pods.get(name));
      if (gone === undefined) return;
      if (entry.release() && !this.detached && !this.closed) void this.setReplicas(t).catch(() => undefined);
      entry.exit(gone);
    });
    this.claimed.set(id, entry);
    this.taking.delete(`${t.namespace}/${name}`);
    return handle;
  }

  /** The oldest Pod of the Deployment that is alive and not claimed by a container. */
  private unclaimedPod(t: FunctionTarget, w: PodWatch): V1Pod | undefined {
    const taken = new Set([...this.claimed.values()].filter((c) => c.target.namespace === t.namespace).map((c) => c.pod));
    for (const key of this.taking) if (key.startsWith(`${t.namespace}/`)) taken.add(key.slice(t.namespace.length + 1));
    const candidates = this.deploymentPods(t, w).filter((p) => !taken.has(p.metadata?.name ?? ""));
    candidates.sort((a, b) => String(a.metadata?.creationTimestamp ?? "").localeCompare(String(b.metadata?.creationTimestamp ?? "")));
    return candidates[0];
  }

  private address(pod: V1Pod): [string, number] {
    const override = this.options.workerAddress;
    if (override !== undefined) {
      const i = override.lastIndexOf(":");
      return [override.slice(0, i), Number(override.slice(i + 1))];
    }
    return [pod.status?.podIP ?? "", WORKER_PORT];
  }

  async ready(handle: ContainerHandle, timeoutMs: number): Promise<void> {
    const c = this.claimed.get(handle.id);
    if (c === undefined) throw new Error(`container ${handle.id} is gone`);
    const w = this.watch(c.target.namespace);
    const pod = await w.waitFor(
      `Pod ${c.pod} to be Ready (startupTimeout ${timeoutMs / 1000}s)`,
      () => {
        const p = w.pods.get(c.pod);
        const gone = podGone(p);
        if (gone !== undefined) throw new Error(`container ${handle.id} (${c.pod}): ${gone} before it was ready`);
        // The worker ended before it was ever ready: the kubelet would restart it (with a growing
        // back-off) until startupTimeout; the pool's own back-off, or its fail-fast, decides instead.
        const failed = startFailure(p);
        if (failed !== undefined) throw new ContainerStartError(`container ${handle.id} (${c.pod}) ${failed.message} before it was ready`, failed.deterministic, failed.output);
        return p !== undefined && podReady(p) && p.status?.podIP ? p : undefined;
      },
      timeoutMs,
    );
    if (this.options.workerAddress === undefined) handle.host = pod.status?.podIP as string;
  }

  async stop(handle: ContainerHandle, graceMs: number): Promise<void> {
    const c = this.claimed.get(handle.id);
    if (c === undefined) return;
    if (this.detached) {
      c.exit("agent stopped; pod left running");
      return;
    }
    const t = c.target;
    const w = this.watch(t.namespace);
    try {
      if (removal(this.deploymentPods(t, w).filter((p) => p.metadata?.name !== c.pod)) === "mark") await this.mark(c, w);
      // The Pod's own terminationGracePeriodSeconds applies: it covers the @exit hooks.
      else await this.core.deleteNamespacedPod({ name: c.pod, namespace: t.namespace, body: { preconditions: { uid: c.uid } } });
    } catch (err) {
      // Already gone (404) or replaced (409): lowering replicas is still right.
      const code = (err as { code?: number }).code;
      if (code !== 404 && code !== 409) this.options.log.warn({ event: "kubernetes.podRemoveFailed", pod: c.pod, error: (err as Error).message }, "could not mark or delete pod");
    }
    c.release();
    await this.setReplicas(t);
    const wait = graceMs + 30_000;
    await Promise.race([handle.exited, new Promise((r) => setTimeout(r, wait).unref())]);
    c.exit("stopped");
  }

  /** Marks the Pod with the lowest deletion cost and waits (≤ 5 s) until the watch shows it, so that the ReplicaSet's cache, fed by the same API server, has it before `replicas` goes down. */
  private async mark(c: Claimed, w: PodWatch): Promise<void> {
    await this.core.patchNamespacedPod(
      { name: c.pod, namespace: c.target.namespace, body: { metadata: { annotations: { [DELETION_COST_ANNOTATION]: LOWEST_DELETION_COST } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await w
      .waitFor(
        `the deletion cost of Pod ${c.pod}`,
        () => {
          const p = w.pods.get(c.pod);
          return podGone(p) !== undefined || p?.metadata?.annotations?.[DELETION_COST_ANNOTATION] === LOWEST_DELETION_COST ? true : undefined;
        },
        5000,
      )
      .catch(() => undefined);
  }

  /** The live Pods of the function's Deployment, as the watch sees them. */
  private deploymentPods(t: FunctionTarget, w: PodWatch): V1Pod[] {
    const [app, fnName] = t.key.split("/");
    return [...w.pods.values()].filter((p) => p.metadata?.labels?.[LABEL_FUNCTION] === fnName && p.metadata?.labels?.[LABEL_APP] === app && podGone(p) === undefined);
  }

  /** Sets the Deployment's replicas to the number of reserved containers (serialised per Deployment). */
  private setReplicas(t: FunctionTarget): Promise<void> {
    const dep = `${t.namespace}/${t.resource}`;
    const run = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const want = this.reserved.get(dep) ?? 0;
        const scale = await this.apps.readNamespacedDeploymentScale({ name: t.resource, namespace: t.namespace });
        if (scale.spec?.replicas === want) return;
        scale.spec = { ...(scale.spec ?? {}), replicas: want };
        try {
          await this.apps.replaceNamespacedDeploymentScale({ name: t.resource, namespace: t.namespace, body: scale });
          this.options.log.info({ event: "kubernetes.scaled", deployment: dep, replicas: want }, `scaled ${dep} to ${want}`);
          return;
        } catch (err) {
          if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
        }
      }
    };
    const previous = this.locks.get(dep) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(run);
    this.locks.set(dep, next);
    return next;
  }

  list(): ContainerInfo[] {
    return [...this.claimed.values()].map(({ handle: h }) => ({ id: h.id, fn: h.fn, ref: h.ref, host: h.host, port: h.port, gpus: h.gpus, startedAt: h.startedAt }));
  }

  /** The agent is not granted `pods/exec` (least privilege): kubectl, with the cluster's credentials, is the way in. */
  execRefusal(handle: ContainerHandle, command: readonly string[]): string {
    const [namespace, pod] = handle.ref.slice("pod ".length).split("/");
    return `its Pod is reached with the cluster's credentials, which the agent does not hand out; run \`kubectl exec -n ${namespace} ${pod} -- ${command.map(shellWord).join(" ")}\``;
  }

  /** Pod logs need `pods/log`, which the agent is not granted: point at kubectl instead. */
  async logs(fn: string): Promise<Array<{ container: string; lines: string[] }>> {
    const t = this.targets.get(fn);
    if (t === undefined) return [];
    const [app, name] = fn.split("/");
    return [{ container: "kubectl", lines: [`kubectl logs -n ${t.namespace} -l ${LABEL_APP}=${app},${LABEL_FUNCTION}=${name} --tail=200`] }];
  }

  /**
   * Agent shutdown: stops that follow leave Pods and replicas as they are, so that a restarted agent
   * adopts the warm Pods instead of cold-starting them.
   */
  detach(): void {
    this.detached = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.claimed.values()]) c.exit("agent stopped");
    await Promise.all([...this.watches.values()].map((w) => w.stop()));
  }
}

/** `w` as one shell word (quoted only when it needs to be), for a command line a user copies. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}
