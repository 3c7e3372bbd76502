/**
 * The warmpool-runtime distribution (imported as `warmpool`): build.sh makes the sdist and wheel offline, the wheel holds the
 * package, and pip installs either one without reaching an index.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RUNTIMES_DIR } from "./worker-process";

const run = promisify(execFile);
const PYTHON_DIR = path.join(RUNTIMES_DIR, "python");
const DIST = path.join(PYTHON_DIR, "dist");
const WHEEL = path.join(DIST, "warmpool_runtime-0.1.0-py3-none-any.whl");
const SDIST = path.join(DIST, "warmpool_runtime-0.1.0.tar.gz");
const PIP_ENV = { ...process.env, PIP_NO_INDEX: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" };

let scratch: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "warmpool-package-"));
  await run("bash", [path.join(PYTHON_DIR, "build.sh")]);
}, 30_000);

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

async function python(code: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await run("python3", ["-c", code], { env })).stdout;
}

it("builds a wheel holding the package and its metadata", async () => {
  const listing = JSON.parse(
    await python(
      `import json, zipfile; z = zipfile.ZipFile(${JSON.stringify(WHEEL)}); print(json.dumps({"names": z.namelist(), "metadata": z.read("warmpool_runtime-0.1.0.dist-info/METADATA").decode()}))`,
    ),
  );
  const modules = fs.readdirSync(path.join(PYTHON_DIR, "src", "warmpool"), { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".py"));
  expect(listing.names).toEqual(expect.arrayContaining([...modules.map((name) => `warmpool/${name}`), "warmpool_runtime-0.1.0.dist-info/WHEEL", "warmpool_runtime-0.1.0.dist-info/RECORD"]));
  expect(listing.names).toContain("warmpool/worker.py");
  expect(listing.names).toContain("warmpool/client/functions.py");
  expect(listing.metadata).toMatch(/^Name: warmpool-runtime$/m);
  expect(listing.metadata).toMatch(/^Version: 0\.1\.0$/m);
  expect(listing.metadata).toMatch(/^Requires-Python: >=3\.9$/m);
});

it("builds the same bytes twice", async () => {
  const first = fs.readFileSync(WHEEL);
  const firstSdist = fs.readFileSync(SDIST);
  await run("bash", [path.join(PYTHON_DIR, "build.sh")]);
  expect(fs.readFileSync(WHEEL).equals(first)).toBe(true);
  expect(fs.readFileSync(SDIST).equals(firstSdist)).toBe(true);
});

it("installs offline from the wheel and from the sdist", async () => {
  const installs = [WHEEL, SDIST].map(async (archive, index) => {
    const target = path.join(scratch, `site-${index}`);
    await run("python3", ["-m", "pip", "install", "--quiet", "--target", target, archive], { env: PIP_ENV });
    return python("import warmpool, warmpool.worker; warmpool.Function; print(warmpool.__file__, warmpool.__version__)", { ...process.env, PYTHONPATH: target });
  });
  const [fromWheel, fromSdist] = await Promise.all(installs);
  expect(fromWheel).toBe(`${path.join(scratch, "site-0", "warmpool", "__init__.py")} 0.1.0\n`);
  expect(fromSdist).toBe(`${path.join(scratch, "site-1", "warmpool", "__init__.py")} 0.1.0\n`);
}, 60_000);

it("parses as Python 3.9, the oldest version it supports", async () => {
  const sources = path.join(PYTHON_DIR, "src", "warmpool");
  const output = await python(
    `import ast, pathlib\nfor p in sorted(pathlib.Path(${JSON.stringify(sources)}).rglob("*.py")):\n    ast.parse(p.read_text(), str(p), feature_version=(3, 9))\nprint("ok")`,
  );
  expect(output).toBe("ok\n");
});
