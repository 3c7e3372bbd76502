#!/usr/bin/env node
// Bundles the agent and its CLI into one file, dist/bundle/warmpool.js, for the container image
// (agent/Dockerfile). better-sqlite3 stays outside: it is a native addon, installed beside the bundle.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const agent = join(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [join(agent, "src", "cli", "main.ts")],
  outfile: join(agent, "dist", "bundle", "warmpool.js"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["better-sqlite3"],
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
