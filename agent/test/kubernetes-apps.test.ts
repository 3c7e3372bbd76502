/**
 * The kubernetes backend's pure parts: grouping warmpool.dev resources into Apps the agent deploys,
 * the Function, Schedule and Endpoint status built from the agent's view, and the Event for a scale
 * decision; and the StatusWriter against a fake API client (what it sends, when, and on failures).
 */
import pino from "pino";
import { parseSpec, SpecError } from "@warmpool/schema";
import { endpointStatus, functionConditions, functionStatus, groupResources, loadGrouped, podSelector, scaleEvent, scheduleStatus, type SpecResource } from "../src/backends/kubernetes/resources";
import { podGone, podReady } from "../src/backends/kubernetes/pods";
import { StatusWriter, type StatusApi, type StatusSource } from "../src/backends/kubernetes/status";
import { RouteTable } from "../src/routes/table";

const fn = (ns: string, name: string, spec: Record<string, unknown>, extra: Partial<SpecResource["metadata"]> = {}): SpecResource => ({
  metadata: { name, namespace: ns, uid: `uid-${name}`, generation: 3, ...extra },
  spec: { name, handler: "app:run", ...spec },
});

describe("groupResources", () => {
  it("groups Functions, Schedules and Endpoints by spec.app into deployable Apps", () => {
    const { apps, skipped } = groupResources({
      Function: [
        fn("chat-dev", "llm", { app: "chat", gpu: "H100", autoscaler: { minContainers: 0, maxContainers: 4, scaledownWindow: 2 } }, { labels: { "warmpool.dev/environment": "dev" } }),
        fn("chat-dev", "embed", { app: "chat" }),
        fn("img-prod", "resize", { app: "img" }),
      ],
      Schedule: [{ metadata: { name: "nightly", namespace: "chat-dev" }, spec: { app: "chat", name: "nightly", function: "embed", cron: "30 2 * * *" } }],
      Endpoint: [{ metadata: { name: "api", namespace: "chat-dev" }, spec: { app: "chat", name: "api", function: "llm", path: "/v1/chat" } }],
    });
    expect(skipped).toEqual([]);
    expect([...apps.keys()].sort()).toEqual(["chat", "img"]);
    const chat = apps.get("chat")!;
    expect(chat.namespace).toBe("chat-dev");
    expect(chat.doc.environment).toBe("dev");
    expect(Object.keys(chat.doc.functions).sort()).toEqual(["embed", "llm"]);
    expect(chat.doc.functions.llm).not.toHaveProperty("app");
    expect(chat.targets).toEqual([
      { key: "chat/llm", namespace: "chat-dev", resource: "llm", uid: "uid-llm", generation: 3 },
      { key: "chat/embed", namespace: "chat-dev", resource: "embed", uid: "uid-embed", generation: 3 },
    ]);
    expect(chat.resources).toEqual([
      { kind: "Schedule", key: "chat/nightly", namespace: "chat-dev", resource: "nightly", uid: "" },
      { kind: "Endpoint", key: "chat/api", namespace: "chat-dev", resource: "api", uid: "" },
    ]);
    expect(apps.get("img")!.resources).toEqual([]);
    const loaded = loadGrouped(chat);
    expect(loaded.app.name).toBe("chat");
    expect(loaded.functions.map((f) => f.name).sort()).toEqual(["embed", "llm"]);
    expect(loaded.functions.find((f) => f.name === "llm")!.autoscaler).toMatchObject({ maxContainers: 4, scaledownWindow: 2 });
    expect(loaded.schedules.map((s) => s.name)).toEqual(["nightly"]);
    expect(loaded.endpoints.map((e) => e.path)).toEqual(["/v1/chat"]);
  });

  it("serves an app from one namespace only and says why the others are skipped", () => {
    const { apps, skipped } = groupResources({ Function: [fn("chat-prod", "llm", { app: "chat" }), fn("chat-dev", "llm", { app: "chat" })], Schedule: [], Endpoint: [] });
    expect(apps.get("chat")!.namespace).toBe("chat-dev");
    expect(skipped).toEqual([{ kind: "Function", namespace: "chat-prod", name: "llm", why: 'app "chat" is served from namespace chat-dev' }]);
  });

  it("skips resources without spec.app and reports invalid specs with their paths", () => {
    const { apps, skipped } = groupResources({
      Function: [{ metadata: { name: "x", namespace: "a" }, spec: { handler: "m:f" } }, fn("a-dev", "bad", { app: "a", autoscaler: { scaledownWindow: 1 } })],
      Schedule: [],
      Endpoint: [],
    });
    expect(skipped.map((s) => s.why)).toEqual(["spec.app is missing"]);
    expect(() => loadGrouped(apps.get("a")!)).toThrow(SpecError);
    expect(() => loadGrouped(apps.get("a")!)).toThrow(/functions\.bad\.autoscaler\.scaledownWindow/);
  });

  it("a Schedule naming a function the app lacks fails validation", () => {
    const { apps } = groupResources({
      Function: [fn("a-dev", "f", { app: "a" })],
      Schedule: [{ metadata: { name: "s", namespace: "a-dev" }, spec: { app: "a", name: "s", function: "missing", every: "1h" } }],
      Endpoint: [],
    });
    expect(() => loadGrouped(apps.get("a")!)).toThrow(/schedules\.s\.function/);
  });
});

