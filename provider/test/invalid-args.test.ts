/**
 * Every invalid argument fails construction (and so `pulumi preview`) with one error naming the
 * resource, the field, the bad value and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "../src";
import type { AppRef, FunctionRef } from "../src";

const app: AppRef = { name: "chat", environment: "dev", namespace: "chat-dev", runtimeNamespace: "warmpool-system", secrets: [], labels: {}, agentAccess: false };
const fnRef: FunctionRef = { app: "chat", name: "report", namespace: "chat-dev", runtimeNamespace: "warmpool-system" };
const IMAGE = "registry.example.com/chat:1";

type Case = [label: string, build: () => unknown, expected: string];

const fn = (name: string, extra: Partial<warmpool.FunctionArgs>) => () => new warmpool.Function(name, { app, image: IMAGE, handler: "serve:generate", ...extra } as warmpool.FunctionArgs);
const subject = (kind: string, name: string) => `warmpool:index:${kind} "${name}" has 1 invalid field:\n  - `;
const F = (line: string) => subject("Function", "f") + line;

const cases: Case[] = [
  ["handler without a function", fn("f", { handler: "serve" }), F('handler = "serve": must be module:function or module:Class.method')],
  ["unknown runtime", fn("f", { runtime: "ruby" }), F('runtime = "ruby": must be one of "python", "node"')],
  ["GPU count not sold", fn("f", { gpu: "H100:3" }), F('gpu = "H100:3": H100 is sold in counts of 1, 2, 4, 8 per container')],
  ["A10G beyond 4", fn("f", { gpu: "A10G:8" }), F('gpu = "A10G:8": A10G is sold in counts of 1, 2, 4 per container')],
  ["unknown GPU type", fn("f", { gpu: "V100" }), F('gpu = "V100": must be TYPE or TYPE:COUNT with TYPE one of T4, L4, A10G, L40S, A100-40GB, A100-80GB, H100, H200, B200, any')],
  ["fallbacks without a first choice", fn("f", { gpuFallbacks: ["L4"] }), F('gpuFallbacks = ["L4"]: needs a first choice in gpu')],
  ["fallback repeats the first choice", fn("f", { gpu: "H100", gpuFallbacks: ["H100:1"] }), F('gpuFallbacks[0] = "H100:1": repeats gpu (H100)')],
  ["fallback count not sold", fn("f", { gpu: "H100", gpuFallbacks: ["B200:3"] }), F('gpuFallbacks[0] = "B200:3": B200 is sold in counts of 1, 2, 4, 8 per container')],
  ["zero CPU", fn("f", { cpu: 0 }), F("cpu = 0: must be a number greater than 0, at most 192 cores")],
  ["too little memory", fn("f", { memory: 32 }), F("memory = 32: must be an integer from 64 to 2097152 MiB")],
  ["fractional memory", fn("f", { memory: 1536.5 }), F("memory = 1536.5: must be an integer from 64 to 2097152 MiB")],
  ["tiny ephemeral disk", fn("f", { ephemeralDisk: 100 }), F("ephemeralDisk = 100: must be an integer from 512 to 3145728 MiB")],
  ["zero timeout", fn("f", { timeout: 0 }), F("timeout = 0: must be an integer from 1 to 86400 s")],
  ["timeout over 24 h", fn("f", { timeout: 86401 }), F("timeout = 86401: must be an integer from 1 to 86400 s")],
  ["negative startup timeout", fn("f", { startupTimeout: -1 }), F("startupTimeout = -1: must be an integer from 1 to 86400 s")],
  ["too many retries", fn("f", { retries: { maxRetries: 11 } }), F("retries.maxRetries = 11: must be an integer from 0 to 10")],
  ["backoff below 1", fn("f", { retries: { maxRetries: 3, backoffCoefficient: 0.5 } }), F("retries.backoffCoefficient = 0.5: must be a number from 1 to 10")],
  ["initial delay over 60 s", fn("f", { retries: { maxRetries: 3, initialDelay: 61 } }), F("retries.initialDelay = 61: must be a number from 0 to 60 s")],
  ["max delay under 1 s", fn("f", { retries: { maxRetries: 3, maxDelay: 0.5 } }), F("retries.maxDelay = 0.5: must be a number from 1 to 60 s")],
  ["initial delay above max delay", fn("f", { retries: { maxRetries: 3, initialDelay: 30, maxDelay: 10 } }), F("retries.initialDelay = 30: must be at most retries.maxDelay (10)")],
  ["retries without maxRetries", fn("f", { retries: { initialDelay: 2 } as never }), F("retries.maxRetries: is required")],
  ["min above max containers", fn("f", { autoscaler: { minContainers: 5, maxContainers: 2 } }), F("autoscaler.minContainers = 5: must be at most autoscaler.maxContainers (2)")],
  ["buffer above max containers", fn("f", { autoscaler: { bufferContainers: 5, maxContainers: 2 } }), F("autoscaler.bufferContainers = 5: must be at most autoscaler.maxContainers (2)")],
  ["scaledown window under 2 s", fn("f", { autoscaler: { scaledownWindow: 1 } }), F("autoscaler.scaledownWindow = 1: must be an integer from 2 to 86400 s")],
  ["zero max containers", fn("f", { autoscaler: { maxContainers: 0 } }), F("autoscaler.maxContainers = 0: must be an integer from 1 to 1000")],
  ["target above max inputs", fn("f", { concurrency: { maxInputs: 8, targetInputs: 10 } }), F("concurrency.targetInputs = 10: must be at most concurrency.maxInputs (8)")],
  ["max inputs over 1000", fn("f", { concurrency: { maxInputs: 1001 } }), F("concurrency.maxInputs = 1001: must be an integer from 1 to 1000")],
  ["batch over 1000", fn("f", { batching: { maxBatchSize: 1001, waitMs: 10 } }), F("batching.maxBatchSize = 1001: must be an integer from 1 to 1000")],
  ["batch wait over 10 min", fn("f", { batching: { maxBatchSize: 8, waitMs: 600001 } }), F("batching.waitMs = 600001: must be an integer from 0 to 600000 ms")],
  [
    "batching with concurrency",
    fn("f", { batching: { maxBatchSize: 8, waitMs: 10 }, concurrency: { maxInputs: 4 } }),
    F('batching = {"maxBatchSize":8,"waitMs":10}: cannot be combined with concurrency.maxInputs > 1: a batched container runs one batch at a time'),
  ],
  ["env name starting with a digit", fn("f", { env: { "1BAD": "x" } }), F("env.1BAD: is not an allowed key (allowed: letters, digits and '_', not starting with a digit)")],
  ["reserved env prefix", fn("f", { env: { WARMPOOL_PORT: "1" } }), F('env.WARMPOOL_PORT = "1": uses the reserved prefix WARMPOOL_ (the worker runtime sets these)')],
  [
    "unknown field",
    fn("f", { gpus: "H100" } as never),
    F(
      'gpus = "H100": is not a field here; did you mean "gpu"? (allowed: app, name, image, handler, runtime, gpu, gpuFallbacks, cpu, memory, ephemeralDisk, timeout, startupTimeout, retries, secrets, volumes, env, serialization, webPort, autoscaler, concurrency, batching, pool)',
    ),
  ],
  ["malformed image", fn("f", { image: "Not An Image" }), F('image = "Not An Image": must be an OCI image reference such as registry.example.com/team/model:1.2 or repo@sha256:<digest>')],
  [
    "name that is no DNS label",
    fn("LLM_Server", {}),
    `${subject("Function", "LLM_Server")}name = "LLM_Server": must be lowercase letters, digits and '-', starting with a letter, at most 40 characters`,
  ],

  [
    "postgres without its URL",
    () => new warmpool.Runtime("rt", { state: { kind: "postgres" } }),
    `${subject("Runtime", "rt")}state.postgresUrlSecret: is required when state.kind is postgres (the Secret key holding the PostgreSQL URL)`,
  ],
  ["zero pending inputs", () => new warmpool.Runtime("rt", { limits: { maxPendingInputs: 0 } }), `${subject("Runtime", "rt")}limits.maxPendingInputs = 0: must be an integer from 1 to 1000000`],
  ["unknown log level", () => new warmpool.Runtime("rt", { logLevel: "verbose" }), `${subject("Runtime", "rt")}logLevel = "verbose": must be one of "debug", "info", "warn", "error"`],
  [
    "runtime namespace no DNS label",
    () => new warmpool.Runtime("rt", { namespace: "Bad_NS" }),
    `${subject("Runtime", "rt")}namespace = "Bad_NS": must be lowercase letters, digits and '-', starting with a letter, at most 40 characters`,
  ],

  ["unknown environment", () => new warmpool.App("chat", { environment: "qa" }), `${subject("App", "chat")}environment = "qa": must be one of "dev", "staging", "prod"`],
  [
    "label key with a space",
    () => new warmpool.App("chat", { labels: { "cost center": "ml" } }),
    `${subject("App", "chat")}labels.cost center: is not an allowed key (allowed: a string matching ^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$)`,
  ],

  ["eks pool without eks settings", () => new warmpool.GpuPool("p", { kind: "eks", gpu: "H100" }), `${subject("GpuPool", "p")}eks: is required when kind is eks`],
  [
    "karpenter pool of any GPU",
    () => new warmpool.GpuPool("p", { kind: "karpenter", gpu: "any", karpenter: { nodeRole: "r", discoveryTag: "t" } }),
    `${subject("GpuPool", "p")}gpu = "any": must be a concrete GPU type for a karpenter pool (it buys instances of one type)`,
  ],
  ["instance type without that GPU", () => new warmpool.GpuPool("p", { kind: "static", gpu: "H100", nodeSelector: { a: "b" }, instanceTypes: ["g5.xlarge"] }), ""],
  [
    "eks instance type without that GPU",
    () => new warmpool.GpuPool("p", { kind: "eks", gpu: "H100", instanceTypes: ["g5.xlarge"], eks: { clusterName: "c", nodeRoleArn: "r", subnetIds: ["s"] } }),
    `${subject("GpuPool", "p")}instanceTypes[0] = "g5.xlarge": does not carry H100 GPUs (allowed: p5.4xlarge, p5.48xlarge)`,
  ],
  [
    "min nodes above max",
    () => new warmpool.GpuPool("p", { kind: "static", gpu: "L4", nodeSelector: { a: "b" }, minNodes: 5, maxNodes: 2 }),
    `${subject("GpuPool", "p")}minNodes = 5: must be at most maxNodes (2)`,
  ],
  [
    "GPU limit on an eks pool",
    () => new warmpool.GpuPool("p", { kind: "eks", gpu: "L4", maxGpus: 8, eks: { clusterName: "c", nodeRoleArn: "r", subnetIds: ["s"] } }),
    `${subject("GpuPool", "p")}maxGpus = 8: is only allowed when kind is karpenter (use minNodes/maxNodes for eks)`,
  ],
  ["unknown pool kind", () => new warmpool.GpuPool("p", { kind: "gke", gpu: "L4" }), `${subject("GpuPool", "p")}kind = "gke": must be one of "eks", "karpenter", "static"`],
  ["static pool without selector", () => new warmpool.GpuPool("p", { kind: "static", gpu: "L4" }), `${subject("GpuPool", "p")}nodeSelector: is required when kind is static`],

  [
    "efs volume without efs settings",
    () => new warmpool.Volume("v", { app, kind: "efs", accessMode: "ReadWriteMany" }),
    `${subject("Volume", "v")}efs: is required when kind is efs (subnetIds and securityGroupIds of the mount targets)`,
  ],
  [
    "storage class on efs",
    () => new warmpool.Volume("v", { app, kind: "efs", accessMode: "ReadWriteMany", storageClass: "gp3", efs: { subnetIds: ["s"], securityGroupIds: ["g"] } }),
    `${subject("Volume", "v")}storageClass = "gp3": is only allowed when kind is pvc (kind efs brings its own)`,
  ],
  [
    "writable read-only-many volume",
    () => new warmpool.Volume("v", { app, accessMode: "ReadOnlyMany", readOnly: false }),
    `${subject("Volume", "v")}readOnly = false: contradicts accessMode ReadOnlyMany`,
  ],
  ["zero-size volume", () => new warmpool.Volume("v", { app, size: 0 }), `${subject("Volume", "v")}size = 0: must be an integer from 1 to 65536 GiB`],

  ["secret with no source", () => new warmpool.Secret("s", { app }), `${subject("Secret", "s")}values: exactly one of values and awsSecretsManager must be set`],
  [
    "secret key no env name",
    () => new warmpool.Secret("s", { app, values: { "hf-token": "x" } }),
    `${subject("Secret", "s")}values.hf-token: is not an allowed key (allowed: letters, digits and '_', not starting with a digit)`,
  ],

  ["cron minute 61", () => new warmpool.Schedule("s", { function: fnRef, cron: "61 * * * *" }), `${subject("Schedule", "s")}cron = "61 * * * *": is not a valid 5-field cron expression`],
  ["cron and every", () => new warmpool.Schedule("s", { function: fnRef, cron: "0 * * * *", every: "5m" }), `${subject("Schedule", "s")}every = "5m": exactly one of cron and every must be set`],
  ["period in words", () => new warmpool.Schedule("s", { function: fnRef, every: "5 minutes" }), `${subject("Schedule", "s")}every = "5 minutes": must be a positive integer followed by s, m, h or d`],
  [
    "unknown timezone",
    () => new warmpool.Schedule("s", { function: fnRef, cron: "0 2 * * *", timezone: "Mars/Olympus" }),
    `${subject("Schedule", "s")}timezone = "Mars/Olympus": must be an IANA timezone such as Europe/Paris or America/New_York`,
  ],
  ["four-field cron", () => new warmpool.Schedule("s", { function: fnRef, cron: "0 2 * *" }), `${subject("Schedule", "s")}cron = "0 2 * *": must be five space-separated fields, e.g. "0 2 * * *"`],

  [
    "web server without port",
    () => new warmpool.Endpoint("e", { function: fnRef, kind: "webServer" }),
    `${subject("Endpoint", "e")}port: is required when kind is webServer (the port the container listens on)`,
  ],
  ["port on a function endpoint", () => new warmpool.Endpoint("e", { function: fnRef, port: 8080 }), `${subject("Endpoint", "e")}port = 8080: is only allowed when kind is webServer`],
  [
    "relative path",
    () => new warmpool.Endpoint("e", { function: fnRef, path: "v1/chat" }),
    `${subject("Endpoint", "e")}path = "v1/chat": must be a string matching ^/$|^(/(\\.{3,}|\\.*[A-Za-z0-9_~-][A-Za-z0-9._~-]*))+/?$`,
  ],
  [
    "unknown method",
    () => new warmpool.Endpoint("e", { function: fnRef, methods: ["FETCH"] }),
    `${subject("Endpoint", "e")}methods[0] = "FETCH": must be one of "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"`,
  ],
  ["malformed domain", () => new warmpool.Endpoint("e", { function: fnRef, domains: ["not a domain"] }), `${subject("Endpoint", "e")}domains[0] = "not a domain": must be a string matching`],
  ["zero sync timeout", () => new warmpool.Endpoint("e", { function: fnRef, syncTimeout: 0 }), `${subject("Endpoint", "e")}syncTimeout = 0: must be an integer from 1 to 3600 s`],
];

beforeAll(async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, "warmpool-test", "test", true);
});

describe("invalid arguments", () => {
  it("has at least 40 cases", () => {
    expect(cases.filter(([, , expected]) => expected !== "").length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("%s", (_label, build, expected) => {
    if (expected === "") {
      // Static pools describe existing nodes: their instance types are not checked against the catalog.
      expect(build).not.toThrow();
      return;
    }
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow(expected);
  });

  it("reports every problem at once, not only the first", () => {
    const build = fn("f", { gpu: "H100:3", timeout: 0, autoscaler: { minContainers: 3, maxContainers: 2 }, runtime: "ruby", handler: "nope" });
    let message = "";
    try {
      build();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n")).toEqual([
      'warmpool:index:Function "f" has 5 invalid fields:',
      '  - handler = "nope": must be module:function or module:Class.method',
      '  - runtime = "ruby": must be one of "python", "node"',
      "  - timeout = 0: must be an integer from 1 to 86400 s",
      "  - autoscaler.minContainers = 3: must be at most autoscaler.maxContainers (2)",
      '  - gpu = "H100:3": H100 is sold in counts of 1, 2, 4, 8 per container',
    ]);
  });

  it("never echoes secret values in errors", () => {
    const build = () => new warmpool.Secret("s", { app, values: { "bad-key": "sk-live-123" } });
    expect(build).toThrow("values.bad-key");
    expect(build).not.toThrow(/sk-live-123/);
  });
});
