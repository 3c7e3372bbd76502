/**
 * The provider–agent contract (schema/src/contract.ts), checked from both ends: every container the
 * components render is parsed by what runs it in the cluster. The agent Deployment's arguments go through
 * the agent's own commander program (agent/src/cli/main.ts) and its option mapping, the agent image's
 * ENTRYPOINT/CMD and ENV too; each worker container's environment goes through the Python and the Node
 * runtimes' own config readers (warmpool/config.py, lib/config.js), its command and app dir are checked
 * against the runtimes' packages and the Python image. A flag, an environment name, a port or a label
 * changed on one side only fails here. Also: no WARMPOOL_* name is typed anywhere but the contract.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import {
  AGENT_ACCESS_SECRET,
  AGENT_ENV,
  AGENT_FLAGS,
  AGENT_PORT,
  CLASS_INSTANCES_PER_CONTAINER,
  CLIENT_ENV,
  LABELS,
  WORKER_APP_DIR,
  WORKER_CLIENT_ENV,
  WORKER_COMMANDS,
  WORKER_ENV,
  WORKER_PORT,
  appToken,
  checkSpec,
  type FunctionSpec,
} from "@warmpool/schema";
import { TOKEN_KEY, TOKEN_SECRET, agentDeploymentSpec } from "warmpool/dist/render/agent";
import { workerDeploymentSpec } from "warmpool/dist/render/worker";
import { agentAccessData, defaultAgentUrl } from "warmpool/dist/render/agent-access";
import { program } from "../src/cli/main";
import { agentOptions, type ServeFlags } from "../src/cli/serve";
import { podSelector } from "../src/backends/kubernetes/resources";
import { principalCheck } from "../src/token";

const AGENT = join(__dirname, "..");
const REPO = join(AGENT, "..");
const RUNTIMES = join(AGENT, "runtimes");

/** Parses `argv` (what follows the agent binary) with the real program; resolves with the agent command's flags. */
async function parseAgent(argv: string[]): Promise<ServeFlags> {
  let flags: ServeFlags | undefined;
  const agent = program.commands.find((c) => c.name() === "agent")!;
  const quiet = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  };
  quiet(program);
  program.commands.forEach(quiet);
  // The real action starts the agent; the contract is what reaches it.
  agent.action((f: ServeFlags) => {
    flags = f;
  });
  await program.parseAsync(argv, { from: "user" });
  if (flags === undefined) throw new Error(`${argv.join(" ")} did not run \`warmpool agent\``);
  return flags;
}

/** Dockerfile instructions as [keyword, rest], continuation lines joined. */
function dockerfile(path: string): Array<[string, string]> {
  return readFileSync(path, "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
    .map((l) => {
      const [keyword, ...rest] = l.trim().split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(" ")];
    });
}
const instruction = (file: Array<[string, string]>, keyword: string): string[] => file.filter(([k]) => k === keyword).map(([, rest]) => rest);
/** `ENV A=1 B=2` → names. */
const envNames = (file: Array<[string, string]>): string[] => instruction(file, "ENV").flatMap((rest) => [...rest.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!));

