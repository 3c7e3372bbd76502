/**
 * The committed Pulumi package (schema/schema.json, sdk/python, sdk/go) is what the CLI makes from
 * the provider today: scripts/generate-package regenerates it into a temp dir, and any difference
 * means the provider's interfaces changed without `scripts/generate-package` being run.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { REPO, toolchainBin } from "./harness";

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), "warmpool-e2e-package-"));

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // What installing the SDK leaves behind (pip builds in place), which sdk/python/.gitignore ignores.
    if (entry.isDirectory()) return ["__pycache__", "build", "dist"].includes(entry.name) || entry.name.endsWith(".egg-info") ? [] : files(path);
    return entry.name.endsWith(".pyc") ? [] : [path];
  });
}

/** path relative to `root` → content, for every file under `root/sub`. */
function tree(root: string, sub: string): Map<string, string> {
  return new Map(files(join(root, sub)).map((f) => [relative(root, f), readFileSync(f, "utf8")]));
}

function drift(sub: string): string[] {
  const committed = tree(REPO, sub);
  const fresh = tree(out, sub);
  const problems: string[] = [];
  for (const [path, text] of fresh) {
    if (!committed.has(path)) problems.push(`${path}: missing from the repository`);
    else if (committed.get(path) !== text) problems.push(`${path}: differs`);
  }
  for (const path of committed.keys()) if (!fresh.has(path) && !path.endsWith("README.md")) problems.push(`${path}: no longer generated`);
  return problems;
}

beforeAll(async () => {
  await run(join(REPO, "scripts", "generate-package"), ["--out", out], {
    env: { ...process.env, PATH: `${toolchainBin()}:${process.env.PATH}` },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000,
  });
}, 300_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

const hint = "run scripts/generate-package and commit the result";

describe("the committed Pulumi package matches the provider", () => {
  it("schema/schema.json is what `pulumi package get-schema ./provider` prints", () => {
    const schema = JSON.parse(readFileSync(join(out, "schema", "schema.json"), "utf8"));
    expect(schema).toMatchObject({ name: "warmpool", version: "0.1.0" });
    expect(Object.keys(schema.resources)).toEqual(expect.arrayContaining(["warmpool:index:Function", "warmpool:index:Schedule", "warmpool:index:Endpoint"]));
    expect({ problems: drift("schema/schema.json"), hint }).toEqual({ problems: [], hint });
  });

  it("sdk/python is what `pulumi package gen-sdk --language python` generates", () => {
    expect(tree(out, "sdk/python").has("sdk/python/pulumi_warmpool/function.py")).toBe(true);
    expect({ problems: drift("sdk/python"), hint }).toEqual({ problems: [], hint });
  });

  it("sdk/go is what `pulumi package gen-sdk --language go` generates", () => {
    expect(tree(out, "sdk/go").has("sdk/go/warmpool/function.go")).toBe(true);
    expect({ problems: drift("sdk/go"), hint }).toEqual({ problems: [], hint });
  });

  it("sdk/go is a module at the import path it documents, and it builds", async () => {
    expect(readFileSync(join(REPO, "sdk", "go", "go.mod"), "utf8")).toMatch(/^module github\.com\/warmpool\/warmpool\/sdk\/go\n/);
    expect(readFileSync(join(REPO, "sdk", "go", "warmpool", "init.go"), "utf8")).toContain('"github.com/warmpool/warmpool/sdk/go/warmpool/internal"');
    await run("go", ["build", "./..."], { cwd: join(REPO, "sdk", "go"), env: { ...process.env, GOFLAGS: "-mod=readonly", GONOSUMDB: "github.com/pulumi", GOTOOLCHAIN: "local" }, timeout: 600_000 });
  });
});
