/** Where things are, from the compiled harness (agent/dist/bench/autoscaler) or its source (under jest). */
import * as fs from "node:fs";
import * as path from "node:path";

function findRepo(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "agent", "package.json")) && fs.existsSync(path.join(dir, "schema"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no warmpool repository above ${__dirname}`);
  }
}

export const REPO = findRepo();
export const DEFAULT_TRACE = path.resolve(REPO, "..", "shared", "traces", "azure-llm-conv-2023-11-16.csv");
export const RESULTS = path.join(REPO, "agent", "bench", "results", "autoscaler.json");
export const CLI = path.join(REPO, "agent", "dist", "src", "cli", "main.js");
export const REAL_APP = path.join(REPO, "agent", "bench", "autoscaler", "real-app");
