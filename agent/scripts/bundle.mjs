#!/usr/bin/env node
// Bundles the agent and its CLI into one file, dist/bundle/warmpool.js, and assembles the build context
// of the agent image (agent/Dockerfile) in dist/image/: the bundle, the native SQLite addon with the two
// small packages that load it, and the worker runtimes. better-sqlite3 stays outside the bundle: it is a
// native addon, built by `npm install` for this machine's Node ABI and glibc (the image's Node must have
// the same ABI: Node 20 has 115).
//
//   node agent/scripts/bundle.mjs && docker build -f agent/Dockerfile agent/dist/image
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
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

// Only the files that run: better-sqlite3's sources and build intermediates are 28 MB, its addon 2 MB.
const context = join(agent, "dist", "image");
rmSync(context, { recursive: true, force: true });
mkdirSync(context, { recursive: true });
// The source map (11 MB) stays out: Node reads it only with --enable-source-maps.
for (const file of ["warmpool.js", "warmpool.js.LEGAL.txt"]) cpSync(join(agent, "dist", "bundle", file), join(context, file));
const require = createRequire(join(agent, "package.json"));
const sqlite = dirname(require.resolve("better-sqlite3/package.json"));
const fromSqlite = createRequire(join(sqlite, "package.json"));
const bindings = dirname(fromSqlite.resolve("bindings/package.json"));
const uriToPath = dirname(createRequire(join(bindings, "package.json")).resolve("file-uri-to-path/package.json"));
const modules = join(context, "node_modules");
const copy = (from, files, to) => {
  for (const file of files) cpSync(join(from, file), join(modules, to, file), { recursive: true });
};
copy(sqlite, ["package.json", "LICENSE", "lib", "build/Release/better_sqlite3.node"], "better-sqlite3");
copy(bindings, ["package.json", "LICENSE.md", "bindings.js"], "bindings");
copy(uriToPath, ["package.json", "LICENSE", "index.js"], "file-uri-to-path");
cpSync(join(agent, "runtimes"), join(context, "runtimes"), {
  recursive: true,
  filter: (path) => !/(__pycache__|\/dist$|\.tsbuildinfo$)/.test(path),
});
// The dashboard's chart library (dashboard/routes.ts looks for it next to the bundle).
const uplot = join(dirname(require.resolve("uplot/package.json")), "dist");
for (const file of ["uPlot.iife.min.js", "uPlot.min.css"]) cpSync(join(uplot, file), join(context, "assets", file));
