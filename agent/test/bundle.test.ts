/**
 * The agent image's build context (dist/image, assembled by scripts/bundle.mjs and copied whole by
 * agent/Dockerfile) runs on its own: copied to an empty directory, the single-file bundle with only the
 * native SQLite addon and the runtimes beside it serves the quickstart app and answers a call through a
 * real Python worker.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

const AGENT = join(__dirname, "..");
const REPO = join(AGENT, "..");

describe("agent bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "warmpool-bundle-"));
  let agent: ChildProcess | undefined;

  afterAll(() => {
    agent?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs from one file plus better-sqlite3 and serves a call", async () => {
    execFileSync(process.execPath, [join(AGENT, "scripts", "bundle.mjs")]);
    cpSync(join(AGENT, "dist", "image"), dir, { recursive: true });

    const state = join(dir, "state");
    agent = spawn(process.execPath, [join(dir, "warmpool.js"), "dev", join(REPO, "examples", "quickstart", "app.yaml"), "--port", "0", "--state-dir", state, "--log-level", "warn"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, WARMPOOL_RUNTIMES_DIR: join(dir, "runtimes") },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    let url: string | undefined;
    agent.stdout!.setEncoding("utf8");
    while (url === undefined) {
      const [chunk] = (await once(agent.stdout!, "data")) as [string];
      output += chunk;
      url = /warmpool agent ready on (http:\/\/\S+)/.exec(output)?.[1];
    }
    const token = readFileSync(join(state, "token"), "utf8").trim();
    const response = await fetch(`${url}/v1/apps/quickstart/functions/square/call`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ args: [7] }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { result: unknown }).result).toBe(49);

    agent.kill("SIGTERM");
    const [code] = (await once(agent, "exit")) as [number];
    expect(code).toBe(0);
    agent = undefined;
  }, 60_000);
});
