/**
 * The first thing an ops user does, for real: `pulumi up` of examples/ops-typescript in its CPU-only
 * variant (the same components, GPU fields dropped: stack config `cpuOnly`) onto a cluster with a real
 * node (scripts/test-cluster --real-node: kubelet, containerd, kube-proxy), then call the functions.
 * Nothing is overridden: the agent runs from the Deployment the Runtime renders, in the image built
 * from agent/Dockerfile; the functions run in the app's image (examples/ops-typescript/app, FROM the
 * Python worker image). Calls go through the agent's ClusterIP Service (from inside the node's network
 * namespace, the only place it exists), so through HAProxy, the image's data plane.
 *
 * What is checked, each step failing if it breaks: the agent pod Ready and the API answering the
 * Runtime's apiToken output; a call scaling llm 0 → 1 and returning; map over 100 inputs on more pods;
 * back to zero after the scale-down window; a function endpoint (by path and by domain) and a
 * web-server endpoint, the latter served by HAProxy straight from the container; the Schedule firing
 * in the cluster; secrets only where declared; the agent's token out of the workers' reach; the agent
 * pod deleted under load — its replacement adopts the warm pods, every accepted spawned call completes
 * and none runs twice; `pulumi destroy` leaving no pod, claim, namespace or mount behind.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { checkSpec } from "@warmpool/schema";
import { agentDeploymentSpec } from "warmpool/dist/render/agent";
import { Cluster, Project, REPO, eventually, toolchainBin } from "./harness";

const HF_TOKEN = "hf_journey_do_not_leak_51d0";
const APP_IMAGE = "localhost/warmpool/chat:e2e";
const AGENT_IMAGE = "ghcr.io/warmpool/agent:0.1.0";
const NS = "chat-dev";
const SYSTEM = "warmpool-system";
/** The CPU-only variant's scale-down window (s): short, so that going back to zero is seen. */
const WINDOW = 10;

const archive = execFileSync(join(REPO, "scripts", "images"), ["build-dir", APP_IMAGE, join(REPO, "examples", "ops-typescript", "app")], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
}).trim();
const cluster = new Cluster(toolchainBin()!, { realNode: { images: [archive] } });
const project = new Project(join(REPO, "examples", "ops-typescript"), cluster);
let volumes: { state: string; weights: string };
let gateway = "";
let token = "";

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth = token): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: { ...(auth === "" ? {} : { authorization: `Bearer ${auth}` }), "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function ok(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  const r = await api(method, path, body, headers);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/** A POST with its own Host header (fetch cannot set one): a request for an Endpoint's custom domain. */
function postToDomain(host: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const url = new URL(gateway);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: "POST", path, headers: { host, authorization: `Bearer ${token}`, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d)).on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on("error", reject).end(JSON.stringify(body));
  });
}

/** Live (not terminating) pods of a function. */
async function pods(fn: string): Promise<Array<{ name: string; node: string; ready: boolean; created: number }>> {
  const list = await cluster.get("pods", "-n", NS, "-l", `warmpool.dev/function=${fn}`);
  return list.items
    .filter((p: any) => p.metadata.deletionTimestamp === undefined)
    .map((p: any) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      ready: (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
      created: Date.parse(p.metadata.creationTimestamp),
    }));
}

const replicas = async (fn: string): Promise<number> => (await cluster.get("deployment", fn, "-n", NS)).spec.replicas;
const fingerprint = (value: string): string => createHash("sha256").update(value).digest("hex").slice(0, 16);
/** Lines `<input>\t<container>\t<time>` that the app's handlers append to the weights volume per execution. */
const runs = (log: string): Array<{ input: string; container: string }> => {
  const file = join(volumes.weights, log);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [input, container] = l.split("\t");
      return { input: input!, container: container! };
    });
};

/** HAProxy's per-backend session totals, from its runtime socket in the agent's state directory. */
async function haproxySessions(): Promise<Record<string, number>> {
  const csv = await new Promise<string>((resolve, reject) => {
    let out = "";
    const socket = connect(join(volumes.state, "haproxy.sock"), () => socket.write("show stat\n"));
    socket
      .on("data", (d) => (out += d))
      .on("end", () => resolve(out))
      .on("error", reject);
  });
  const totals: Record<string, number> = {};
  for (const line of csv.split("\n")) {
    const [proxy, server, , , , , , stot] = line.split(",");
    if (server === "BACKEND") totals[proxy!] = Number(stot);
  }
  return totals;
}

