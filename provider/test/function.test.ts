import * as pulumi from "@pulumi/pulumi";
import { appToken } from "@warmpool/schema";
import * as warmpool from "../src";
import { render, valueOf, type Rendered } from "./render";

const IMAGE = "registry.example.com/chat@sha256:abc123";

function podOf(out: Rendered): any {
  return out.one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
}

describe("Function", () => {
  it("renders the Function resource and a GPU worker Deployment", async () => {
    let fn!: warmpool.Function;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { environment: "prod", image: IMAGE }, opts);
      const pool = new warmpool.GpuPool("h100", { kind: "static", gpu: "H100", nodeSelector: { "node.example.com/gpu": "h100" } }, opts);
      fn = new warmpool.Function(
        "llm",
        {
          app: app.ref,
          handler: "serve:Model.generate",
          gpu: "H100:2",
          pool: pool.ref,
          timeout: 600,
          autoscaler: { minContainers: 1, maxContainers: 4, bufferContainers: 1 },
          concurrency: { maxInputs: 8, targetInputs: 6 },
        },
        opts,
      );
    });
    const cr = out.one("kubernetes:warmpool.dev/v1alpha1:Function");
    expect(cr.inputs.metadata).toMatchObject({ name: "llm", namespace: "chat-prod" });
    expect(cr.inputs.spec).toMatchObject({
      app: "chat",
      name: "llm",
      image: IMAGE,
      gpu: "H100:2",
      pool: "h100",
      timeout: 600,
      startupTimeout: 600,
      concurrency: { maxInputs: 8, targetInputs: 6 },
      autoscaler: { minContainers: 1, maxContainers: 4, bufferContainers: 1, scaledownWindow: 60 },
    });

    const deployment = out.one("kubernetes:apps/v1:Deployment").inputs;
    expect(deployment.metadata.labels).toMatchObject({ "warmpool.dev/app": "chat", "warmpool.dev/environment": "prod", "app.kubernetes.io/name": "llm" });
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.selector.matchLabels).toEqual({ "warmpool.dev/app": "chat", "warmpool.dev/function": "llm" });
    const pod = deployment.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(600);
    expect(pod.nodeSelector).toEqual({ "node.example.com/gpu": "h100" });
    expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.shareProcessNamespace).toBe(true);
    // A start failure's output reaches the agent through the Pod's status (no pods/log access needed).
    expect(pod.containers[0].terminationMessagePolicy).toBe("FallbackToLogsOnError");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const container = pod.containers[0];
    expect(container.image).toBe(IMAGE);
    expect(container.resources.limits["nvidia.com/gpu"]).toBe("2");
    expect(container.resources.requests).toMatchObject({ cpu: "125m", memory: "128Mi", "nvidia.com/gpu": "2" });
    expect(container.command).toEqual(["python", "-m", "warmpool.worker"]);
    expect(container.env).toContainEqual({ name: "WARMPOOL_HANDLER", value: "serve:Model.generate" });
    expect(container.env).toContainEqual({ name: "WARMPOOL_MAX_INPUTS", value: "8" });
    expect(container.env).toContainEqual({ name: "WARMPOOL_BATCH_SIZE", value: "0" });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(container.readinessProbe.httpGet.path).toBe("/ready");
    expect(container.startupProbe.failureThreshold).toBe(600);

    const options = out.construction("kubernetes:apps/v1:Deployment").opts;
    expect(options.ignoreChanges).toContain("spec.replicas");
    expect(await valueOf(fn.ref)).toEqual({ app: "chat", name: "llm", namespace: "chat-prod", runtimeNamespace: "warmpool-system" });
    expect((await valueOf(fn.spec)).concurrency?.targetInputs).toBe(6);
  });

  it("selects GPU nodes by type, with fallbacks as ordered node affinity", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      new warmpool.Function("llm", { app: app.ref, handler: "serve:generate", gpu: "H100", gpuFallbacks: ["A100-80GB"] }, opts);
    });
    const pod = podOf(out);
    expect(pod.nodeSelector).toBeUndefined();
    const affinity = pod.affinity.nodeAffinity;
    expect(affinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: "warmpool.dev/gpu", operator: "In", values: ["H100", "A100-80GB"] });
    const weights = affinity.preferredDuringSchedulingIgnoredDuringExecution.map((p: any) => [p.preference.matchExpressions[0].values[0], p.weight]);
    expect(weights[0][0]).toBe("H100");
    expect(weights[0][1]).toBeGreaterThan(weights[1][1]);
  });

  it("pins a single GPU type with a node selector and tolerates the pool taint", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      const pool = new warmpool.GpuPool("l4", { kind: "karpenter", gpu: "L4", maxGpus: 16, karpenter: { nodeRole: "nodes", discoveryTag: "prod" } }, opts);
      new warmpool.Function("embed", { app: app.ref, handler: "embed:run", gpu: "L4", pool: pool.ref }, opts);
    });
    const pod = podOf(out);
    expect(pod.nodeSelector).toEqual({ "warmpool.dev/pool": "l4", "warmpool.dev/gpu": "L4" });
    expect(pod.tolerations).toContainEqual({ key: "warmpool.dev/pool", operator: "Equal", value: "l4", effect: "NoSchedule" });
  });

  it("runs a CPU function without GPU resources, selectors or tolerations", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("etl", { image: IMAGE }, opts);
      new warmpool.Function("nightly", { app: app.ref, handler: "jobs.etl:run", runtime: "node", cpu: 2, memory: 4096, ephemeralDisk: 20480 }, opts);
    });
    const pod = podOf(out);
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
    const container = pod.containers[0];
    expect(container.command).toEqual(["node", "/app/node_modules/@warmpool/worker/worker.js"]);
    expect(container.resources).toEqual({
      requests: { cpu: "2000m", memory: "4096Mi", "ephemeral-storage": "20480Mi" },
      limits: { memory: "4096Mi", "ephemeral-storage": "20480Mi" },
    });
    expect(out.one("kubernetes:apps/v1:Deployment").inputs.spec.replicas).toBe(0);
  });

  it("takes secrets by reference only, mounts volumes and passes declared env", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE, secrets: ["shared"] }, opts);
      const token = new warmpool.Secret("hf", { app: app.ref, values: { HF_TOKEN: "hf_abc" } }, opts);
      const weights = new warmpool.Volume("weights", { app: app.ref, size: 100, accessMode: "ReadOnlyMany" }, opts);
      new warmpool.Function(
        "llm",
        {
          app: app.ref,
          handler: "serve:generate",
          secrets: [token.ref],
          volumes: { "/models": weights.ref },
          env: { MODEL: "llama" },
          batching: { maxBatchSize: 32, waitMs: 50 },
        },
        opts,
      );
    });
    const deployment = out.one("kubernetes:apps/v1:Deployment").inputs;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.envFrom).toEqual([{ secretRef: { name: "shared" } }, { secretRef: { name: "hf" } }]);
    expect(JSON.stringify(deployment)).not.toContain("hf_abc");
    expect(container.env).toContainEqual({ name: "MODEL", value: "llama" });
    expect(container.env).toContainEqual({ name: "WARMPOOL_BATCH_SIZE", value: "32" });
    expect(container.volumeMounts).toEqual([{ name: "volume-0", mountPath: "/models", readOnly: true }]);
    expect(deployment.spec.template.spec.volumes).toEqual([{ name: "volume-0", persistentVolumeClaim: { claimName: "weights", readOnly: true } }]);
    const spec = out.one("kubernetes:warmpool.dev/v1alpha1:Function").inputs.spec;
    expect(spec).toMatchObject({ secrets: ["hf"], volumes: { "/models": "weights" }, batching: { maxBatchSize: 32, waitMs: 50 } });
  });

  it("gives the pods the agent's URL and the App's own token when the App has the Runtime's apiToken, by reference only", async () => {
    const admin = "wp_admin-token-of-the-runtime";
    const out = await render((opts) => {
      const runtime = new warmpool.Runtime("warmpool", {}, opts);
      const app = new warmpool.App("chat", { image: IMAGE, secrets: ["shared"], apiToken: pulumi.secret(admin), runtimeNamespace: runtime.namespace }, opts);
      new warmpool.Function("llm", { app: app.ref, handler: "serve:generate" }, opts);
    });
    const secret = out.one("kubernetes:core/v1:Secret", "chat-agent-access").inputs;
    expect(secret.metadata).toMatchObject({ name: "warmpool-agent-access", namespace: "chat-dev" });
    // The App's token, derived from the admin token exactly as the agent checks it; never the admin token.
    // Marked secret in state (Pulumi's secret signature around the value).
    expect(secret.stringData).toEqual({
      [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
      value: { WARMPOOL_URL: "http://warmpool-agent.warmpool-system.svc.cluster.local", WARMPOOL_TOKEN: appToken(admin, "chat") },
    });
    expect(JSON.stringify(secret)).not.toContain(admin);
    const deployment = out.one("kubernetes:apps/v1:Deployment", "llm-worker").inputs;
    const container = deployment.spec.template.spec.containers[0];
    // First, so that an App's own Secret of the same names wins (the later envFrom entry).
    expect(container.envFrom).toEqual([{ secretRef: { name: "warmpool-agent-access" } }, { secretRef: { name: "shared" } }]);
    expect(JSON.stringify(deployment)).not.toContain(appToken(admin, "chat"));
  });

  it("renders no agent access without the apiToken, and takes another agentUrl", async () => {
    const without = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      new warmpool.Function("llm", { app: app.ref, handler: "serve:generate" }, opts);
    });
    expect(without.ofType("kubernetes:core/v1:Secret")).toEqual([]);
    expect(without.one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].envFrom).toEqual([]);
    const other = await render((opts) => new warmpool.App("chat", { image: IMAGE, apiToken: "t", agentUrl: "http://10.0.0.20" }, opts));
    expect(other.one("kubernetes:core/v1:Secret").inputs.stringData.value.WARMPOOL_URL).toBe("http://10.0.0.20");
  });

  it("inherits the App's image unless it has its own", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      new warmpool.Function("a", { app: app.ref, handler: "m:f" }, opts);
      new warmpool.Function("b", { app: app.ref, handler: "m:f", image: "registry.example.com/other:2" }, opts);
    });
    const images = Object.fromEntries(out.ofType("kubernetes:apps/v1:Deployment").map((d) => [d.inputs.metadata.name, d.inputs.spec.template.spec.containers[0].image]));
    expect(images).toEqual({ a: IMAGE, b: "registry.example.com/other:2" });
  });
});
