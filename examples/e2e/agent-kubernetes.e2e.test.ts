/**
 * The agent's kubernetes backend against a real API server: the real `warmpool agent --backend
 * kubernetes` process, running with a kubeconfig for a ServiceAccount bound to exactly the rules the
 * provider grants the agent (provider/src/render/rbac.ts), scales a worker Deployment rendered by the
 * provider's own render function (applied with kubectl, not `pulumi up`: the Pulumi path is covered by
 * ops-typescript.e2e.test.ts, and this keeps the file fast).
 *
 * kwok pods reach Running/Ready but run no process and their Pod IPs are simulated, so the agent is
 * started with `--worker-address` pointing at a stand-in worker on loopback (this test's own HTTP
 * server speaking the worker protocol): calls complete, and the test decides when each one finishes.
 * What is checked: 0 → 1 → 2 on demand with pods Running on the H100 kwok nodes; the Function's
 * status and `kubectl get functions.warmpool.dev` columns; one Event per scale decision; an idle pod
 * is the one removed (marked with the lowest pod-deletion-cost, both being Ready), the busy one stays; back to minContainers after the
 * scaledownWindow; the Endpoint's status (its URL on the agent, ready while a container is) and the
 * Schedule's (next run while suspended; last run, call and error once it fires, the error cleared by
 * the next success); no request of the agent was forbidden.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appToken, checkSpec } from "@warmpool/schema";
import { AGENT_APP_RULES, AGENT_CLUSTER_RULES } from "warmpool/dist/render/rbac";
import { workerDeploymentSpec } from "warmpool/dist/render/worker";
import { Cluster, REPO, eventually, toolchainBin } from "./harness";

const cluster = new Cluster(toolchainBin()!);
const NS = "demo-dev";
const SA_NS = "warmpool-system";
const AGENT_MAIN = join(REPO, "agent", "dist", "src", "cli", "main.js");
const stateDir = mkdtempSync(join(tmpdir(), "warmpool-e2e-agent-k8s-"));

/**
 * The stand-in worker: `/ready` answers 200; each `/invoke` is held until the test releases its input,
 * which then returns its argument, or fails with a ValueError when released with a message. Like a
 * worker pod that has its App's token, it takes inputs only with that token.
 */
const held = new Map<string, (error?: string) => void>();
const worker = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.url === "/ready") return void res.end("ok");
    if (req.url !== "/invoke") return void res.writeHead(404).end();
    // What a worker pod of the App requires once the App has the Runtime's apiToken (its Secret
    // `warmpool-agent-access`): the App's token, never the admin token.
    if (req.headers.authorization !== `Bearer ${appToken(token, "demo")}`) return void res.writeHead(401).end();
    const inputs = (JSON.parse(body) as { inputs: Array<{ id: string; args: unknown[] }> }).inputs;
    const answer = (error?: string): void => {
      for (const i of inputs) held.delete(i.id);
      const outputs = inputs.map((i) => (error === undefined ? { id: i.id, ok: true, value: i.args[0] } : { id: i.id, ok: false, error: { type: "ValueError", message: error } }));
      if (!res.headersSent) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ outputs }));
    };
    for (const i of inputs) held.set(i.id, answer);
  });
});

let agent: ChildProcess | undefined;
let agentErr = "";
let url = "";
let token = "";