beforeAll(async () => {
  await cluster.start();
  volumes = {
    state: await cluster.addNodeVolume("journey-agent-state", "10Gi"),
    weights: await cluster.addNodeVolume("journey-weights", "500Gi"),
  };
  await project.must("stack", "init", "journey");
  await project.must("config", "set", "environment", "dev");
  await project.must("config", "set", "image", APP_IMAGE);
  await project.must("config", "set", "--secret", "hfToken", HF_TOKEN);
  await project.must("config", "set", "--path", "cpuOnly.scaledownWindow", String(WINDOW));
  await project.must("config", "set", "--path", "cpuOnly.reindexEvery", "5s");
}, 300_000);

afterAll(async () => {
  await cluster.stop();
  project.cleanup();
}, 120_000);

describe("pulumi up of the CPU-only ops example on a real node, then calling it", () => {
  it("the agent pod reaches Ready from the Deployment exactly as rendered, and its API answers the apiToken output", async () => {
    await project.must("up", "--yes", "--skip-preview");
    const deployment = await cluster.get("deployment", "warmpool-agent", "-n", SYSTEM);
    const checked = checkSpec("Runtime", { limits: { maxPendingInputs: 2000 } });
    if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
    const rendered = (agentDeploymentSpec(checked.spec, AGENT_IMAGE, {}).template as any).spec;
    const pod = await eventually(
      "a Ready agent pod on real-0",
      async () => {
        const list = await cluster.get("pods", "-n", SYSTEM, "-l", "app.kubernetes.io/name=warmpool-agent");
        return list.items.find((p: any) => p.spec.nodeName === "real-0" && p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
      },
      120_000,
    );
    // What runs is what the Runtime renders: no command, args, env or mount changed on the way.
    for (const spec of [deployment.spec.template.spec, pod.spec]) {
      const [c] = spec.containers;
      const [r] = rendered.containers;
      // (The API server drops an empty env list; the kubelet adds the service account token's mount.)
      expect({
        image: c.image,
        command: c.command,
        args: c.args,
        env: c.env ?? [],
        volumeMounts: c.volumeMounts.filter((m: any) => !m.mountPath.startsWith("/var/run/secrets/kubernetes.io")),
      }).toEqual({ image: r.image, command: r.command, args: r.args, env: r.env, volumeMounts: r.volumeMounts });
      expect(c.args).toContain("--token-file");
    }
    expect(pod.status.containerStatuses[0]).toMatchObject({ ready: true, restartCount: 0 });

    const service = await cluster.get("service", "warmpool-agent", "-n", SYSTEM);
    gateway = await cluster.forward(`${service.spec.clusterIP}:${service.spec.ports[0].port}`);
    token = (await project.must("stack", "output", "apiToken", "--show-secrets")).trim();
    const apps = await api("GET", "/v1/apps");
    expect(apps.status).toBe(200);
    expect(apps.json.apps.map((a: any) => a.name)).toEqual(["chat"]);
    expect(apps.json.apps[0].functions.map((f: any) => f.name).sort()).toEqual(["embed", "llm", "reindex", "ui"]);
    expect((await api("GET", "/v1/apps", undefined, {}, "wrong")).status).toBe(403);
    expect((await api("GET", "/v1/apps", undefined, {}, "")).status).toBe(401);
  }, 600_000);

  it("a call through the agent's Service runs in a worker pod the agent scaled 0 → 1", async () => {
    // embed (batched, no buffer container): one call, one container.
    expect(await replicas("embed")).toBe(0);
    expect(await pods("embed")).toEqual([]);
    const call = await ok("POST", "/v1/apps/chat/functions/embed/call", { args: ["hello"] });
    expect(call.status).toBe("succeeded");
    expect(call.result).toMatchObject({ text: "hello", dims: [5, [..."hello"].reduce((n, ch) => n + ch.charCodeAt(0), 0) % 97] });
    const live = await pods("embed");
    expect(live.map((p) => p.name)).toEqual([call.result.container]);
    expect(live[0]!.node).toBe("real-0");
    expect(await replicas("embed")).toBe(1);
    await eventually(
      "the Function status of the scale-up",
      async () => {
        const s = (await cluster.get("functions.warmpool.dev", "embed", "-n", NS)).status ?? {};
        return s.lastScaleReason?.startsWith("scale up 0 → 1") && s.readyReplicas === 1 ? s : undefined;
      },
      30_000,
    );
  }, 120_000);

  let mapDone = 0;
  it("map over 100 inputs scales to more pods and returns every result", async () => {
    // 2 s each: 25 s of work for one container (8 inputs at once), longer than a pod's cold start even on
    // a loaded machine, so the autoscaler's cold-start gate has a reason to start more (at 0.5 s each,
    // one container could finish the 6 s of work before a second pod was ready).
    const inputs = Array.from({ length: 100 }, (_, i) => ({ args: [`m${i}`, 2] }));
    let peak = 0;
    let watching = true;
    // Every container of the agent on a Pod of its own: two starts at once once took the same new Pod.
    const shared = new Set<string>();
    const watch = (async () => {
      while (watching) {
        peak = Math.max(peak, (await pods("llm")).filter((p) => p.ready).length);
        const refs = ((await api("GET", "/v1/apps/chat/functions/llm")).json?.containers ?? []).map((c: any) => c.ref).filter((r: unknown) => r !== null);
        for (const r of refs) if (refs.indexOf(r) !== refs.lastIndexOf(r)) shared.add(r);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const res = await fetch(`${gateway}/v1/apps/chat/functions/llm/map`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(inputs),
    });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    mapDone = Date.now();
    watching = false;
    await watch;
    const summary = lines.pop();
    expect(summary).toMatchObject({ done: true, total: 100, succeeded: 100, failed: 0 });
    expect(lines.map((l) => l.index)).toEqual(inputs.map((_, i) => i));
    expect(lines.map((l) => l.result.text)).toEqual(inputs.map((i) => `[meta-llama/Llama-3.1-8B-Instruct] ${i.args[0]}`));
    const containers = new Set(lines.map((l) => l.result.container));
    expect(containers.size).toBeGreaterThan(1);
    expect(peak).toBeGreaterThan(1);
    expect([...shared]).toEqual([]);
    // Each input ran exactly once.
    const ran = runs("generate.log")
      .filter((r) => /^m\d+$/.test(r.input))
      .map((r) => r.input)
      .sort();
    expect(ran).toEqual(inputs.map((i) => i.args[0] as string).sort());
  }, 180_000);

  it("idle pods go back to zero after the scale-down window", async () => {
    await eventually(
      "llm back at zero pods",
      async () => {
        if ((await replicas("llm")) === 0 && (await pods("llm")).length === 0) return true;
        // What the autoscaler last said, for the timeout's message.
        const s = (await cluster.get("functions.warmpool.dev", "llm", "-n", NS)).status ?? {};
        throw new Error(`replicas ${s.replicas}, ready ${s.readyReplicas}, last decision ${s.lastScaleTime}: ${s.lastScaleReason}`);
      },
      120_000,
    );
    const status = await eventually(
      "the Function status at zero",
      async () => {
        const s = (await cluster.get("functions.warmpool.dev", "llm", "-n", NS)).status ?? {};
        // replicas is what the load needs (0 as soon as it ends); the surplus containers stop first
        // (load-following), the last one after the window: wait for the decision that stopped it.
        if (s.replicas === 0 && s.readyReplicas === 0 && /^scale down \d+ → 0/.test(String(s.lastScaleReason))) return s;
        // For the timeout's message: the status, and what the agent said about llm's containers.
        const log = (await cluster.kubectl("logs", "-n", SYSTEM, "deployment/warmpool-agent")).stdout
          .split("\n")
          .filter((l) => /llm/.test(l) && /scal|stop|exit|remov|contain/i.test(l))
          .slice(-15)
          .join("\n");
        throw new Error(`status ${JSON.stringify(s)}; agent log:\n${log}`);
      },
      30_000,
    );
    expect(status.lastScaleReason).toMatch(/^scale down \d+ → 0/);
    // Not before the window: the last container went idle when the map finished.
    expect(Date.parse(status.lastScaleTime) - mapDone).toBeGreaterThanOrEqual(WINDOW * 1000 - 1500);
  }, 180_000);

  it("a function endpoint answers through HAProxy and the agent, by path and by domain", async () => {
    // HAProxy holds the gateway's port: it passes function endpoints (and the API) to the agent behind it.
    const before = await haproxySessions();
    const byPath = await ok("POST", "/web/chat/v1/chat", { prompt: "by path" });
    expect(byPath.text).toBe("[meta-llama/Llama-3.1-8B-Instruct] by path");
    const byDomain = await postToDomain("chat.example.com", "/v1/chat", { prompt: "by domain" });
    expect(byDomain).toMatchObject({ status: 200, json: { text: "[meta-llama/Llama-3.1-8B-Instruct] by domain" } });
    expect((await haproxySessions()).agent).toBeGreaterThanOrEqual(before.agent! + 2);
    expect((await api("POST", "/web/chat/v1/chat", { prompt: "x" }, {}, "")).status).toBe(401);
  }, 120_000);

  it("a web-server endpoint answers from its own server, through HAProxy straight to the container", async () => {
    const first = await ok("GET", "/web/chat/ui/hello?x=1");
    expect(first).toMatchObject({ path: "/ui/hello?x=1", authorization: null });
    expect(first.container).toMatch(/^ui-/);
    // Once the container is ready, HAProxy (in front of the agent, in its pod) sends requests to it
    // directly. The agent's own sessions also count the kubelet's readiness probe (every 2 s, through
    // HAProxy's port), which may land inside a window: a request that went through the agent adds one
    // in every window, so one window of three without an agent session shows it did not.
    const windows: Array<{ ui: number; agent: number }> = [];
    for (let i = 0; i < 3 && !windows.some((w) => w.agent === 0); i++) {
      const before = await haproxySessions();
      const second = await ok("GET", `/web/chat/ui/again${i}`);
      expect(second).toMatchObject({ path: `/ui/again${i}`, container: first.container });
      const after = await haproxySessions();
      windows.push({ ui: after["ep_chat_chat-ui"]! - (before["ep_chat_chat-ui"] ?? 0), agent: after.agent! - before.agent! });
    }
    expect(windows.every((w) => w.ui === 1)).toBe(true);
    expect(windows.map((w) => w.agent)).toContain(0);
  }, 120_000);

  it("the Schedule fires in the cluster", async () => {
    const status = await eventually(
      "a scheduled call that succeeded",
      async () => {
        const s = (await cluster.get("schedules.warmpool.dev", "nightly-reindex", "-n", NS)).status ?? {};
        if (s.lastCallId === undefined) return undefined;
        const call = await ok("GET", `/v1/calls/${s.lastCallId}`);
        return call.status === "succeeded" ? { s, call } : undefined;
      },
      60_000,
    );
    expect(status.s.consecutiveFailures).toBe(0);
    expect(status.call.result).toMatchObject({ full: true });
    expect((await pods("reindex")).map((p) => p.name)).toContain(status.call.result.container);
    expect(runs("reindex.log").some((r) => r.input === "full" && r.container === status.call.result.container)).toBe(true);
  }, 120_000);

  it("secrets reach the workers only as declared", async () => {
    // llm declares the huggingface Secret; reindex and ui declare none.
    expect((await ok("POST", "/v1/apps/chat/functions/llm/call", { args: ["secret?"] })).result.hfToken).toBe(fingerprint(HF_TOKEN));
    expect((await ok("POST", "/v1/apps/chat/functions/reindex/call", { kwargs: { full: false } })).result.hfToken).toBeNull();
    expect((await ok("GET", "/web/chat/ui/")).hfToken).toBeNull();
    // By reference only: the value is in no Deployment.
    for (const fn of ["llm", "reindex", "ui", "embed"]) expect(JSON.stringify(await cluster.get("deployment", fn, "-n", NS))).not.toContain(HF_TOKEN);
  }, 120_000);

  it("a worker pod cannot read the agent's token, and calls its App's functions with its App's own", async () => {
    const [worker] = await eventually("a reindex pod", async () => ((await pods("reindex")).length > 0 ? pods("reindex") : undefined), 30_000);
    const service = await cluster.get("service", "warmpool-agent", "-n", SYSTEM);
    const probe = `
import json, os, ssl, urllib.request
token = ${JSON.stringify(token)}
found = []
for root in ["/var/run", "/run", "/etc", "/tmp", "/app", "/opt", "/models"]:
    for d, _, files in os.walk(root):
        for f in files:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    if token.encode() in fh.read():
                        found.append(os.path.join(d, f))
            except OSError:
                pass
def status(url, headers={}):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=ssl._create_unverified_context()).status
    except urllib.error.HTTPError as e:
        return e.code
from warmpool import Function
app_token = os.environ.get("WARMPOOL_TOKEN", "")
print(json.dumps({
    "workerIsPid1": os.getpid() == 1 or open("/proc/1/cmdline", "rb").read().startswith(b"python"),
    "appToken": app_token.startswith("wpa_"),
    "appListsApps": status("http://${service.spec.clusterIP}/v1/apps", {"Authorization": "Bearer " + app_token}),
    "called": Function.from_name("chat", "reindex").remote(full=True)["full"],
    "inEnv": any(token in v for v in os.environ.values()),
    "inFiles": found,
    "serviceAccount": os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount"),
    "apiSecret": status("https://10.0.0.1/api/v1/namespaces/${SYSTEM}/secrets/warmpool-agent-token"),
    "agentApi": status("http://${service.spec.clusterIP}/v1/apps"),
}))`;
    // WARMPOOL_URL (from the App's Secret) names the Service by DNS; the test cluster has no DNS, so
    // the probe reaches the same Service by its cluster IP.
    const exec = await cluster.kubectl("exec", "-n", NS, worker!.name, "--", "env", `WARMPOOL_URL=http://${service.spec.clusterIP}`, "python", "-c", probe);
    expect(exec.stderr).toBe("");
    expect(token).toMatch(/^\w{48}$/);
    // No token in the environment or any readable file, no credentials for the Kubernetes API (anonymous:
    // 401 or 403), and the agent refuses a request without the token.
    // Its App token (from the Secret warmpool-agent-access) calls a function of its App through the
    // Python client, and lists no Apps (admin only).
    // The worker is not PID 1 (the pause container is: shareProcessNamespace), so a SIGTERM that comes
    // before its handler is installed ends it instead of being dropped by the kernel.
    expect(JSON.parse(exec.stdout)).toEqual({
      workerIsPid1: false,
      appToken: true,
      appListsApps: 403,
      called: true,
      inEnv: false,
      inFiles: [],
      serviceAccount: false,
      apiSecret: expect.any(Number),
      agentApi: 401,
    });
    expect([401, 403]).toContain(JSON.parse(exec.stdout).apiSecret);
    const spec = (await cluster.get("pod", worker!.name, "-n", NS)).spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect((spec.volumes ?? []).filter((v: any) => v.secret !== undefined || v.projected !== undefined)).toEqual([]);
  }, 120_000);

  it("kubectl delete pod of the agent under load: the new agent adopts the warm pods, every accepted call completes once", async () => {
    const n = 60;
    // 4 pods × 8 inputs run at once; the rest wait in the queue when the agent goes.
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await ok("POST", "/v1/apps/chat/functions/llm/spawn", { args: [`load-${i}`, 4] })).callId);
    const warm = await eventually(
      "four ready llm pods running the first inputs",
      async () => {
        const live = await pods("llm");
        const started = runs("generate.log").filter((r) => r.input.startsWith("load-"));
        return live.length === 4 && live.every((p) => p.ready) && started.length >= 8 ? live : undefined;
      },
      90_000,
    );
    const before = await cluster.get("pods", "-n", SYSTEM, "-l", "app.kubernetes.io/name=warmpool-agent");
    const old = before.items[0].metadata.name;
    const deleted = await cluster.kubectl("delete", "pod", "-n", SYSTEM, old, "--wait=false");
    expect(deleted.code).toBe(0);
    await eventually(
      "a new agent pod Ready",
      async () => {
        const list = await cluster.get("pods", "-n", SYSTEM, "-l", "app.kubernetes.io/name=warmpool-agent");
        return list.items.some((p: any) => p.metadata.name !== old && p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) ? true : undefined;
      },
      120_000,
    );
    // Idempotent reads, retried: pooled connections to the old agent pod are closed under the client.
    const results = await Promise.all(
      ids.map((id) =>
        eventually(
          `call ${id} to finish`,
          async () => {
            const call = await ok("GET", `/v1/calls/${id}?wait=30`);
            return call.status === "pending" || call.status === "running" ? undefined : call;
          },
          180_000,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(ids.map(() => "succeeded"));
    expect(results.map((r) => r.result.text)).toEqual(ids.map((_, i) => `[meta-llama/Llama-3.1-8B-Instruct] load-${i}`));
    // None ran twice, and all ran on the pods that were warm before the agent went: no cold start.
    const ran = runs("generate.log").filter((r) => r.input.startsWith("load-"));
    expect(ran.map((r) => r.input).sort()).toEqual(ids.map((_, i) => `load-${i}`).sort());
    const warmNames = new Set(warm.map((p) => p.name));
    expect(ran.filter((r) => !warmNames.has(r.container))).toEqual([]);
    const newAgentLog = (await cluster.kubectl("logs", "-n", SYSTEM, "deployment/warmpool-agent")).stdout;
    expect(newAgentLog).toMatch(/"event":"agent.recovered"/);
  }, 300_000);

  it("a function whose handler cannot import fails its call at once in the cluster, with the traceback", async () => {
    // reindex's Function and Deployment, as the components rendered them, for a handler whose module
    // does not exist: the worker prints the ModuleNotFoundError and exits with status 3, the kubelet
    // keeps the end of that output in the termination message, and the agent reads it from the Pod.
    const fn = await cluster.get("functions.warmpool.dev", "reindex", "-n", NS);
    const dep = await cluster.get("deployment", "reindex", "-n", NS);
    const labels = { ...dep.metadata.labels, "warmpool.dev/function": "broken" };
    const spec = { ...fn.spec, name: "broken", handler: "chat.broken:missing" };
    const template = dep.spec.template;
    template.metadata.labels["warmpool.dev/function"] = "broken";
    const worker = template.spec.containers[0];
    worker.env = worker.env.map((e: any) => (e.name === "WARMPOOL_HANDLER" ? { ...e, value: spec.handler } : e));
    await cluster.apply({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "broken", namespace: NS, labels },
      spec: { ...dep.spec, replicas: 0, selector: { matchLabels: { ...dep.spec.selector.matchLabels, "warmpool.dev/function": "broken" } }, template },
    });
    await cluster.apply({ apiVersion: "warmpool.dev/v1alpha1", kind: "Function", metadata: { name: "broken", namespace: NS, labels }, spec });
    await eventually("the agent to deploy broken", async () => ((await api("GET", "/v1/apps/chat/functions/broken")).status === 200 ? true : undefined), 30_000);
    const started = Date.now();
    const call = await api("POST", "/v1/apps/chat/functions/broken/call", { args: [] });
    // Well inside its startupTimeout (300 s): the first exit with status 3 ends the wait.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(call.json).toMatchObject({ status: "failed", error: { type: "ContainerStartupError" } });
    expect(call.json.error.traceback).toContain("No module named 'chat.broken'");
    const degraded = await eventually(
      "the Degraded condition",
      async () => ((await cluster.get("functions.warmpool.dev", "broken", "-n", NS)).status?.conditions ?? []).find((c: any) => c.type === "Degraded" && c.status === "True"),
      30_000,
    );
    expect(degraded.message).toContain("No module named 'chat.broken'");
    await cluster.kubectl("delete", "functions.warmpool.dev/broken", "deployment/broken", "-n", NS, "--wait=true");
    await eventually("broken's pods to go", async () => ((await pods("broken")).length === 0 ? true : undefined), 60_000);
  }, 180_000);

  it("pulumi destroy leaves no pod, volume or namespace behind", async () => {
    await project.must("destroy", "--yes", "--skip-preview");
    for (const ns of [NS, SYSTEM]) {
      await eventually(`namespace ${ns} gone`, async () => ((await cluster.exists("namespace", ns)) ? undefined : true), 180_000);
    }
    expect((await cluster.get("pods", "-A")).items).toEqual([]);
    expect((await cluster.get("pvc", "-A")).items).toEqual([]);
    // The kubelet has unmounted and removed every pod volume (secrets, projected tokens, claims).
    let mounts: string[] = [];
    await eventually(
      "no pod volume left on the node",
      async () => {
        mounts = readFileSync("/proc/self/mounts", "utf8")
          .split("\n")
          .filter((l) => l.includes(join(cluster.dir, "node", "kubelet", "root", "pods")));
        return mounts.length === 0 ? true : undefined;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}:\n${mounts.join("\n")}`);
    });
    expect((await cluster.kubectl("get", "crd", "functions.warmpool.dev", "--ignore-not-found", "-o", "name")).stdout.trim()).toBe("");
  }, 600_000);
});