describe("status and events", () => {
  it("builds the Function status from the function's state (queue includes delayed retries)", () => {
    const state = { replicas: 2, readyReplicas: 1, queueDepth: 3, delayed: 1, inFlight: 4, pendingSpawns: 7, lastScaleReason: "scale up 1 → 2: ...", lastScaleTime: "2026-01-01T00:00:00.000Z" };
    expect(functionStatus(state, 5)).toEqual({
      replicas: 2,
      readyReplicas: 1,
      queueDepth: 4,
      inFlight: 4,
      lastScaleReason: "scale up 1 → 2: ...",
      lastScaleTime: "2026-01-01T00:00:00.000Z",
      observedGeneration: 5,
    });
    expect(functionStatus({ replicas: 0, readyReplicas: 0, queueDepth: 0, delayed: 0, inFlight: 0, pendingSpawns: 0 }, 1)).toEqual({
      replicas: 0,
      readyReplicas: 0,
      queueDepth: 0,
      inFlight: 0,
      observedGeneration: 1,
    });
  });

  it("builds the Schedule status from the scheduler's view, with null to clear what no longer holds", () => {
    const view = { app: "chat", name: "nightly", function: "embed", timing: "cron 30 2 * * * (UTC)", suspended: false, missed: "runOnce", overlap: "skip", skipped: 2, lastStatus: "failed" };
    const failing = { ...view, lastRun: "2026-01-01T02:30:00.000Z", nextRun: "2026-01-02T02:30:00.000Z", lastCallId: "call_1", lastError: "ValueError: boom", consecutiveFailures: 3 };
    // Only the fields ScheduleStatus declares: the CRD would prune anything else.
    expect(scheduleStatus(failing)).toEqual({ lastRun: "2026-01-01T02:30:00.000Z", nextRun: "2026-01-02T02:30:00.000Z", lastCallId: "call_1", lastError: "ValueError: boom", consecutiveFailures: 3 });
    expect(scheduleStatus({ ...view, lastRun: null, nextRun: "2026-01-01T02:30:00.000Z", lastCallId: null, lastError: null, consecutiveFailures: 0 })).toEqual({
      lastRun: null,
      nextRun: "2026-01-01T02:30:00.000Z",
      lastCallId: null,
      lastError: null,
      consecutiveFailures: 0,
    });
  });

  it("builds the Endpoint status: the route's URL on the agent and whether its function has a ready container", () => {
    const route = (spec: object) => new RouteTable([{ name: "chat", endpoints: [parseSpec("Endpoint", { app: "chat", name: "api", function: "llm", ...spec }, "endpoint")] }]).get("chat", "api")!;
    const spec = route({ path: "/v1/chat" });
    const fn = (ready: number) => ({ status: () => ({ replicas: 2, readyReplicas: ready, queueDepth: 0, delayed: 0, inFlight: 0, pendingSpawns: 0 }) });
    expect(endpointStatus("http://10.0.0.5:8080", spec, fn(1))).toEqual({ url: "http://10.0.0.5:8080/web/chat/v1/chat", ready: true });
    expect(endpointStatus("http://10.0.0.5:8080", spec, fn(0))).toEqual({ url: "http://10.0.0.5:8080/web/chat/v1/chat", ready: false });
    // No path: the schema's default "/".
    expect(endpointStatus("http://a", route({}), undefined)).toEqual({ url: "http://a/web/chat/", ready: false });
  });

  it("makes one Event on the Function per scale decision", () => {
    const target = { key: "chat/llm", namespace: "chat-dev", resource: "llm", uid: "u1", generation: 1 };
    const up = scaleEvent(target, { at: "2026-01-01T00:00:00.000Z", desired: 1, start: 1, stop: [], reason: "scale up 0 → 1" }, "warmpool-agent");
    expect(up).toMatchObject({
      reason: "ScaledUp",
      message: "scale up 0 → 1",
      type: "Normal",
      involvedObject: { kind: "Function", apiVersion: "warmpool.dev/v1alpha1", name: "llm", namespace: "chat-dev", uid: "u1" },
    });
    expect((up.metadata as { name: string }).name).toMatch(/^llm\./);
    const down = scaleEvent(target, { at: "2026-01-01T00:00:00.000Z", desired: 0, start: 0, stop: ["llm-1"], reason: "scale down 1 → 0" }, "warmpool-agent");
    expect(down.reason).toBe("ScaledDown");
    expect((down.metadata as { name: string }).name).not.toBe((up.metadata as { name: string }).name);
  });

  it("selects a function's pods by the labels the provider puts on them", () => {
    expect(podSelector("chat", "llm")).toBe("warmpool.dev/app=chat,warmpool.dev/function=llm");
  });

  it("reads pod readiness and termination", () => {
    expect(podReady({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } } as never)).toBe(true);
    expect(podReady({ status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] } } as never)).toBe(false);
    expect(podGone(undefined)).toBe("pod deleted");
    expect(podGone({ metadata: { deletionTimestamp: new Date() }, status: { phase: "Running" } } as never)).toBe("pod terminating");
    expect(podGone({ metadata: {}, status: { phase: "Failed", reason: "Evicted" } } as never)).toBe("pod failed (Evicted)");
    expect(podGone({ metadata: {}, status: { phase: "Running" } } as never)).toBeUndefined();
  });
});