function functionSpec() {
  const checked = checkSpec("Function", {
    app: "demo",
    name: "echo",
    handler: "app:echo",
    image: "registry.example.com/demo/echo:1.0.0",
    gpu: "H100",
    timeout: 120,
    autoscaler: { minContainers: 0, maxContainers: 2, scaledownWindow: 2 },
  });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/** Suspended at first, so that its calls do not disturb the scaling checks; the last test sets it going. */
function scheduleSpec() {
  const checked = checkSpec("Schedule", { app: "demo", name: "tick", function: "echo", every: "1h", suspended: true, args: ["tick"] });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

function endpointSpec() {
  const checked = checkSpec("Endpoint", { app: "demo", name: "api", function: "echo", path: "/api" });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/** The rules the provider's App and Runtime components grant, bound to a ServiceAccount of our own. */
async function agentKubeconfig(): Promise<string> {
  const labels = { "app.kubernetes.io/managed-by": "warmpool" };
  await cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: SA_NS } });
  await cluster.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "warmpool-agent", namespace: SA_NS } });
  const subject = [{ kind: "ServiceAccount", name: "warmpool-agent", namespace: SA_NS }];
  await cluster.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "e2e-warmpool-agent", labels }, rules: AGENT_CLUSTER_RULES });
  await cluster.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "e2e-warmpool-agent" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "e2e-warmpool-agent" },
    subjects: subject,
  });
  await cluster.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "warmpool-agent", namespace: NS }, rules: AGENT_APP_RULES });
  await cluster.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "warmpool-agent", namespace: NS },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "warmpool-agent" },
    subjects: subject,
  });
  const created = await cluster.kubectl("create", "token", "warmpool-agent", "-n", SA_NS, "--duration", "1h");
  if (created.code !== 0) throw new Error(`kubectl create token failed: ${created.stderr}`);
  const admin = JSON.parse((await cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json")).stdout);
  const file = join(stateDir, "agent-kubeconfig.json");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: admin.clusters[0].cluster }],
      users: [{ name: "warmpool-agent", user: { token: created.stdout.trim() } }],
      contexts: [{ name: "agent", context: { cluster: "test", user: "warmpool-agent" } }],
      "current-context": "agent",
    }),
  );
  // The ServiceAccount can do what the agent needs and nothing broader.
  const can = async (...args: string[]) => (await cluster.kubectl("auth", "can-i", ...args, "--as", `system:serviceaccount:${SA_NS}:warmpool-agent`)).stdout.trim();
  expect(await can("update", "deployments", "--subresource=scale", "-n", NS)).toBe("yes");
  expect(await can("update", "deployments", "-n", NS)).toBe("no");
  expect(await can("get", "secrets", "-n", NS)).toBe("no");
  return file;
}

