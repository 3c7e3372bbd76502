/**
 * Writes what the agent knows back onto its resources: each Function's, Schedule's and Endpoint's
 * `status` through the status subresource (a Function's with the conditions Ready and Degraded,
 * resources.ts `functionConditions`), and one Event on the Function per scale decision. A status
 * is patched only when it differs from the one last written, so an idle agent sends nothing. A failed
 * call is logged and retried on the next pass (the cache is only updated on success); it never throws,
 * so that the API server being away never takes the agent down.
 */
import type { Logger } from "pino";
import type { Registry } from "../../apps/registry";
import type { DeployedFunction } from "../../apps/deployed-function";
import type { ScaleEvent } from "../../autoscaler/record";
import type { ScheduleStatus as ScheduleView } from "../../schedules/scheduler";
import { endpointStatus, functionConditions, functionStatus, scaleEvent, scheduleStatus, type Condition, type FunctionTarget, type ResourceTarget } from "./resources";

/**
 * The two API calls it makes, so that this module does not load the (ESM-only) client and is tested
 * with a fake; the controller builds the real one (`statusApi` in controller.ts).
 */
export interface StatusApi {
  /** A JSON merge patch of `{ status }` on the status subresource of a warmpool.dev resource. */
  patchStatus(plural: string, namespace: string, name: string, status: object): Promise<unknown>;
  createEvent(namespace: string, event: Record<string, unknown>): Promise<unknown>;
}

/** What the status is made of: the deployed apps, the schedules, and the agent's URL (endpoints' `url`). */
export interface StatusSource {
  readonly registry: Registry;
  readonly schedules: { list(): ScheduleView[] };
  readonly url: string;
}

const COMPONENT = "warmpool-agent";
const PLURALS = { Function: "functions", Schedule: "schedules", Endpoint: "endpoints" } as const;

/** Where one status goes: the resource, by uid too, so that a recreated resource gets its status again. */
interface Destination {
  kind: keyof typeof PLURALS;
  key: string;
  namespace: string;
  resource: string;
  uid: string;
}

export class StatusWriter {
  /** The status text last written, per resource; entries of resources gone are dropped after each pass. */
  private readonly written = new Map<string, string>();
  private readonly seenEvents = new WeakSet<ScaleEvent>();
  /** Each Function's conditions as last computed, for their lastTransitionTime. */
  private readonly conditions = new Map<string, Condition[]>();

  constructor(
    private readonly api: StatusApi,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One pass over the resources the controller found; skips those the agent does not run (an App that failed to validate). */
  async write(agent: StatusSource, functions: Iterable<FunctionTarget>, resources: Iterable<ResourceTarget>): Promise<void> {
    const work: Array<Promise<void>> = [];
    const live = new Set<string>();
    const patch = (d: Destination, status: object): void => {
      const id = `${PLURALS[d.kind]}/${d.namespace}/${d.resource}/${d.uid}`;
      live.add(id);
      work.push(this.patch(id, d, status));
    };
    for (const t of functions) {
      const [app, name] = t.key.split("/") as [string, string];
      const fn = agent.registry.find(app, name);
      if (fn === undefined) continue;
      work.push(this.events(t, fn));
      const id = `${PLURALS.Function}/${t.namespace}/${t.resource}/${t.uid}`;
      const state = fn.status();
      const conditions = functionConditions(state, t.generation, this.now(), this.conditions.get(id));
      this.conditions.set(id, conditions);
      patch({ kind: "Function", ...t }, functionStatus(state, t.generation, conditions));
    }
    let schedules: Map<string, ScheduleView> | undefined;
    for (const r of resources) {
      const [app, name] = r.key.split("/") as [string, string];
      if (r.kind === "Schedule") {
        schedules ??= new Map(agent.schedules.list().map((s) => [`${s.app}/${s.name}`, s]));
        const s = schedules.get(r.key);
        if (s !== undefined) patch(r, scheduleStatus(s));
      } else {
        const route = agent.registry.routes.get(app, name);
        if (route !== undefined) patch(r, endpointStatus(agent.url, route, agent.registry.find(app, route.spec.function)));
      }
    }
    await Promise.all(work);
    for (const id of [...this.written.keys()]) if (!live.has(id)) this.written.delete(id);
    for (const id of [...this.conditions.keys()]) if (!live.has(id)) this.conditions.delete(id);
  }

  private async events(t: FunctionTarget, fn: DeployedFunction): Promise<void> {
    for (const event of fn.scaling.events) {
      if (this.seenEvents.has(event)) continue;
      this.seenEvents.add(event);
      try {
        await this.api.createEvent(t.namespace, scaleEvent(t, event, COMPONENT));
      } catch (err) {
        this.log.warn({ event: "kubernetes.eventFailed", fn: t.key, error: (err as Error).message }, "could not record scale event");
      }
    }
  }

  private async patch(id: string, d: Destination, status: object): Promise<void> {
    const text = JSON.stringify(status);
    if (this.written.get(id) === text) return;
    try {
      await this.api.patchStatus(PLURALS[d.kind], d.namespace, d.resource, status);
      this.written.set(id, text);
    } catch (err) {
      this.log.warn({ event: "kubernetes.statusFailed", kind: d.kind, resource: `${d.namespace}/${d.resource}`, key: d.key, error: (err as Error).message }, `could not write ${d.kind} status`);
    }
  }
}
