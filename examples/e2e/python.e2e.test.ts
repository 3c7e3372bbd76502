/**
 * `pulumi up` of examples/python (a Pulumi Python program using the generated SDK in sdk/python,
 * with Pulumi's Python SDK from PyPI) against a real API server; `pulumi destroy` cleans up.
 *
 * The virtualenv is made once per content of requirements.txt and sdk/python, under
 * ~/.cache/warmpool/python-venv/<hash> (XDG_CACHE_HOME honoured), and handed to the language host
 * through PULUMI_PYTHON_CMD, so repeated runs skip pip.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster, Project, REPO, eventually, toolchainBin } from "./harness";

const run = promisify(execFile);
const PROGRAM = join(REPO, "examples", "python");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== "__pycache__" && !e.name.endsWith(".egg-info") && e.name !== "build")
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** The cached virtualenv for the program's requirements and the SDK as it is now; made if missing. */
async function virtualenv(): Promise<string> {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(PROGRAM, "requirements.txt")));
  for (const f of files(join(REPO, "sdk", "python"))) hash.update(f.slice(REPO.length)).update(readFileSync(f));
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "warmpool", "python-venv");
  const dir = join(cache, hash.digest("hex").slice(0, 16));
  if (existsSync(join(dir, "bin", "python"))) return dir;
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await run("python3", ["-m", "venv", tmp], { timeout: 240_000 });
  // pip reads the requirements' relative paths from its working directory.
  await run(join(tmp, "bin", "pip"), ["install", "--quiet", "--no-input", "-r", "requirements.txt"], { cwd: PROGRAM, timeout: 480_000, maxBuffer: 16 * 1024 * 1024 });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

class PythonProject extends Project {
  python = "";
  override get env(): NodeJS.ProcessEnv {
    return { ...super.env, PULUMI_PYTHON_CMD: this.python };
  }
}

const cluster = new Cluster(toolchainBin()!);
const project = new PythonProject(PROGRAM, cluster);

beforeAll(async () => {
  const [venv] = await Promise.all([virtualenv(), cluster.start()]);
  project.python = join(venv, "bin", "python");
  await cluster.addVolume("e2e-python-agent-state", "10Gi");
  await project.must("stack", "init", "e2e-python");
}, 600_000);

afterAll(async () => {
  await project.pulumi("stack", "rm", "--yes", "--force", "e2e-python");
  rmSync(join(PROGRAM, "Pulumi.e2e-python.yaml"), { force: true });
  await cluster.stop();
  project.cleanup();
}, 120_000);

describe("examples/python on a real API server", () => {
  it("pulumi up creates the runtime, the functions on the L4 pool and the schedule", async () => {
    await project.must("up", "--yes", "--skip-preview");

    const functions = await cluster.get("functions.warmpool.dev", "-n", "search-dev");
    expect(functions.items.map((f: any) => f.metadata.name).sort()).toEqual(["embed", "reindex"]);
    expect(functions.items.find((f: any) => f.metadata.name === "embed").spec).toMatchObject({
      app: "search",
      gpu: "L4",
      image: "registry.example.com/search/embed:2.0.1",
      batching: { maxBatchSize: 32, waitMs: 10 },
      autoscaler: { maxContainers: 3 },
    });
    expect((await cluster.get("schedules.warmpool.dev", "hourly-reindex", "-n", "search-dev")).spec).toMatchObject({ function: "reindex", cron: "0 * * * *", timezone: "Europe/Berlin" });

    const worker = await cluster.get("deployment", "embed", "-n", "search-dev");
    expect(worker.spec.replicas).toBe(0);
    expect(worker.spec.template.spec.nodeSelector).toEqual({ "warmpool.dev/gpu": "L4" });
    expect(worker.spec.template.spec.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(worker.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(await cluster.exists("deployment", "reindex", "-n", "search-dev")).toBe(true);
    await eventually(
      "the agent Deployment to be available",
      async () => {
        const agent = await cluster.get("deployment", "warmpool-agent", "-n", "warmpool-system");
        return agent.status.availableReplicas === 1 ? agent : undefined;
      },
      120_000,
    );

    const outputs = JSON.parse(await project.must("stack", "output", "--json"));
    expect(outputs).toMatchObject({ namespace: "search-dev", embedDeployment: "embed" });
  }, 600_000);

  it("pulumi destroy leaves nothing behind", async () => {
    await project.must("destroy", "--yes", "--skip-preview");
    await eventually("the app namespace to be gone", async () => ((await cluster.exists("namespace", "search-dev")) ? undefined : true), 120_000);
    await eventually("the runtime namespace to be gone", async () => ((await cluster.exists("namespace", "warmpool-system")) ? undefined : true), 120_000);
    expect(await cluster.exists("crd", "functions.warmpool.dev")).toBe(false);
    const stack = JSON.parse(await project.must("stack", "export"));
    expect(stack.deployment.resources ?? []).toEqual([]);
  }, 600_000);
});