describe("Function conditions", () => {
  const T0 = Date.parse("2026-12-01T12:00:00.000Z");
  const base = { replicas: 0, readyReplicas: 0, queueDepth: 0, delayed: 0, inFlight: 0, pendingSpawns: 0 };
  const ERROR = "container f-1 exited with status 1 before it was ready\nTraceback (most recent call last):\nModuleNotFoundError: No module named 'torch'";
  const CASES: Array<[string, Parameters<typeof functionConditions>[0], [string, string, string], [string, string, string]]> = [
    ["scaled to zero, nothing failed", base, ["True", "ScaledToZero", "no container is wanted; the next input starts one"], ["False", "AsExpected", "containers start"]],
    ["one wanted, starting", { ...base, replicas: 1 }, ["False", "Starting", "0 of 1 wanted containers ready"], ["False", "AsExpected", "containers start"]],
    ["two of three ready", { ...base, replicas: 3, readyReplicas: 2 }, ["True", "ContainersReady", "2 of 3 wanted containers ready"], ["False", "AsExpected", "containers start"]],
    [
      "starts fail: not ready, degraded with the error",
      { ...base, replicas: 1, startFailures: 3, lastStartError: ERROR },
      ["False", "StartFailed", "no container is ready: 3 starts failed in a row, the last: container f-1 exited with status 1 before it was ready"],
      ["True", "StartFailed", ERROR],
    ],
    [
      "a container ready while another fails to start: ready, and degraded",
      { ...base, replicas: 2, readyReplicas: 1, startFailures: 1, lastStartError: ERROR },
      ["True", "ContainersReady", "1 of 2 wanted containers ready"],
      ["True", "StartFailed", ERROR],
    ],
  ];

  it.each(CASES)("%s", (_name, state, [rs, rr, rm], [ds, dr, dm]) => {
    expect(functionConditions(state, 4, T0)).toEqual([
      { type: "Ready", status: rs, reason: rr, message: rm, lastTransitionTime: "2026-12-01T12:00:00.000Z", observedGeneration: 4 },
      { type: "Degraded", status: ds, reason: dr, message: dm, lastTransitionTime: "2026-12-01T12:00:00.000Z", observedGeneration: 4 },
    ]);
  });

  it("keeps lastTransitionTime while a condition's status holds, and moves it when it changes", () => {
    const first = functionConditions({ ...base, replicas: 1 }, 1, T0);
    const later = functionConditions({ ...base, replicas: 1, startFailures: 1, lastStartError: "boom" }, 1, T0 + 5000, first);
    // Ready stays False (Starting → StartFailed): its time stays; Degraded turned True: now.
    expect(later.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ["Ready", "False", "2026-12-01T12:00:00.000Z"],
      ["Degraded", "True", "2026-12-01T12:00:05.000Z"],
    ]);
  });

  it("cuts a long start error to its last 4000 characters", () => {
    const [, degraded] = functionConditions({ ...base, replicas: 1, startFailures: 1, lastStartError: "x".repeat(5000) + "THE END" }, 1, T0);
    expect(degraded!.message).toHaveLength(4001);
    expect(degraded!.message.endsWith("THE END")).toBe(true);
  });
});

