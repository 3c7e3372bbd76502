/**
 * Pure translation between the cluster's objects and the agent's: Function/Schedule/Endpoint custom
 * resources (whose `spec` is exactly the validated spec the provider wrote) grouped by `spec.app` into
 * App documents the agent deploys, and the agent's view of functions, schedules and endpoints turned
 * into the resources' `status` and into Events. No client calls here, so that all of it is unit tested
 * as plain data.
 */
import { ANNOTATIONS, LABELS, WORKER_APP_DIR as APP_DIR } from "@warmpool/schema";
import type { DeployedFunction, FunctionState } from "../../apps/deployed-function";
import type { ScaleEvent } from "../../autoscaler/record";
import type { Route } from "../../routes/table";
import type { ScheduleStatus as ScheduleView } from "../../schedules/scheduler";
import { validateApp, type LoadedApp } from "../../spec/load";

/** Where the worker image keeps the app: handlers are loaded from there, never from the agent's disk. */
export const WORKER_APP_DIR = APP_DIR;
export const GROUP = "warmpool.dev";
export const VERSION = "v1alpha1";
export const LABEL_APP = LABELS.app;
export const LABEL_FUNCTION = LABELS.function;
/** Lowest possible cost: the ReplicaSet removes this Pod first among Pods as far along as it is. */
export const DELETION_COST_ANNOTATION = ANNOTATIONS.deletionCost;
export const LOWEST_DELETION_COST = String(-(2 ** 31) + 1);

export type Kind = "Function" | "Schedule" | "Endpoint";

