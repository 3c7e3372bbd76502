/**
 * `pulumi up` of the root Pulumi.yaml (a Pulumi YAML program using the warmpool package straight
 * from ./provider, run through the Node.js language host's RunPlugin) against a real API server:
 * the Function/Schedule/Endpoint resources and worker Deployments exist with the right fields, the
 * secret stays out of the state in plain text, bad arguments fail `pulumi preview` with the
 * component's message, and `pulumi destroy` leaves nothing behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Project, REPO, eventually, toolchainBin } from "./harness";

const HF_TOKEN = "hf_e2e_yaml_do_not_leak_51d9a7";
const cluster = new Cluster(toolchainBin()!);
const project = new Project(REPO, cluster);
const badDir = mkdtempSync(join(tmpdir(), "warmpool-e2e-yaml-bad-"));
const bad = new Project(badDir, cluster);

beforeAll(async () => {
  await cluster.start();
  await cluster.addVolume("e2e-yaml-agent-state", "10Gi");
  await cluster.addVolume("e2e-yaml-weights", "500Gi");
  await project.must("stack", "init", "e2e-yaml");
  await project.must("config", "set", "--secret", "hfToken", HF_TOKEN);
}, 300_000);

afterAll(async () => {
  // The stack's config file lands next to the root Pulumi.yaml: remove it with the stack.
  await project.pulumi("stack", "rm", "--yes", "--force", "e2e-yaml");
  rmSync(join(REPO, "Pulumi.e2e-yaml.yaml"), { force: true });
  await cluster.stop();
  project.cleanup();
  bad.cleanup();
  rmSync(badDir, { recursive: true, force: true });
}, 120_000);

describe("the root Pulumi.yaml on a real API server", () => {
  it("pulumi up creates the functions, schedule, endpoint and workers", async () => {
    await project.must("up", "--yes", "--skip-preview");

    const functions = await cluster.get("functions.warmpool.dev", "-n", "chat-dev");
    expect(functions.items.map((f: any) => f.metadata.name).sort()).toEqual(["embed", "llm", "reindex"]);
    const llm = functions.items.find((f: any) => f.metadata.name === "llm");
    expect(llm.spec).toMatchObject({
      app: "chat",
      gpu: "H100",
      image: "registry.example.com/chat/server:1.4.0",
      autoscaler: { minContainers: 0, maxContainers: 4, bufferContainers: 1 },
      concurrency: { maxInputs: 8, targetInputs: 6 },
    });
    expect(functions.items.find((f: any) => f.metadata.name === "embed").spec).toMatchObject({ gpu: "L4", batching: { maxBatchSize: 64, waitMs: 20 } });
    expect((await cluster.get("schedules.warmpool.dev", "nightly-reindex", "-n", "chat-dev")).spec).toMatchObject({ function: "reindex", cron: "30 2 * * *", timezone: "America/New_York" });
    expect((await cluster.get("endpoints.warmpool.dev", "chat-api", "-n", "chat-dev")).spec).toMatchObject({ function: "llm", path: "/v1/chat" });

    const worker = await cluster.get("deployment", "llm", "-n", "chat-dev");
    const pod = worker.spec.template.spec;
    expect(worker.spec.replicas).toBe(0);
    expect(pod.nodeSelector).toEqual({ "warmpool.dev/gpu": "H100" });
    expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(pod.containers[0].image).toBe("registry.example.com/chat/server:1.4.0");
    expect(pod.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: "warmpool-agent-access" } }, { secretRef: { name: "huggingface" } }]);
    expect(pod.containers[0].env).toContainEqual({ name: "MODEL_ID", value: "meta-llama/Llama-3.1-8B-Instruct" });
    expect(pod.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ mountPath: "/models" }));
    expect((await cluster.get("deployment", "embed", "-n", "chat-dev")).spec.template.spec.nodeSelector).toEqual({ "warmpool.dev/gpu": "L4" });
    const reindex = (await cluster.get("deployment", "reindex", "-n", "chat-dev")).spec.template.spec;
    expect(reindex.tolerations ?? []).not.toContainEqual(expect.objectContaining({ key: "nvidia.com/gpu" }));
    await eventually("the weights claim to be bound", async () => ((await cluster.get("pvc", "weights", "-n", "chat-dev")).status.phase === "Bound" ? true : undefined));

    const secret = await cluster.get("secret", "huggingface", "-n", "chat-dev");
    expect(Buffer.from(secret.data.HF_TOKEN, "base64").toString()).toBe(HF_TOKEN);
    const state = project.stateText("e2e-yaml");
    expect(state).not.toContain(HF_TOKEN);
    expect(state).not.toContain(Buffer.from(HF_TOKEN).toString("base64"));
    // The App's token for its pods (apiToken: ${runtime.apiToken}): in the App's Secret, never plain in state.
    const access = await cluster.get("secret", "warmpool-agent-access", "-n", "chat-dev");
    const appTokenValue = Buffer.from(access.data.WARMPOOL_TOKEN, "base64").toString();
    expect(appTokenValue).toMatch(/^wpa_[0-9a-f]{64}_Y2hhdA$/);
    expect(Buffer.from(access.data.WARMPOOL_URL, "base64").toString()).toBe("http://warmpool-agent.warmpool-system.svc.cluster.local");
    expect(state).not.toContain(appTokenValue);

    const outputs = JSON.parse(await project.must("stack", "output", "--json"));
    expect(outputs).toMatchObject({ namespace: "chat-dev", chatPath: "/web/chat/v1/chat" });
  }, 600_000);

  it("bad arguments fail pulumi preview with the component's message", async () => {
    writeFileSync(
      join(badDir, "Pulumi.yaml"),
      [
        "name: warmpool-bad",
        "runtime: yaml",
        "packages:",
        `  warmpool: ${join(REPO, "provider")}`,
        "resources:",
        "  app:",
        "    type: warmpool:index:App",
        "  x:",
        "    type: warmpool:index:Function",
        "    properties:",
        "      app: ${app.ref}",
        "      handler: chat.server:generate",
        "      gpu: V100",
        "",
      ].join("\n"),
    );
    await bad.must("stack", "init", "bad");
    const preview = await bad.pulumi("preview");
    const output = preview.stdout + preview.stderr;
    expect(preview.code).not.toBe(0);
    expect(output).toContain('warmpool:index:Function "x" has 1 invalid field:');
    expect(output).toContain('gpu = "V100": must be TYPE or TYPE:COUNT with TYPE one of');
  }, 600_000);

  it("pulumi destroy leaves nothing behind", async () => {
    await project.must("destroy", "--yes", "--skip-preview");
    await eventually("the App namespace to be gone", async () => ((await cluster.exists("namespace", "chat-dev")) ? undefined : true), 120_000);
    await eventually("the runtime namespace to be gone", async () => ((await cluster.exists("namespace", "warmpool-system")) ? undefined : true), 120_000);
    expect(await cluster.exists("crd", "functions.warmpool.dev")).toBe(false);
    expect(await cluster.exists("clusterrole", "warmpool-agent-warmpool-system")).toBe(false);
    const stack = JSON.parse(await project.must("stack", "export"));
    expect(stack.deployment.resources ?? []).toEqual([]);
  }, 600_000);
});
