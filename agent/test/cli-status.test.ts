/**
 * What `warmpool status` says about its counts (cli/status.ts `explain`): one labelled table of
 * function views at a fixed `now`, each with the sentences it must give. And what a client command
 * says when no agent answers at the default URL (no process test: something may listen on 8765).
 */
import { AgentUnavailableError } from "../src/client/client";
import { hintFor } from "../src/cli/errors";
import { explain, type FunctionView } from "../src/cli/status";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const AUTO = { minContainers: 0, maxContainers: 4, scaledownWindow: 60 };

function view(status: Partial<FunctionView["status"]>, containers: Array<Partial<FunctionView["containers"][number]>> = []): FunctionView {
  return {
    app: "demo",
    name: "square",
    spec: { autoscaler: AUTO },
    status: { replicas: 0, readyReplicas: 0, queueDepth: 0, delayed: 0, inFlight: 0, ...status },
    containers: containers.map((c, i) => ({ id: `square-${i}`, state: "ready", inFlight: 0, served: 1, readyAt: "2026-12-01T11:58:00.000Z", idleSince: null, ref: null, ...c })),
    events: [],
  };
}

const idleFor = (s: number): string => new Date(NOW - s * 1000).toISOString();

const CASES: Array<[string, FunctionView, string[]]> = [
  ["scaled to zero", view({}), ["desired 0: the containers the autoscaler wants for 0 in flight + 0 queued, within [0, 4].", "scaled to zero: the next input starts a container."]],
  [
    "desired 0, ready 4: the load is gone, the containers wait out their window; the next stops when the longest idle has waited 60 s",
    view({ readyReplicas: 4 }, [{ idleSince: idleFor(18) }, { idleSince: idleFor(42) }, { idleSince: idleFor(5) }, { idleSince: idleFor(1) }]),
    [
      "desired 0: the containers the autoscaler wants for 0 in flight + 0 queued, within [0, 4].",
      "ready 4 > desired 0: the 4 containers over desired stop once idle for scaledownWindow (60 s); the next in 18 s.",
    ],
  ],
  [
    "one over desired, its window already passed: it goes at the next tick",
    view({ replicas: 1, readyReplicas: 2, inFlight: 1 }, [{ inFlight: 1 }, { idleSince: idleFor(75) }]),
    [
      "desired 1: the containers the autoscaler wants for 1 in flight + 0 queued, within [0, 4].",
      "ready 2 > desired 1: the container over desired stops once idle for scaledownWindow (60 s); the next at the autoscaler's next tick; 1 with inputs in flight is not stopped before they finish.",
    ],
  ],
  [
    "more wanted than ready: starting",
    view({ replicas: 3, readyReplicas: 1, queueDepth: 5, delayed: 2, inFlight: 1 }, [{ inFlight: 1 }, { state: "starting" }, { state: "starting" }]),
    ["desired 3: the containers the autoscaler wants for 1 in flight + 5 queued (+ 2 waiting to retry), within [0, 4].", "ready 1 < desired 3: 2 starting."],
  ],
  [
    "failed starts: held back, the count and the last error, and where the output is",
    view({
      replicas: 1,
      queueDepth: 1,
      startFailures: 2,
      lastStartError: "container square-9 exited with status 3 before it was ready\nModuleNotFoundError: No module named 'x'",
      lastScaleReason: "scale up 0 → 1: 0 in flight + 1 queued, ceil(1 / 1) = 1",
      lastScaleTime: "2026-12-01T11:59:58.000Z",
    }),
    [
      "desired 1: the containers the autoscaler wants for 0 in flight + 1 queued, within [0, 4].",
      "ready 0 < desired 1: 1 to start, held back after failed starts (below).",
      "start failures: 2 in a row, retried with a growing backoff (after 3, the waiting inputs fail); last error:",
      "  container square-9 exited with status 3 before it was ready",
      "  ModuleNotFoundError: No module named 'x'",
      "  (`warmpool logs demo/square` shows what the containers printed)",
      "last decision (2026-12-01T11:59:58.000Z): scale up 0 → 1: 0 in flight + 1 queued, ceil(1 / 1) = 1",
    ],
  ],
  [
    "draining containers are said",
    view({ replicas: 1, readyReplicas: 1 }, [{ inFlight: 0, idleSince: idleFor(1) }, { state: "draining" }]),
    ["desired 1: the containers the autoscaler wants for 0 in flight + 0 queued, within [0, 4].", "1 draining: finishing the inputs they have, then stopping."],
  ],
];

test.each(CASES)("%s", (_name, v, lines) => {
  expect(explain(v, NOW).map((l) => l.text)).toEqual(lines);
});

test("no agent at the default URL: what to start, and where its profile goes", () => {
  const resolved = { url: "http://127.0.0.1:8765", token: "", urlSource: "the default", tokenSource: "no token found", profile: null, configFile: "/home/me/.warmpool/config.toml" };
  const err = new AgentUnavailableError(resolved, "ECONNREFUSED", "connection refused");
  expect(err.message).toBe("cannot reach the agent at http://127.0.0.1:8765 (the default URL: no URL was given nor found in a profile): connection refused");
  expect(hintFor(err)).toBe(
    "Is an agent running? Start one with `warmpool dev <spec.yaml>`: it writes its URL and token to a profile in /home/me/.warmpool/config.toml, which client commands read. Or point at one with --url, WARMPOOL_URL or --profile.",
  );
});