async function startAgent(kubeconfig: string): Promise<void> {
  const port = (worker.address() as AddressInfo).port;
  agent = spawn(process.execPath, [AGENT_MAIN, "agent", "--backend", "kubernetes", "--kubeconfig", kubeconfig, "--worker-address", `127.0.0.1:${port}`, "--port", "0", "--state-dir", stateDir], {
    env: { ...process.env, WARMPOOL_STATE_DIR: stateDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  agent.stdout!.on("data", (d) => (out += d));
  agent.stderr!.on("data", (d) => (agentErr += d));
  const ready = await eventually("the agent to listen", async () => /ready on (http:\/\/\S+)/.exec(out)?.[1], 30_000);
  url = ready;
  token = /\n\s+(wp_\S+)/.exec(out)?.[1] ?? require("node:fs").readFileSync(join(stateDir, "token"), "utf8").trim();
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const spawnCall = async (arg: string): Promise<string> => (await api("POST", "/v1/apps/demo/functions/echo/spawn", { args: [arg] })).callId;

/** Live (not terminating) pods of the function, with node and phase. */
async function pods(): Promise<Array<{ name: string; node: string; phase: string }>> {
  const list = await cluster.get("pods", "-n", NS, "-l", "warmpool.dev/app=demo,warmpool.dev/function=echo");
  return list.items.filter((p: any) => p.metadata.deletionTimestamp === undefined).map((p: any) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status.phase }));
}

/** The events of `kubectl get --watch --output-watch-events -o json`: pretty-printed objects, one after another. */
function watchEvents(text: string): Array<{ type: string; object: any }> {
  return text
    .split(/\n(?=\{)/)
    .map((chunk) => {
      try {
        return JSON.parse(chunk);
      } catch {
        return undefined;
      }
    })
    .filter((e) => e !== undefined && e.object?.metadata?.name !== undefined);
}

const replicas = async (): Promise<number> => (await cluster.get("deployment", "echo", "-n", NS)).spec.replicas;
const status = async (): Promise<any> => (await cluster.get("functions.warmpool.dev", "echo", "-n", NS)).status ?? {};
/** `endpoints` alone would be the core Endpoints: always the full resource name. */
const endpointStatus = async (): Promise<any> => (await cluster.get("endpoints.warmpool.dev", "api", "-n", NS)).status ?? {};
const scheduleStatus = async (): Promise<any> => (await cluster.get("schedules.warmpool.dev", "tick", "-n", NS)).status ?? {};
/** The pods of the agent's busy containers (ref `pod <ns>/<name>`), from its own description of the function. */
async function busyPods(): Promise<string[]> {
  const fn = await api("GET", "/v1/apps/demo/functions/echo");
  return (fn.containers ?? []).filter((c: any) => c.inFlight > 0).map((c: any) => String(c.ref).split("/")[1]);
}

beforeAll(async () => {
  if (!existsSync(AGENT_MAIN)) throw new Error(`${AGENT_MAIN} is missing: build first (npm run build)`);
  await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  await cluster.start();
  const crds = await cluster.kubectl("apply", "-f", join(REPO, "schema", "crds", "warmpool.dev.yaml"));
  if (crds.code !== 0) throw new Error(crds.stderr);
  await eventually(
    "the CRDs to be established",
    async () => ((await cluster.kubectl("wait", "--for=condition=Established", "crd/functions.warmpool.dev", "--timeout=20s")).code === 0 ? true : undefined),
    30_000,
  );
  await cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  const spec = functionSpec();
  const app = { name: "demo", environment: "dev", namespace: NS, runtimeNamespace: SA_NS, secrets: [], labels: { "warmpool.dev/app": "demo", "warmpool.dev/environment": "dev" }, agentAccess: true };
  const metadata = { name: "echo", namespace: NS, labels: app.labels };
  await cluster.apply({ apiVersion: "apps/v1", kind: "Deployment", metadata, spec: workerDeploymentSpec({ spec, app, volumes: {}, image: spec.image! }) });
  await cluster.apply({ apiVersion: "warmpool.dev/v1alpha1", kind: "Function", metadata, spec });
  await cluster.apply({ apiVersion: "warmpool.dev/v1alpha1", kind: "Schedule", metadata: { ...metadata, name: "tick" }, spec: scheduleSpec() });
  await cluster.apply({ apiVersion: "warmpool.dev/v1alpha1", kind: "Endpoint", metadata: { ...metadata, name: "api" }, spec: endpointSpec() });
  await startAgent(await agentKubeconfig());
}, 180_000);

afterAll(async () => {
  for (const release of [...held.values()]) release();
  if (agent !== undefined && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent!.once("exit", resolve));
    agent.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (agent.exitCode === null) agent.kill("SIGKILL");
    agent.stdout?.destroy();
    agent.stderr?.destroy();
  }
  worker.closeAllConnections();
  worker.close();
  await cluster.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe("warmpool agent --backend kubernetes", () => {
  let first = "";
  let second = "";
  let firstPod = "";
  let secondPod = "";

  it("deploys the App from its Function resource and scales 0 → 1 for a spawned call", async () => {
    await eventually("the agent to deploy demo/echo", async () => (await api("GET", "/v1/apps")).apps?.some((a: any) => a.name === "demo") || undefined, 30_000);
    expect(await replicas()).toBe(0);
    first = await spawnCall("one");
    const running = await eventually("a Running pod on an H100 node", async () => {
      const live = await pods();
      return live.length === 1 && live[0]!.phase === "Running" ? live[0] : undefined;
    });
    expect(running!.node).toMatch(/^gpu-h100-/);
    expect(await replicas()).toBe(1);
    await eventually("the call to reach the worker", async () => held.get(first) ?? undefined, 30_000);
    expect(await busyPods()).toEqual([running!.name]);
    firstPod = running!.name;
    // container exec: this backend offers no way in; the 501 names the kubectl command that is one.
    const container = (await api("GET", "/v1/containers")).containers.find((c: any) => c.function === "echo");
    const exec = await fetch(`${url}/v1/containers/${container.id}/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ command: ["sh", "-c", "ls /"] }),
    });
    expect(exec.status).toBe(501);
    expect(((await exec.json()) as any).error.message).toContain(`run \`kubectl exec -n ${NS} ${firstPod} -- sh -c 'ls /'\``);
    const s = await eventually(
      "status with one ready container",
      async () => {
        const st = await status();
        return st.readyReplicas === 1 && st.inFlight === 1 ? st : undefined;
      },
      30_000,
    );
    expect(s).toMatchObject({ replicas: 1, queueDepth: 0 });
    expect(s.lastScaleReason).toMatch(/^scale up 0 → 1/);
    expect(Date.parse(s.lastScaleTime)).toBeGreaterThan(0);
    const table = await cluster.kubectl("get", "functions.warmpool.dev", "-n", NS);
    expect(table.stdout).toMatch(/NAME\s+APP\s+GPU\s+MIN\s+MAX\s+REPLICAS\s+READY\s+QUEUE\s+REASON/);
    expect(table.stdout).toMatch(/echo\s+demo\s+H100\s+0\s+2\s+1\s+1\s+0\s+scale up 0 → 1/);
    const endpoint = await eventually("the Endpoint status to say a container is ready", async () => ((await endpointStatus()).ready === true ? endpointStatus() : undefined), 30_000);
    expect(endpoint).toEqual({ url: `${url}/web/demo/api`, ready: true });
  }, 120_000);

  it("a second concurrent call adds a second pod", async () => {
    // The pods' ages differ clearly in the ReplicaSet's (logarithmic) ranking, so that its choice
    // would be deterministic (here: the older pod) and not the idle one below: only the agent's own
    // choice removes the idle one.
    await eventually(
      "the first pod to have been Ready for 8s",
      async () => {
        const pod = await cluster.get("pod", firstPod, "-n", NS);
        const ready = pod.status.conditions?.find((c: any) => c.type === "Ready" && c.status === "True");
        return ready !== undefined && Date.now() - Date.parse(ready.lastTransitionTime) >= 8000 ? true : undefined;
      },
      30_000,
    );
    second = await spawnCall("two");
    await eventually("two Running pods", async () => ((await pods()).filter((p) => p.phase === "Running").length === 2 ? true : undefined));
    expect(await replicas()).toBe(2);
    await eventually("the second call to reach the worker", async () => held.get(second) ?? undefined, 30_000);
    const busy = await busyPods();
    expect(busy).toHaveLength(2);
    secondPod = busy.find((p) => p !== firstPod)!;
    expect(busy).toContain(firstPod);
    await eventually("status of the second scale-up", async () => ((await status()).lastScaleReason?.startsWith("scale up 1 → 2") ? true : undefined), 30_000);
  }, 120_000);

  it("scale-down removes the idle pod, not the busy one, after the window", async () => {
    // The newer pod goes idle and must go. Both are Ready, so the agent marks the idle one with the
    // lowest pod-deletion-cost and the ReplicaSet removes it, with no Pod created or deleted for
    // nothing. A watch records every version of the pods: the idle one must have been marked before it
    // was terminating, and the busy one never marked nor terminating.
    const watch = spawn(join(cluster.bin, "kubectl"), ["get", "pods", "-n", NS, "-l", "warmpool.dev/function=echo", "--watch", "--output-watch-events", "-o", "json"], {
      env: cluster.env,
      stdio: ["ignore", "pipe", "ignore"],
    });
    let seen = "";
    watch.stdout!.on("data", (d) => (seen += d));
    await eventually("the pod watch to list both pods", async () => (seen.includes(firstPod) && seen.includes(secondPod) ? true : undefined), 30_000);
    const releaseSecond = held.get(second);
    expect(releaseSecond).toBeDefined();
    releaseSecond!();
    expect((await api("GET", `/v1/calls/${second}?wait=30`)).status).toBe("succeeded");
    const remaining = await eventually(
      "one pod left",
      async () => {
        const live = await pods();
        return (await replicas()) === 1 && live.length === 1 ? live : undefined;
      },
      60_000,
    );
    expect(remaining[0]!.name).toBe(firstPod);
    await eventually("the watch to see the idle pod deleted", async () => (watchEvents(seen).some((e) => e.type === "DELETED" && e.object.metadata.name === secondPod) ? true : undefined), 30_000);
    watch.kill();
    const versions = (pod: string): Array<[string | undefined, boolean]> =>
      watchEvents(seen)
        .filter((e) => e.object.metadata.name === pod)
        .map((e) => [e.object.metadata.annotations?.["controller.kubernetes.io/pod-deletion-cost"], e.object.metadata.deletionTimestamp !== undefined]);
    const idle = versions(secondPod);
    const marked = idle.findIndex(([cost]) => cost === "-2147483647");
    const terminating = idle.findIndex(([, deleting]) => deleting);
    expect([marked >= 0, terminating > marked]).toEqual([true, true]);
    expect(versions(firstPod).every(([cost, deleting]) => cost === undefined && !deleting)).toBe(true);
    expect(new Set(watchEvents(seen).map((e) => e.object.metadata.name))).toEqual(new Set([firstPod, secondPod]));
    const s = await eventually("status of the scale-down", async () => ((await status()).lastScaleReason?.startsWith("scale down 2 → 1") ? await status() : undefined), 30_000);
    expect(s).toMatchObject({ replicas: 1, readyReplicas: 1, inFlight: 1 });
  }, 120_000);

  it("goes back to minContainers once the last call is done, with an Event per decision", async () => {
    const releaseFirst = held.get(first);
    expect(releaseFirst).toBeDefined();
    releaseFirst!();
    expect((await api("GET", `/v1/calls/${first}?wait=30`)).status).toBe("succeeded");
    await eventually("replicas back to minContainers (0)", async () => ((await replicas()) === 0 && (await pods()).length === 0 ? true : undefined), 60_000);
    const s = await eventually(
      "status at zero",
      async () => {
        const st = await status();
        return st.replicas === 0 && st.readyReplicas === 0 ? st : undefined;
      },
      30_000,
    );
    expect(s.lastScaleReason).toMatch(/^scale down 1 → 0/);
    const events = await eventually(
      "four scale Events on the Function",
      async () => {
        const list = await cluster.get("events", "-n", NS, "--field-selector", "involvedObject.kind=Function,involvedObject.name=echo");
        return list.items.length >= 4 ? list.items : undefined;
      },
      30_000,
    );
    expect(events.map((e: any) => e.reason).sort()).toEqual(["ScaledDown", "ScaledDown", "ScaledUp", "ScaledUp"]);
  }, 120_000);

  it("writes the Endpoint's status and the Schedule's as it fires, fails and succeeds", async () => {
    // At zero containers the endpoint is no longer ready.
    const endpoint = await eventually("the Endpoint status at zero containers", async () => ((await endpointStatus()).ready === false ? endpointStatus() : undefined), 30_000);
    expect(endpoint).toEqual({ url: `${url}/web/demo/api`, ready: false });
    const endpoints = await cluster.kubectl("get", "endpoints.warmpool.dev", "-n", NS);
    expect(endpoints.stdout).toMatch(/NAME\s+FUNCTION\s+KIND\s+PATH\s+PUBLIC\s+URL/);
    expect(endpoints.stdout).toContain(`${url}/web/demo/api`);

    // Suspended: a next run an hour ahead, never a last one.
    const suspended = await scheduleStatus();
    expect(suspended).toEqual({ nextRun: expect.any(String), consecutiveFailures: 0 });
    const ahead = Date.parse(suspended.nextRun) - Date.now();
    expect([ahead > 0, ahead <= 3_600_000]).toEqual([true, true]);

    const patched = await cluster.kubectl("patch", "schedules.warmpool.dev", "tick", "-n", NS, "--type", "merge", "-p", JSON.stringify({ spec: { suspended: false, every: "2s" } }));
    expect(patched.code).toBe(0);
    const fired = await eventually(
      "a scheduled call to reach the worker and show in the Schedule status",
      async () => {
        const st = await scheduleStatus();
        return st.lastCallId !== undefined && held.has(st.lastCallId) ? st : undefined;
      },
      60_000,
    );
    expect(Date.parse(fired.nextRun)).toBeGreaterThan(Date.parse(fired.lastRun));
    expect(Date.parse(fired.lastRun)).toBeLessThanOrEqual(Date.now());
    expect(fired.consecutiveFailures).toBe(0);
    expect(fired.lastError).toBeUndefined();
    const schedules = await cluster.kubectl("get", "schedules.warmpool.dev", "-n", NS);
    expect(schedules.stdout).toMatch(/NAME\s+FUNCTION\s+CRON\s+EVERY\s+TIMEZONE\s+LAST\s+NEXT/);
    // nextRun moves on every 2s (skipped firings too), so the row is matched by shape: period, then an ISO next run.
    expect(schedules.stdout.split("\n").find((line) => line.startsWith("tick"))).toMatch(/^tick\s+echo\s+.*\s2s\s+.*\s\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);

    // Overlap `skip` holds later firings back while this call runs, so the failure is the one recorded.
    held.get(fired.lastCallId)!("boom");
    const failed = await eventually(
      "the failure in the Schedule status",
      async () => {
        const st = await scheduleStatus();
        return st.consecutiveFailures === 1 ? st : undefined;
      },
      30_000,
    );
    expect(failed.lastError).toBe("ValueError: boom");

    // The next firing's success clears lastError (a merge patch with null) and the failure count.
    const next = await eventually(
      "the next scheduled call to reach the worker",
      async () => {
        const st = await scheduleStatus();
        return st.lastCallId !== fired.lastCallId && held.has(st.lastCallId) ? st.lastCallId : undefined;
      },
      30_000,
    );
    held.get(next)!();
    const recovered = await eventually(
      "the success in the Schedule status",
      async () => {
        const st = await scheduleStatus();
        return st.consecutiveFailures === 0 && st.lastCallId !== fired.lastCallId ? st : undefined;
      },
      30_000,
    );
    expect(recovered.lastError).toBeUndefined();
    expect((await api("GET", `/v1/calls/${next}`)).status).toBe("succeeded");
  }, 180_000);

  it("needed nothing beyond the RBAC the components grant", () => {
    expect(agentErr).not.toMatch(/forbidden|kubernetes\.(statusFailed|eventFailed|podRemoveFailed)/i);
  });
});