function runtimeSpec(input: object) {
  const checked = checkSpec("Runtime", input);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

function functionSpec(input: object): FunctionSpec {
  const checked = checkSpec("Function", { app: "demo", name: "fn", ...input });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.spec;
}

/** A rendered Deployment's pod template: plain values here (the components render no Outputs into it). */
function template(deployment: { template: unknown }): { spec?: unknown; metadata?: { labels?: unknown } } {
  return deployment.template as { spec?: unknown; metadata?: { labels?: unknown } };
}

const APP = {
  name: "demo",
  environment: "dev",
  namespace: "demo-dev",
  runtimeNamespace: "warmpool-system",
  secrets: [],
  labels: { [LABELS.app]: "demo", [LABELS.environment]: "dev" },
  agentAccess: false,
};

describe("the agent's Deployment, as the Runtime renders it, parsed by the agent's own CLI", () => {
  const spec = runtimeSpec({ logLevel: "debug", limits: { maxPendingInputs: 123, payloadLimit: 7, resultTtl: 600 } });
  const pod = template(agentDeploymentSpec(spec, "ghcr.io/warmpool/agent:test", {})).spec as any;
  const container = pod.containers[0];
  const image = dockerfile(join(AGENT, "Dockerfile"));

  it("runs `warmpool agent` with every rendered flag known, and means what the pod provides", async () => {
    // No command: the image's ENTRYPOINT runs the bundle of agent/src/cli/main.ts with the rendered args.
    expect(container.command).toBeUndefined();
    expect(JSON.parse(instruction(image, "ENTRYPOINT")[0]!)).toEqual(["node", "/opt/warmpool/warmpool.js"]);
    expect(readFileSync(join(AGENT, "scripts", "bundle.mjs"), "utf8")).toMatch(/entryPoints: \[join\(agent, "src", "cli", "main\.ts"\)\][^]*"warmpool\.js"/);

    const flags = await parseAgent(container.args);
    expect(flags.backend).toBe("kubernetes");
    const options = agentOptions({ ...flags, tokenFile: undefined }, {});
    const port = container.ports.find((p: any) => p.name === "http").containerPort;
    expect(options).toMatchObject({ host: "0.0.0.0", port, maxPendingInputs: 123, payloadLimitMiB: 7, resultTtl: 600, logLevel: "debug" });
    expect(port).toBe(AGENT_PORT);
    // The state directory is the state volume's mount; the token file is the token Secret's key in its mount.
    const mountOf = (volume: (v: any) => boolean) => container.volumeMounts.find((m: any) => m.name === pod.volumes.find(volume).name).mountPath;
    expect(options.stateDir).toBe(mountOf((v) => v.persistentVolumeClaim !== undefined));
    expect(flags.tokenFile).toBe(`${mountOf((v) => v.secret?.secretName === TOKEN_SECRET)}/${TOKEN_KEY}`);
  });

  it("takes the API token from --token-file", async () => {
    const root = mkdtempSync(join(tmpdir(), "warmpool-contract-"));
    try {
      const flags = await parseAgent(container.args);
      const file = join(root, flags.tokenFile!);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, "s3cret-token\n", { mode: 0o400 });
      expect(agentOptions({ ...flags, tokenFile: file }, {}).token).toBe("s3cret-token");
      writeFileSync(file, "\n");
      expect(() => agentOptions({ ...flags, tokenFile: file }, {})).toThrow(/empty/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads every environment variable the Deployment and the image set", () => {
    const postgres = template(agentDeploymentSpec(runtimeSpec({ state: { kind: "postgres", postgresUrlSecret: { name: "db", key: "url" } } }), "img", {})).spec as any;
    const rendered = [...(container.env ?? []), ...postgres.containers[0].env].map((e: any) => e.name);
    const read = Object.values(AGENT_ENV) as string[];
    for (const name of [...rendered, ...envNames(image)].filter((n) => n.startsWith("WARMPOOL_"))) expect(read).toContain(name);
    expect(rendered).toContain(AGENT_ENV.databaseUrl);
  });

  it("the image's default command is a valid agent command line too", async () => {
    const flags = await parseAgent(JSON.parse(instruction(image, "CMD")[0]!));
    expect(agentOptions(flags, {})).toMatchObject({ host: "0.0.0.0", port: AGENT_PORT });
  });

  it("fails on a flag the agent does not know (what a rename on one side looks like)", async () => {
    const renamed = container.args.map((a: string) => (a === AGENT_FLAGS.tokenFile ? "--token-path" : a));
    await expect(parseAgent(renamed)).rejects.toThrow(/unknown option '--token-path'/);
  });
});

/**
 * The container's environment as the kubelet gives it: each `envFrom` Secret's data (from `secrets`, by
 * name; later entries win), then `env` values, and `metadata.name` for the pod name.
 */
function podEnv(container: any, podName: string, secrets: Record<string, Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) Object.assign(env, secrets[from.secretRef.name] ?? {});
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[e.name] = podName;
    else throw new Error(`unexpected env source for ${e.name}: ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

function pythonConfig(env: Record<string, string>): Record<string, unknown> {
  const code = "import json, os; from warmpool.config import from_env; print(json.dumps(from_env(os.environ)._asdict()))";
  const result = spawnSync(process.env.PYTHON ?? "python3", ["-c", code], { env: { PATH: process.env.PATH, PYTHONPATH: join(RUNTIMES, "python", "src"), ...env }, encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

function nodeConfig(env: Record<string, string>): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { ...require(join(RUNTIMES, "node", "lib", "config.js")).fromEnv(env) };
}

describe("worker containers, as the Function renders them, read by the worker runtimes", () => {
  const render = (spec: FunctionSpec) => {
    const deployment = workerDeploymentSpec({ spec, app: APP, volumes: {}, image: "img" });
    return { deployment, container: (template(deployment).spec as any).containers[0] };
  };

  it("Python: the config reader sees every rendered value", () => {
    const { container } = render(functionSpec({ handler: "models:Model.predict", concurrency: { maxInputs: 3 }, webPort: 8081 }));
    const port = container.ports.find((p: any) => p.name === "worker").containerPort;
    expect(pythonConfig(podEnv(container, "fn-abc"))).toEqual({
      host: "0.0.0.0",
      port,
      handler: "models:Model.predict",
      app_dir: container.workingDir,
      max_inputs: 3,
      batch_size: 0,
      container_id: "fn-abc",
      serialization: "json",
      // Pods get no App token yet: the worker then takes every request (PROTOCOL.md).
      token: "",
    });
    expect(port).toBe(WORKER_PORT);
    expect(container.workingDir).toBe(WORKER_APP_DIR);
    // The web server's port: the env the runtime reads equals the container port it declares.
    const web = container.ports.find((p: any) => p.name === "web").containerPort;
    expect(podEnv(container, "x")[WORKER_ENV.webPort]).toBe(String(web));
  });

  it("Node: the config reader sees every rendered value", () => {
    const { container } = render(functionSpec({ runtime: "node", handler: "model:embed", batching: { maxBatchSize: 4, waitMs: 5 } }));
    expect(nodeConfig(podEnv(container, "fn-xyz"))).toEqual({
      host: "0.0.0.0",
      port: container.ports.find((p: any) => p.name === "worker").containerPort,
      handler: "model:embed",
      appDir: container.workingDir,
      maxInputs: 1,
      batchSize: 4,
      containerId: "fn-xyz",
      serialization: "json",
      token: "",
    });
  });

  it("with the Runtime's apiToken: both runtimes require, and the Python client sends, a token the agent takes as the App's", () => {
    const admin = "wp_the-runtime-admin-token";
    const access = agentAccessData(defaultAgentUrl("warmpool-system"), admin, APP.name);
    const deployment = workerDeploymentSpec({ spec: functionSpec({ handler: "m:f" }), app: { ...APP, agentAccess: true }, volumes: {}, image: "img" });
    const container = (template(deployment).spec as any).containers[0];
    const env = podEnv(container, "p", { [AGENT_ACCESS_SECRET]: access });
    const token = pythonConfig(env).token as string;
    expect(nodeConfig(env).token).toBe(token);
    expect(principalCheck(admin)(`Bearer ${token}`)).toEqual({ kind: "app", app: APP.name });
    // What the agent sends a pod of that App (agent/src/cli/serve.ts) is exactly what its worker requires.
    expect(`Bearer ${appToken(admin, APP.name)}`).toBe(`Bearer ${token}`);
    const client = spawnSync(process.env.PYTHON ?? "python3", ["-c", "import json; from warmpool.client.config import resolve; c = resolve(); print(json.dumps([c.url, c.token]))"], {
      env: { PATH: process.env.PATH, PYTHONPATH: join(RUNTIMES, "python", "src"), HOME: tmpdir(), ...env },
      encoding: "utf8",
    });
    expect(client.stderr).toBe("");
    expect(JSON.parse(client.stdout)).toEqual(["http://warmpool-agent.warmpool-system.svc.cluster.local", token]);
  });

  it("a renamed environment name on the provider's side changes what the runtimes read", () => {
    const { container } = render(functionSpec({ handler: "m:f", concurrency: { maxInputs: 3 } }));
    const env = podEnv(container, "p");
    env.WARMPOOL_MAX_CONCURRENT = env[WORKER_ENV.maxInputs]!;
    delete env[WORKER_ENV.maxInputs];
    expect(pythonConfig(env).max_inputs).toBe(1);
    expect(nodeConfig(env).maxInputs).toBe(1);
  });

  it("both runtimes keep as many class instances per container as the agent routes by", () => {
    const result = spawnSync(process.env.PYTHON ?? "python3", ["-c", "from warmpool.classes import MAX_INSTANCES; print(MAX_INSTANCES)"], {
      env: { PATH: process.env.PATH, PYTHONPATH: join(RUNTIMES, "python", "src") },
      encoding: "utf8",
    });
    expect(Number(result.stdout)).toBe(CLASS_INSTANCES_PER_CONTAINER);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require(join(RUNTIMES, "node", "lib", "classes.js")).MAX_INSTANCES).toBe(CLASS_INSTANCES_PER_CONTAINER);
  });

  it("both runtimes read exactly the contract's worker environment, and the Python client the clients'", () => {
    const names = (dir: string, ext: string, pattern: RegExp, skip: (path: string) => boolean = () => false): Set<string> => {
      const found = new Set<string>();
      const walk = (d: string): void => {
        for (const entry of readdirSync(d)) {
          const path = join(d, entry);
          if (skip(path)) continue;
          if (statSync(path).isDirectory()) walk(path);
          else if (path.endsWith(ext)) for (const m of readFileSync(path, "utf8").matchAll(pattern)) found.add(m[1] ?? m[2]!);
        }
      };
      walk(dir);
      return found;
    };
    // The worker runtimes also read the App token the agent gives them, to require it on /invoke.
    const expected = new Set([...Object.values(WORKER_ENV), WORKER_CLIENT_ENV.token]);
    const pythonSrc = join(RUNTIMES, "python", "src", "warmpool");
    const clientPart = (path: string): boolean => path === join(pythonSrc, "client") || path === join(pythonSrc, "_client_names.py");
    expect(names(pythonSrc, ".py", /["'](WARMPOOL_[A-Z_]+)["']/g, clientPart)).toEqual(expected);
    // The client finds its agent as the CLI does: the clients' names, and the agent's state dir for its token.
    expect(names(join(pythonSrc, "client"), ".py", /["'](WARMPOOL_[A-Z_]+)["']/g)).toEqual(new Set([...Object.values(CLIENT_ENV), AGENT_ENV.stateDir]));
    expect(names(join(RUNTIMES, "node"), ".js", /env\.(WARMPOOL_[A-Z_]+)|["'`](WARMPOOL_[A-Z_]+)["'`]/g)).toEqual(expected);
  });

  it("runs each runtime's own entry point, in the app dir the Python image uses", () => {
    const python = render(functionSpec({ handler: "m:f" })).container;
    expect(python.command).toEqual(WORKER_COMMANDS.python);
    const [, flag, module] = python.command;
    expect(flag).toBe("-m");
    expect(statSync(join(RUNTIMES, "python", "src", ...module.split(".")) + ".py").isFile()).toBe(true);
    const image = dockerfile(join(RUNTIMES, "python", "Dockerfile"));
    expect(JSON.parse(instruction(image, "CMD")[0]!)).toEqual(python.command);
    expect(instruction(image, "WORKDIR")).toEqual([python.workingDir]);

    const node = render(functionSpec({ runtime: "node", handler: "m:f" })).container;
    expect(node.command).toEqual(WORKER_COMMANDS.node);
    const pkg = JSON.parse(readFileSync(join(RUNTIMES, "node", "package.json"), "utf8"));
    expect(node.command[1]).toBe(`${node.workingDir}/node_modules/${pkg.name}/${pkg.bin["warmpool-worker"]}`);
  });

  it("the agent selects the pods the Deployment makes", () => {
    const { deployment } = render(functionSpec({ handler: "m:f" }));
    const labels = template(deployment).metadata!.labels as Record<string, string>;
    for (const pair of podSelector("demo", "fn").split(",")) {
      const [key, value] = pair.split("=");
      expect(labels[key!]).toBe(value);
    }
  });
});

describe("no contract name is typed outside the contract", () => {
  const code = (dir: string): Array<[string, string]> => {
    const out: Array<[string, string]> = [];
    const walk = (d: string): void => {
      for (const entry of readdirSync(d)) {
        const path = join(d, entry);
        if (statSync(path).isDirectory()) {
          if (entry !== "generated") walk(path);
        } else if (path.endsWith(".ts")) {
          readFileSync(path, "utf8")
            .split("\n")
            .forEach((line, i) => {
              if (!/^\s*(\*|\/\*|\/\/)/.test(line)) out.push([`${path.slice(REPO.length + 1)}:${i + 1}`, line]);
            });
        }
      }
    };
    walk(dir);
    return out;
  };

  it("agent/src and provider/src name WARMPOOL_* variables only through @warmpool/schema", () => {
    const typed = [...code(join(AGENT, "src")), ...code(join(REPO, "provider", "src"))]
      .filter(([, line]) => /(["'`])WARMPOOL_[A-Z_]+\1|env\.WARMPOOL_|\bWARMPOOL_[A-Z_]+\s*:/.test(line))
      .map(([where]) => where);
    expect(typed).toEqual([]);
  });
});