/** The fields of a custom resource this agent reads. */
export interface SpecResource {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** Where one function's workers live: its Function resource and its worker Deployment (same name). */
export interface FunctionTarget {
  key: string;
  namespace: string;
  /** Name of the Function resource and of its worker Deployment. */
  resource: string;
  uid: string;
  generation: number;
}

/** A Schedule or Endpoint resource, whose `status` the agent writes. */
export interface ResourceTarget {
  kind: "Schedule" | "Endpoint";
  /** `app/name`, the name the agent knows it by. */
  key: string;
  namespace: string;
  resource: string;
  uid: string;
}

export interface GroupedApp {
  name: string;
  namespace: string;
  /** The App document (validated by validateApp before deploy). */
  doc: { name: string; environment?: string; functions: Record<string, object>; schedules: Record<string, object>; endpoints: Record<string, object> };
  targets: FunctionTarget[];
  /** The App's Schedule and Endpoint resources. */
  resources: ResourceTarget[];
}

export interface Grouping {
  apps: Map<string, GroupedApp>;
  /** Resources left out, with why (logged by the controller). */
  skipped: Array<{ kind: Kind; namespace: string; name: string; why: string }>;
}

const ENVIRONMENTS = new Set(["dev", "staging", "prod"]);

/**
 * Groups resources by `spec.app`. One App lives in one namespace: if the same app name shows up in
 * several namespaces, the alphabetically first namespace wins and the others are skipped (run one
 * agent per environment).
 */
export function groupResources(resources: Record<Kind, readonly SpecResource[]>): Grouping {
  const skipped: Grouping["skipped"] = [];
  const apps = new Map<string, GroupedApp>();
  const home = new Map<string, string>();
  const all = (["Function", "Schedule", "Endpoint"] as const).flatMap((kind) => resources[kind].map((r) => ({ kind, r })));
  for (const { r } of all) {
    const app = r.spec?.app;
    const ns = r.metadata?.namespace;
    if (typeof app !== "string" || typeof ns !== "string") continue;
    const current = home.get(app);
    if (current === undefined || ns < current) home.set(app, ns);
  }
  for (const { kind, r } of all) {
    const ns = r.metadata?.namespace ?? "";
    const resource = r.metadata?.name ?? "";
    const spec = r.spec;
    const app = spec?.app;
    const name = spec?.name ?? resource;
    if (spec === undefined || typeof app !== "string" || typeof name !== "string") {
      skipped.push({ kind, namespace: ns, name: resource, why: "spec.app is missing" });
      continue;
    }
    if (home.get(app) !== ns) {
      skipped.push({ kind, namespace: ns, name: resource, why: `app "${app}" is served from namespace ${home.get(app)}` });
      continue;
    }
    let group = apps.get(app);
    if (group === undefined) {
      group = { name: app, namespace: ns, doc: { name: app, functions: {}, schedules: {}, endpoints: {} }, targets: [], resources: [] };
      const env = r.metadata?.labels?.[LABELS.environment];
      if (env !== undefined && ENVIRONMENTS.has(env)) group.doc.environment = env;
      apps.set(app, group);
    }
    const { app: _a, name: _n, ...body } = spec;
    const map = kind === "Function" ? group.doc.functions : kind === "Schedule" ? group.doc.schedules : group.doc.endpoints;
    map[name] = body;
    if (kind === "Function") {
      group.targets.push({ key: `${app}/${name}`, namespace: ns, resource, uid: r.metadata?.uid ?? "", generation: r.metadata?.generation ?? 0 });
    } else {
      group.resources.push({ kind, key: `${app}/${name}`, namespace: ns, resource, uid: r.metadata?.uid ?? "" });
    }
  }
  return { apps, skipped };
}

/** Validates a grouped App exactly as `PUT /v1/apps/{app}` would; throws SpecError with every problem. */
export function loadGrouped(group: GroupedApp): LoadedApp {
  return validateApp(group.doc, `warmpool.dev resources of app "${group.name}" in namespace ${group.namespace}`, WORKER_APP_DIR);
}

export interface FunctionStatus {
  replicas: number;
  readyReplicas: number;
  queueDepth: number;
  inFlight: number;
  lastScaleReason?: string;
  lastScaleTime?: string;
  observedGeneration: number;
  conditions?: Condition[];
}

/** The Function's `status` (schema/specs/status.json) from the agent's view of the function. */
export function functionStatus(s: FunctionState, generation: number, conditions?: Condition[]): FunctionStatus {
  return {
    replicas: s.replicas,
    readyReplicas: s.readyReplicas,
    queueDepth: s.queueDepth + s.delayed,
    inFlight: s.inFlight,
    ...(s.lastScaleReason === undefined ? {} : { lastScaleReason: s.lastScaleReason, lastScaleTime: s.lastScaleTime }),
    observedGeneration: generation,
    ...(conditions === undefined ? {} : { conditions }),
  };
}

/** A Kubernetes condition (metav1.Condition's fields), as kubectl and `kubectl wait --for=condition=Ready` read them. */
export interface Condition {
  type: "Ready" | "Degraded";
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

/** Longest start error kept in a condition's message (the API server allows 32 KiB; a traceback's tail is what matters). */
const MAX_MESSAGE = 4000;

/**
 * The Function's conditions:
 * - Ready: True when a container is ready, or when none is wanted and none failed to start (scaled to
 *   zero: the next input starts one); False while the wanted containers start, or fail to.
 * - Degraded: True while container starts fail (the start back-off), with the last start's error.
 * `lastTransitionTime` is kept from `previous` while a condition's status does not change, so that a
 * status that did not change is not patched again.
 */
export function functionConditions(s: FunctionState, generation: number, now: number, previous: readonly Condition[] = []): Condition[] {
  const failures = s.startFailures ?? 0;
  // The worker's traceback (runtime frames left out) where the start fails the same way each time.
  const lastError = s.startTraceback || s.lastStartError || "";
  const firstLine = lastError.split("\n")[0] ?? "";
  let ready: Pick<Condition, "status" | "reason" | "message">;
  if (s.readyReplicas > 0) ready = { status: "True", reason: "ContainersReady", message: `${s.readyReplicas} of ${s.replicas} wanted containers ready` };
  else if (failures > 0) ready = { status: "False", reason: "StartFailed", message: `no container is ready: ${failures} start${failures === 1 ? "" : "s"} failed in a row, the last: ${firstLine}` };
  else if (s.replicas === 0) ready = { status: "True", reason: "ScaledToZero", message: "no container is wanted; the next input starts one" };
  else ready = { status: "False", reason: "Starting", message: `0 of ${s.replicas} wanted containers ready` };
  const degraded: Pick<Condition, "status" | "reason" | "message"> =
    failures > 0
      ? { status: "True", reason: "StartFailed", message: lastError.length > MAX_MESSAGE ? `…${lastError.slice(-MAX_MESSAGE)}` : lastError }
      : { status: "False", reason: "AsExpected", message: "containers start" };
  const at = new Date(now).toISOString();
  const since = (type: Condition["type"], status: Condition["status"]): string => {
    const p = previous.find((c) => c.type === type);
    return p !== undefined && p.status === status ? p.lastTransitionTime : at;
  };
  return [
    { type: "Ready", ...ready, lastTransitionTime: since("Ready", ready.status), observedGeneration: generation },
    { type: "Degraded", ...degraded, lastTransitionTime: since("Degraded", degraded.status), observedGeneration: generation },
  ];
}

/**
 * The Schedule's `status` (schema/specs/status.json ScheduleStatus) from the scheduler's view of it.
 * It is sent as a JSON merge patch, where `null` removes a field: so a success clears `lastError`
 * instead of leaving the last failure's message in place.
 */
export interface ScheduleStatus {
  lastRun: string | null;
  nextRun: string | null;
  lastCallId: string | null;
  lastError: string | null;
  consecutiveFailures: number;
}

export function scheduleStatus(s: Pick<ScheduleView, "lastRun" | "nextRun" | "lastCallId" | "lastError" | "consecutiveFailures">): ScheduleStatus {
  return { lastRun: s.lastRun, nextRun: s.nextRun, lastCallId: s.lastCallId, lastError: s.lastError, consecutiveFailures: s.consecutiveFailures };
}

/** The Endpoint's `status` (schema/specs/status.json EndpointStatus). */
export interface EndpointStatus {
  /** The agent's URL of the route, as `GET /v1/apps` and `warmpool serve` show it. */
  url: string;
  /** Whether the target function has a container ready to serve (false while it is not deployed). */
  ready: boolean;
}

export function endpointStatus(agentUrl: string, route: Route, fn: Pick<DeployedFunction, "status"> | undefined): EndpointStatus {
  const ready = fn !== undefined && fn.status().readyReplicas > 0;
  return { url: `${agentUrl}${route.gatewayPath}`, ready };
}

/** A core/v1 Event on the Function for one scale decision. */
export function scaleEvent(target: FunctionTarget, event: ScaleEvent, component: string): Record<string, unknown> {
  const reason = event.start > 0 ? "ScaledUp" : event.stop.length > 0 ? "ScaledDown" : "ScaleHeld";
  const suffix = `${Date.parse(event.at).toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${target.resource}.${suffix}`, namespace: target.namespace },
    involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: "Function", name: target.resource, namespace: target.namespace, uid: target.uid },
    reason,
    message: event.reason.slice(0, 1024),
    type: "Normal",
    source: { component },
    reportingComponent: component,
    reportingInstance: component,
    firstTimestamp: event.at,
    lastTimestamp: event.at,
    eventTime: null,
    count: 1,
  };
}

export function podSelector(app: string, fn: string): string {
  return `${LABEL_APP}=${app},${LABEL_FUNCTION}=${fn}`;
}