describe("StatusWriter", () => {
  const patches: Array<{ plural: string; namespace: string; name: string; status: object }> = [];
  let failing = false;
  const api: StatusApi = {
    patchStatus: async (plural, namespace, name, status) => {
      if (failing) throw new Error("connection refused");
      patches.push({ plural, namespace, name, status });
    },
    createEvent: async () => undefined,
  };
  const warnings: Array<Record<string, unknown>> = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });

  let schedule = {
    app: "chat",
    name: "nightly",
    lastRun: null as string | null,
    nextRun: "2026-01-01T02:30:00.000Z",
    lastCallId: null as string | null,
    lastError: "boom" as string | null,
    consecutiveFailures: 1,
  };
  let ready = 0;
  const functions = new Map([["llm", { status: () => ({ readyReplicas: ready }) }]]);
  const routes = new RouteTable([{ name: "chat", endpoints: [parseSpec("Endpoint", { app: "chat", name: "api", function: "llm", path: "/v1" }, "endpoint")] }]);
  const agent = {
    url: "http://127.0.0.1:9000",
    schedules: { list: () => [schedule] },
    registry: { routes, find: (app: string, fn: string) => (app === "chat" ? functions.get(fn) : undefined) },
  } as unknown as StatusSource;
  const resources = [
    { kind: "Schedule" as const, key: "chat/nightly", namespace: "chat-dev", resource: "nightly", uid: "u1" },
    { kind: "Endpoint" as const, key: "chat/api", namespace: "chat-dev", resource: "api", uid: "u2" },
    // Not deployed in the agent (its App did not validate): no status.
    { kind: "Endpoint" as const, key: "chat/gone", namespace: "chat-dev", resource: "gone", uid: "u3" },
  ];

  it("writes a Function's conditions: Degraded with the start error, and not again while nothing changes", async () => {
    let now = Date.parse("2026-12-01T12:00:00.000Z");
    let state: Record<string, unknown> = {
      replicas: 1,
      readyReplicas: 0,
      queueDepth: 1,
      delayed: 0,
      inFlight: 0,
      pendingSpawns: 0,
      startFailures: 2,
      lastStartError: "ImportError: cannot import name 'serve'",
    };
    const fnAgent = { url: "", schedules: { list: () => [] }, registry: { routes, find: () => ({ status: () => state, scaling: { events: [] } }) } } as unknown as StatusSource;
    const target = { key: "chat/llm", namespace: "chat-dev", resource: "llm", uid: "u9", generation: 2 };
    const writer = new StatusWriter(api, log, () => now);
    const before = patches.length;
    await writer.write(fnAgent, [target], []);
    const status = patches[patches.length - 1]!.status as { conditions: Array<Record<string, unknown>> };
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "False", reason: "StartFailed" }),
      { type: "Degraded", status: "True", reason: "StartFailed", message: "ImportError: cannot import name 'serve'", lastTransitionTime: "2026-12-01T12:00:00.000Z", observedGeneration: 2 },
    ]);
    now += 1000;
    await writer.write(fnAgent, [target], []);
    expect(patches.length).toBe(before + 1);
    // Fixed: ready, no longer degraded, both since now.
    state = { replicas: 1, readyReplicas: 1, queueDepth: 0, delayed: 0, inFlight: 0, pendingSpawns: 0 };
    now += 1000;
    await writer.write(fnAgent, [target], []);
    expect((patches[patches.length - 1]!.status as { conditions: unknown[] }).conditions).toEqual([
      expect.objectContaining({ type: "Ready", status: "True", reason: "ContainersReady", lastTransitionTime: "2026-12-01T12:00:02.000Z" }),
      expect.objectContaining({ type: "Degraded", status: "False", reason: "AsExpected", lastTransitionTime: "2026-12-01T12:00:02.000Z" }),
    ]);
    patches.length = before;
  });

  it("patches Schedule and Endpoint status only when it changed, and survives API failures", async () => {
    const writer = new StatusWriter(api, log);
    await writer.write(agent, [], resources);
    expect(patches.map((p) => [p.plural, p.namespace, p.name, p.status])).toEqual([
      ["schedules", "chat-dev", "nightly", { lastRun: null, nextRun: "2026-01-01T02:30:00.000Z", lastCallId: null, lastError: "boom", consecutiveFailures: 1 }],
      ["endpoints", "chat-dev", "api", { url: "http://127.0.0.1:9000/web/chat/v1", ready: false }],
    ]);
    await writer.write(agent, [], resources);
    expect(patches).toHaveLength(2);

    schedule = { ...schedule, lastRun: "2026-01-01T02:30:00.000Z", lastCallId: "call_1", lastError: null, consecutiveFailures: 0 };
    failing = true;
    await writer.write(agent, [], resources);
    expect(patches).toHaveLength(2);
    expect(warnings.map((w) => [w.event, w.kind])).toEqual([["kubernetes.statusFailed", "Schedule"]]);

    // The failed write is retried on the next pass; the endpoint, unchanged, is not sent again.
    failing = false;
    ready = 1;
    await writer.write(agent, [], resources);
    expect(patches.slice(2).map((p) => [p.plural, p.status])).toEqual([
      ["schedules", { lastRun: "2026-01-01T02:30:00.000Z", nextRun: "2026-01-01T02:30:00.000Z", lastCallId: "call_1", lastError: null, consecutiveFailures: 0 }],
      ["endpoints", { url: "http://127.0.0.1:9000/web/chat/v1", ready: true }],
    ]);
  });
});
