/**
 * `pulumi up` of examples/ops-typescript against a real API server: every object the components
 * declare exists with the right fields; secrets stay out of the state in plain text; a second
 * `pulumi up` leaves the agent's replicas alone; a changed field updates in place; the function behind
 * the webServer endpoint listens on its port in its pods; `pulumi destroy` leaves nothing behind.
 */
import { join } from "node:path";
import { Cluster, Project, REPO, eventually, toolchainBin } from "./harness";

const HF_TOKEN = "hf_e2e_do_not_leak_8f2c41";
const cluster = new Cluster(toolchainBin()!);
const project = new Project(join(REPO, "examples", "ops-typescript"), cluster);

beforeAll(async () => {
  await cluster.start();
  await cluster.addVolume("e2e-agent-state", "10Gi");
  await cluster.addVolume("e2e-weights", "500Gi");
  await project.must("stack", "init", "e2e");
  await project.must("config", "set", "environment", "dev");
  await project.must("config", "set", "--secret", "hfToken", HF_TOKEN);
}, 300_000);

afterAll(async () => {
  await cluster.stop();
  project.cleanup();
}, 120_000);

describe("examples/ops-typescript on a real API server", () => {
  it("pulumi up creates every declared object", async () => {
    await project.must("up", "--yes", "--skip-preview");

    const crds = await cluster.get("crd");
    expect(crds.items.map((c: any) => c.metadata.name)).toEqual(expect.arrayContaining(["functions.warmpool.dev", "schedules.warmpool.dev", "endpoints.warmpool.dev"]));

    const functions = await cluster.get("functions.warmpool.dev", "-n", "chat-dev");
    expect(functions.items.map((f: any) => f.metadata.name).sort()).toEqual(["embed", "llm", "reindex", "ui"]);
    const llm = functions.items.find((f: any) => f.metadata.name === "llm");
    expect(llm.spec).toMatchObject({ app: "chat", gpu: "H100", autoscaler: { minContainers: 0, maxContainers: 4, bufferContainers: 1 }, concurrency: { maxInputs: 8, targetInputs: 6 } });
    expect((await cluster.get("schedules.warmpool.dev", "nightly-reindex", "-n", "chat-dev")).spec).toMatchObject({ cron: "30 2 * * *", timezone: "America/New_York" });
    expect((await cluster.get("endpoints.warmpool.dev", "chat-api", "-n", "chat-dev")).spec).toMatchObject({ function: "llm", path: "/v1/chat" });

    const worker = await cluster.get("deployment", "llm", "-n", "chat-dev");
    const pod = worker.spec.template.spec;
    expect(worker.spec.replicas).toBe(0);
    expect(pod.nodeSelector).toEqual({ "warmpool.dev/gpu": "H100" });
    expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(pod.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    // The agent's URL and the App's token first (the App has the Runtime's apiToken), then the App's own Secret.
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: "warmpool-agent-access" } }, { secretRef: { name: "huggingface" } }]);
    expect(pod.containers[0].env.map((e: any) => e.name)).not.toContain("WARMPOOL_WEB_PORT");
    expect(pod.containers[0].ports.map((p: any) => p.name)).toEqual(["worker"]);

    // The webServer endpoint's function serves HTTP itself: its pods start the server on the endpoint's port and declare it.
    expect((await cluster.get("endpoints.warmpool.dev", "chat-ui", "-n", "chat-dev")).spec).toMatchObject({ function: "ui", kind: "webServer", port: 8080, path: "/ui" });
    const ui = (await cluster.get("deployment", "ui", "-n", "chat-dev")).spec.template.spec.containers;
    expect(ui.map((c: any) => c.name)).toEqual(["worker"]);
    expect(ui[0].env).toContainEqual({ name: "WARMPOOL_WEB_PORT", value: "8080" });
    expect(ui[0].ports).toContainEqual({ name: "web", containerPort: 8080, protocol: "TCP" });
    expect(ui[0].ports).toContainEqual({ name: "worker", containerPort: 8000, protocol: "TCP" });

    const role = await cluster.get("role", "warmpool-agent", "-n", "chat-dev");
    expect(role.rules.flatMap((r: any) => r.resources)).not.toContain("secrets");
    expect(await cluster.exists("clusterrolebinding", "warmpool-agent-warmpool-system")).toBe(true);
    await eventually("the agent Deployment to be available", async () => {
      const agent = await cluster.get("deployment", "warmpool-agent", "-n", "warmpool-system");
      return agent.status.availableReplicas === 1 ? agent : undefined;
    });

    const secret = await cluster.get("secret", "huggingface", "-n", "chat-dev");
    expect(Buffer.from(secret.data.HF_TOKEN, "base64").toString()).toBe(HF_TOKEN);
    const state = project.stateText("e2e");
    expect(state).not.toContain(HF_TOKEN);
    expect(state).not.toContain(Buffer.from(HF_TOKEN).toString("base64"));
  }, 600_000);

  it("a second pulumi up changes nothing, even after the agent scaled a function", async () => {
    const scaled = await cluster.kubectl("scale", "deployment/llm", "-n", "chat-dev", "--replicas=2");
    expect(scaled.code).toBe(0);
    expect((await cluster.kubectl("scale", "deployment/ui", "-n", "chat-dev", "--replicas=1")).code).toBe(0);
    const preview = await project.pulumi("preview", "--expect-no-changes", "--diff");
    expect([preview.code, preview.stdout + preview.stderr]).toEqual([0, expect.any(String)]);
    await project.must("up", "--yes", "--skip-preview");
    expect((await cluster.get("deployment", "llm", "-n", "chat-dev")).spec.replicas).toBe(2);
    const ui = await cluster.get("deployment", "ui", "-n", "chat-dev");
    expect(ui.spec.replicas).toBe(1);
    expect(ui.spec.template.spec.containers[0].env).toContainEqual({ name: "WARMPOOL_WEB_PORT", value: "8080" });
    expect(ui.spec.template.spec.containers[0].ports).toContainEqual({ name: "web", containerPort: 8080, protocol: "TCP" });
  }, 600_000);

  it("a changed field updates the worker Deployment in place", async () => {
    const before = await cluster.get("deployment", "llm", "-n", "chat-dev");
    await project.must("config", "set", "image", "registry.example.com/chat/server:1.5.0");
    const output = await project.must("up", "--yes", "--skip-preview");
    expect(output).not.toMatch(/replaced|replace\b/);
    const after = await cluster.get("deployment", "llm", "-n", "chat-dev");
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec.template.spec.containers[0].image).toBe("registry.example.com/chat/server:1.5.0");
    expect(after.spec.replicas).toBe(2);
    expect((await cluster.get("functions.warmpool.dev", "llm", "-n", "chat-dev")).spec.image).toBe("registry.example.com/chat/server:1.5.0");
    const ui = (await cluster.get("deployment", "ui", "-n", "chat-dev")).spec.template.spec.containers[0];
    expect(ui.image).toBe("registry.example.com/chat/server:1.5.0");
    expect(ui.env).toContainEqual({ name: "WARMPOOL_WEB_PORT", value: "8080" });
  }, 600_000);

  it("bad arguments fail pulumi preview with the component's message", async () => {
    await project.must("config", "set", "environment", "qa");
    const preview = await project.pulumi("preview");
    await project.must("config", "set", "environment", "dev");
    expect(preview.code).not.toBe(0);
    expect(preview.stdout + preview.stderr).toContain('warmpool:index:App "chat" has 1 invalid field:');
    expect(preview.stdout + preview.stderr).toContain('environment = "qa": must be one of "dev", "staging", "prod"');
  }, 600_000);

  it("pulumi destroy leaves nothing behind", async () => {
    await project.must("destroy", "--yes", "--skip-preview");
    await eventually("the App namespace to be gone", async () => ((await cluster.exists("namespace", "chat-dev")) ? undefined : true), 120_000);
    expect(await cluster.exists("crd", "functions.warmpool.dev")).toBe(false);
    expect(await cluster.exists("crd", "endpoints.warmpool.dev")).toBe(false);
    expect(await cluster.exists("clusterrole", "warmpool-agent-warmpool-system")).toBe(false);
    await eventually("the runtime namespace to be gone", async () => ((await cluster.exists("namespace", "warmpool-system")) ? undefined : true), 120_000);
    const stack = JSON.parse(await project.must("stack", "export"));
    expect(stack.deployment.resources ?? []).toEqual([]);
  }, 600_000);
});
