/**
 * The worker Pods of one App namespace, kept current by one list+watch (an informer) on the label
 * `warmpool.dev/function`: the backend waits on it for a new Pod after raising replicas, for its
 * readiness, and for its deletion, instead of polling the API server per container. The agent's
 * RBAC grants pods get/list/watch only inside App namespaces, hence one watch per namespace.
 */
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { START_FAILED_STATUS } from "../backend";
import { LABEL_FUNCTION } from "./resources";

type Listener = () => void;

export class PodWatch {
  readonly pods = new Map<string, V1Pod>();
  private readonly listeners = new Set<Listener>();
  private informer: { start(): Promise<void>; stop(): Promise<void> } | null = null;
  private stopped = false;
  readonly synced: Promise<void>;

  constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
    private readonly log: Logger,
  ) {
    this.synced = this.start();
  }

  private async start(): Promise<void> {
    const k8s = await import("@kubernetes/client-node");
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer<V1Pod>(
      this.kc,
      `/api/v1/namespaces/${this.namespace}/pods`,
      () => core.listNamespacedPod({ namespace: this.namespace, labelSelector: LABEL_FUNCTION }),
      LABEL_FUNCTION,
    );
    const put = (pod: V1Pod): void => {
      const name = pod.metadata?.name;
      if (name !== undefined) this.pods.set(name, pod);
      this.notify();
    };
    informer.on("add", put);
    informer.on("update", put);
    informer.on("delete", (pod: V1Pod) => {
      if (pod.metadata?.name !== undefined) this.pods.delete(pod.metadata.name);
      this.notify();
    });
    informer.on("error", (err: unknown) => {
      if (this.stopped) return;
      this.log.warn({ event: "kubernetes.podWatchError", namespace: this.namespace, error: String((err as Error)?.message ?? err) }, "pod watch failed; restarting");
      setTimeout(() => {
        if (!this.stopped)
          informer.start().then(
            () => this.resync(informer),
            () => undefined,
          );
      }, 1000).unref();
    });
    this.informer = informer;
    // A failed first list is retried by the error handler; waiters see the Pods once it succeeds.
    await informer.start().catch(() => undefined);
    this.resync(informer);
  }

  /** After a (re)list the informer's cache is the truth: drop Pods it no longer has. */
  private resync(informer: unknown): void {
    const list = (informer as { list(ns?: string): V1Pod[] }).list(this.namespace);
    const names = new Set(list.map((p) => p.metadata?.name));
    for (const pod of list) if (pod.metadata?.name !== undefined) this.pods.set(pod.metadata.name, pod);
    for (const name of [...this.pods.keys()]) if (!names.has(name)) this.pods.delete(name);
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves with the first non-undefined value of `check`, re-run on every change; rejects after `timeoutMs`. */
  waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const listener = (): void => {
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          done();
          reject(err as Error);
          return;
        }
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
      listener();
    });
  }

  /** Calls `fn` on every change until the returned function is called. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop().catch(() => undefined);
  }
}

/**
 * How the worker container ended before its Pod was ever ready (the kubelet restarts it in place, so
 * the Pod itself lives on), or undefined while it has not. `deterministic` for the worker's
 * START_FAILED_STATUS (its handler cannot import, or `@enter` raised: the same again on every restart);
 * `output`: the end of its log, which the kubelet copies into the termination message
 * (`terminationMessagePolicy: FallbackToLogsOnError` in the worker container the provider renders), so
 * the agent shows the traceback with no access to `pods/log`.
 */
export function startFailure(pod: V1Pod | undefined): { message: string; deterministic: boolean; output: string[] } | undefined {
  const status = pod?.status?.containerStatuses?.find((c) => c.name === "worker");
  const ended = status?.state?.terminated ?? status?.lastState?.terminated;
  if (ended === undefined) return undefined;
  const how = ended.exitCode === 0 ? "exited" : `exited with status ${ended.exitCode}`;
  return {
    message: `${how}${ended.reason !== undefined && ended.reason !== "Error" && ended.reason !== "Completed" ? ` (${ended.reason})` : ""}`,
    deterministic: ended.exitCode === START_FAILED_STATUS,
    output: (ended.message ?? "").split("\n").filter((l) => l !== ""),
  };
}

/**
 * How a scale-down removes the Pod it chose, given the Deployment's other live Pods:
 * - "mark": every other Pod is scheduled, Running and Ready, so the ReplicaSet, told by the lowest
 *   `pod-deletion-cost`, removes exactly the chosen one when `replicas` goes down (its ranking reaches
 *   the cost only among Pods equally far along), and no other Pod is created or deleted.
 * - "delete": another Pod is still starting (unscheduled, Pending, not Ready), which the ReplicaSet
 *   would remove first whatever the cost. The agent deletes the chosen Pod itself, by UID; the
 *   ReplicaSet usually sees that before the lower `replicas` and creates a replacement that it removes
 *   again at once (the price: a Pod created for nothing, which is why this is not the only way).
 */
export function removal(others: readonly V1Pod[]): "mark" | "delete" {
  return others.every((p) => p.spec?.nodeName !== undefined && p.spec.nodeName !== "" && podReady(p)) ? "mark" : "delete";
}

export function podReady(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Why a Pod is gone or going, or undefined while it lives. */
export function podGone(pod: V1Pod | undefined): string | undefined {
  if (pod === undefined) return "pod deleted";
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) return "pod terminating";
  if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") return `pod ${pod.status.phase.toLowerCase()}${pod.status.reason ? ` (${pod.status.reason})` : ""}`;
  return undefined;
}
