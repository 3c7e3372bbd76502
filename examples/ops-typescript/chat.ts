/**
 * The chat app: what an ML team asks of the platform, declared once and deployed per environment.
 */
import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "warmpool";

/** Where GPU capacity and shared storage come from. */
export interface Capacity {
  /** An EKS cluster to add a GPU node group and an EFS file system to; absent: the GPU nodes a cluster already has. */
  eks?: {
    clusterName: pulumi.Input<string>;
    nodeRoleArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<string>[];
    efsSecurityGroupId: pulumi.Input<string>;
  };
}

export interface ChatInputs extends Capacity {
  environment: string;
  image: pulumi.Input<string>;
  hfToken: pulumi.Input<string>;
  /**
   * A cluster without GPUs (a laptop, the end-to-end suite's real node): the same components with the GPU
   * fields dropped and no GpuPool, requests sized for a two-core node, and, so that one sees them happen
   * within minutes, shorter scale-down windows and the reindex schedule firing every `reindexEvery`.
   */
  cpuOnly?: { scaledownWindow: number; reindexEvery: string };
}

/** The GPU fields of a function, or nothing at all on a CPU-only cluster. */
function onGpu<T extends object>(inputs: ChatInputs, fields: T): T | Record<string, never> {
  return inputs.cpuOnly === undefined ? fields : {};
}

/** CPU and memory as declared, or sized for a two-core node on a CPU-only cluster. */
function sized<T extends { cpu?: number; memory?: number }>(inputs: ChatInputs, declared: T): T | { cpu: number; memory: number } {
  return inputs.cpuOnly === undefined ? declared : { cpu: 0.1, memory: 256 };
}

export function chat(inputs: ChatInputs) {
  const runtime = new warmpool.Runtime("warmpool", { limits: { maxPendingInputs: 2000 } });

  const eks = inputs.eks;
  const window = (seconds: number): number => inputs.cpuOnly?.scaledownWindow ?? seconds;
  const h100 =
    inputs.cpuOnly !== undefined
      ? undefined
      : new warmpool.GpuPool(
          "h100",
          eks === undefined
            ? { kind: "static", gpu: "H100", nodeSelector: { "warmpool.dev/gpu": "H100" } }
            : {
                kind: "eks",
                gpu: "H100",
                capacityType: "onDemand",
                minNodes: 0,
                maxNodes: 2,
                eks: { clusterName: eks.clusterName, nodeRoleArn: eks.nodeRoleArn, subnetIds: eks.subnetIds },
              },
        );

  // apiToken: the App's pods get the agent's URL and a token for this App only, so that its functions
  // can call each other (warmpool.Function.from_name("chat", ...).remote(...) inside a handler).
  const app = new warmpool.App("chat", { environment: inputs.environment, image: inputs.image, labels: { team: "ml-platform" }, apiToken: runtime.apiToken });

  const hf = new warmpool.Secret("huggingface", { app: app.ref, values: { HF_TOKEN: inputs.hfToken } });

  const weights = new warmpool.Volume(
    "weights",
    eks === undefined
      ? { app: app.ref, kind: "pvc", accessMode: "ReadWriteOnce", size: 500 }
      : { app: app.ref, kind: "efs", accessMode: "ReadWriteMany", size: 500, efs: { subnetIds: eks.subnetIds, securityGroupIds: [eks.efsSecurityGroupId] } },
  );

  // The LLM server: scale to zero, at most 4 H100 containers, one spare while busy.
  const llm = new warmpool.Function("llm", {
    app: app.ref,
    handler: "chat.server:Model.generate",
    ...onGpu(inputs, { gpu: "H100", pool: h100?.ref }),
    ...sized(inputs, { cpu: 8, memory: 65536 }),
    timeout: 600,
    startupTimeout: 900,
    secrets: [hf.ref],
    volumes: { "/models": weights.ref },
    env: { MODEL_ID: "meta-llama/Llama-3.1-8B-Instruct" },
    autoscaler: { minContainers: 0, maxContainers: 4, bufferContainers: 1, scaledownWindow: window(300) },
    concurrency: { maxInputs: 8, targetInputs: 6 },
    retries: { maxRetries: 2, backoffCoefficient: 2, initialDelay: 1, maxDelay: 10 },
  });

  // Batch embeddings: up to 64 texts per call of the handler, never waiting more than 20 ms for them.
  const embed = new warmpool.Function("embed", {
    app: app.ref,
    handler: "chat.embeddings:embed",
    ...onGpu(inputs, { gpu: "L4" }),
    ...sized(inputs, { memory: 8192 }),
    batching: { maxBatchSize: 64, waitMs: 20 },
    autoscaler: { maxContainers: 2, scaledownWindow: window(120) },
  });

  const reindex = new warmpool.Function("reindex", {
    app: app.ref,
    handler: "chat.jobs:reindex",
    ...sized(inputs, { cpu: 2, memory: 4096 }),
    timeout: 3600,
    volumes: { "/models": weights.ref },
    retries: { maxRetries: 3 },
  });

  new warmpool.Schedule("nightly-reindex", {
    function: reindex.ref,
    ...(inputs.cpuOnly === undefined ? { cron: "30 2 * * *", timezone: "America/New_York" } : { every: inputs.cpuOnly.reindexEvery }),
    kwargs: { full: true },
  });

  const api = new warmpool.Endpoint("chat-api", { function: llm.ref, path: "/v1/chat", methods: ["POST"], domains: ["chat.example.com"] });

  // The chat UI serves HTTP itself on port 8080; the agent proxies /web/chat/ui (and its WebSockets) to it.
  const ui = new warmpool.Function("ui", {
    app: app.ref,
    handler: "chat.ui:serve",
    webPort: 8080,
    ...sized(inputs, {}),
    autoscaler: { maxContainers: 2, ...(inputs.cpuOnly === undefined ? {} : { scaledownWindow: window(60) }) },
  });
  const uiRoute = new warmpool.Endpoint("chat-ui", { function: ui.ref, kind: "webServer", port: 8080, path: "/ui", methods: ["GET", "POST"] });

  return { runtime, app, llm, embed, ui, api, uiRoute, h100 };
}
