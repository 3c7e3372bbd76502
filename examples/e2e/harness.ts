/**
 * The end-to-end harness: the toolchain built by scripts/toolchain, a throw-away control plane from
 * scripts/test-cluster, the real `pulumi` CLI on a local file backend, and kubectl to look at what
 * reached the API server.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO = join(__dirname, "..", "..");

/** The toolchain's bin directory, or undefined when scripts/toolchain has not built it. */
export function toolchainBin(): string | undefined {
  try {
    return execFileSync(join(REPO, "scripts", "toolchain"), ["--print-bin"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command that runs longer is killed, so that a stuck `pulumi up` never outlives its test and holds the stack's lock. */
const COMMAND_TIMEOUT_MS = 420_000;

async function exec(file: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024, timeout: COMMAND_TIMEOUT_MS, killSignal: "SIGINT" });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(error) };
  }
}

export interface ClusterOptions {
  /** Also start the real node (`test-cluster start --real-node`), with these image archives loaded besides the repository's. */
  realNode?: { images: string[] };
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), "warmpool-e2e-cluster-"));
  readonly kubeconfig = join(this.dir, "kubeconfig");
  private readonly forwarders: ChildProcess[] = [];

  constructor(
    readonly bin: string,
    readonly options: ClusterOptions = {},
  ) {}

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.bin}:${process.env.PATH}`, KUBECONFIG: this.kubeconfig, WARMPOOL_TOOLCHAIN_BIN: this.bin };
  }

  async start(): Promise<void> {
    // The watchdog stops the cluster if this test process dies without running afterAll.
    const env = { ...this.env, TEST_CLUSTER_WATCH_PID: String(process.pid), TEST_CLUSTER_IMAGES: (this.options.realNode?.images ?? []).join(" ") };
    const args = this.options.realNode === undefined ? ["start", this.dir] : ["start", "--real-node", this.dir];
    const result = await exec(join(REPO, "scripts", "test-cluster"), args, { env });
    if (result.code !== 0) throw new Error(`test-cluster start failed:\n${result.stderr}`);
  }

  async stop(): Promise<void> {
    for (const f of this.forwarders) f.kill("SIGKILL");
    await exec(join(REPO, "scripts", "test-cluster"), ["stop", this.dir], { env: this.env });
    rmSync(this.dir, { recursive: true, force: true });
  }

  async kubectl(...args: string[]): Promise<Result> {
    return exec(join(this.bin, "kubectl"), args, { env: this.env });
  }

  /** `kubectl get -o json`, parsed; fails the test on error. */
  async get(...args: string[]): Promise<any> {
    const result = await this.kubectl("get", ...args, "-o", "json");
    if (result.code !== 0) throw new Error(`kubectl get ${args.join(" ")} failed: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  /** Whether `kubectl get` finds the object. */
  async exists(...args: string[]): Promise<boolean> {
    const result = await this.kubectl("get", ...args, "--ignore-not-found", "-o", "name");
    return result.code === 0 && result.stdout.trim() !== "";
  }

  /**
   * A hostPath PersistentVolume (storageClassName "") for one claim: the test cluster has no dynamic
   * provisioner, and Pulumi waits for claims to bind.
   */
  async addVolume(name: string, size: string, path = `/tmp/${name}`): Promise<void> {
    await this.apply({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name },
      spec: { capacity: { storage: size }, accessModes: ["ReadWriteOnce"], storageClassName: "", hostPath: { path } },
    });
  }

  /**
   * A hostPath volume on the real node, in the cluster directory, writable by the pods' non-root users
   * (a hostPath volume gets no fsGroup): the test reads what pods wrote there. Returns the directory.
   */
  async addNodeVolume(name: string, size: string): Promise<string> {
    const path = join(this.dir, "volumes", name);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    await this.addVolume(name, size, path);
    return path;
  }

  /**
   * A TCP forwarder from the host to `target` (host:port), which only the real node's network namespace
   * reaches (a ClusterIP, a pod IP): it runs there and listens on the node's address. Returns
   * `http://<node address>:<port>`. Stopped with the cluster.
   */
  async forward(target: string): Promise<string> {
    const nodeIp = /^NODE_IP=(.*)$/m.exec(readFileSync(join(this.dir, "node", "net.env"), "utf8"))![1]!;
    const [host, port] = target.split(":");
    const script = `
      const net = require("node:net");
      const server = net.createServer((c) => {
        const u = net.connect(Number(process.argv[3]), process.argv[2]);
        c.pipe(u).pipe(c);
        c.on("error", () => u.destroy());
        u.on("error", () => c.destroy());
      });
      server.listen(0, process.argv[1], () => console.log(server.address().port));`;
    const child = spawn(join(REPO, "scripts", "test-cluster"), ["exec", this.dir, process.execPath, "-e", script, nodeIp, host!, port!], { stdio: ["ignore", "pipe", "inherit"] });
    this.forwarders.push(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const listening = await eventually(`a forwarder to ${target}`, async () => /^(\d+)\n/.exec(out)?.[1], 10_000);
    return `http://${nodeIp}:${listening}`;
  }

  async apply(manifest: object): Promise<void> {
    const file = join(this.dir, `manifest-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    require("node:fs").writeFileSync(file, JSON.stringify(manifest));
    const result = await this.kubectl("apply", "-f", file);
    if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
  }
}

/** A Pulumi project directory driven through the real CLI, with its own home and file backend. */
export class Project {
  readonly home = mkdtempSync(join(tmpdir(), "warmpool-e2e-pulumi-home-"));
  readonly state = mkdtempSync(join(tmpdir(), "warmpool-e2e-pulumi-state-"));
  /** Files of the project directory before the test: stack config files it adds are removed afterwards. */
  private readonly before: Set<string>;

  constructor(
    readonly dir: string,
    readonly cluster: Cluster,
  ) {
    this.before = new Set(readdirSync(dir));
  }

  get env(): NodeJS.ProcessEnv {
    return {
      ...this.cluster.env,
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.state}`,
      PULUMI_CONFIG_PASSPHRASE: "warmpool-e2e",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // Type errors are tsc -b's job (npm test builds every example first); ts-node only transpiles.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      NO_COLOR: "1",
    };
  }

  async pulumi(...args: string[]): Promise<Result> {
    return exec(join(this.cluster.bin, "pulumi"), [...args, "--non-interactive"], { cwd: this.dir, env: this.env });
  }

  /** Runs a pulumi command that must succeed, failing with its output otherwise. */
  async must(...args: string[]): Promise<string> {
    const result = await this.pulumi(...args);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** The stack's checkpoint as stored by the file backend (what an attacker with the state bucket reads). */
  stateText(stack: string): string {
    const stacksDir = join(this.state, ".pulumi", "stacks");
    const files = listFiles(stacksDir).filter((f) => f.endsWith(`/${stack}.json`));
    if (files.length !== 1) throw new Error(`expected one checkpoint for ${stack} under ${stacksDir}, found ${files.join(", ")}`);
    return readFileSync(files[0]!, "utf8");
  }

  cleanup(): void {
    for (const file of readdirSync(this.dir)) {
      if (!this.before.has(file) && /^Pulumi\..+\.yaml$/.test(file)) rmSync(join(this.dir, file));
    }
    rmSync(this.home, { recursive: true, force: true });
    rmSync(this.state, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` with the last observation. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
