#!/usr/bin/env node
// Before/after comparison of two built checkouts (`npm run bench:compare -- --before DIR [--after DIR]`):
// runs each tree's own agent benchmark (run.mjs for (a)–(d), endpoints.mjs for (e)) in alternating
// rounds — before, after, after, before, ... — so that the machine's drift (other jobs, thermal state)
// falls on both sides alike, and prints, per figure, the median over rounds of each round's median,
// the spread, and after/before.
//
// A checkout to compare against is prepared once, e.g.:
//   git worktree add /tmp/before <rev> && (cd /tmp/before && npm ci && npm run build)
// Flags: --before DIR (required), --after DIR (default: this checkout), --rounds N (default 3: each
// side runs N times), --only a,b,c,d,e (default a,b,c,d), --out FILE (JSON; default
// agent/bench/results/compare.json). Each run is `--quick` (500 paired requests for (a), 2,000
// spawns for (b), 3 cold starts, 10,000 queued inputs for (d)).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BENCH_DIR, loadavg, summary } from "./lib.mjs";

const argv = process.argv.slice(2);
const value = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const BEFORE = value("before");
if (BEFORE === undefined) {
  process.stderr.write("usage: npm run bench:compare -- --before DIR [--after DIR] [--rounds N] [--only a,b,c,d,e] [--out FILE]\n");
  process.exit(2);
}
const AFTER = value("after") ?? path.resolve(BENCH_DIR, "..", "..");
const ROUNDS = Number(value("rounds") ?? 3);
const ONLY = (value("only") ?? "a,b,c,d").split(",");
const OUT = value("out") ?? path.join(BENCH_DIR, "results", "compare.json");

/** The figures compared: [section, key in the benchmark's JSON, label, unit, better when lower?]. */
const FIGURES = [
  ["a", "addedP50", "(a) added latency p50", "ms", true],
  ["a", "addedP99", "(a) added latency p99", "ms", true],
  ["a", "throughputRatio", "(a) throughput agent / direct", "", false],
  ["a", "agentCpuUsPerReq", "(a) agent CPU per call", "µs", true],
  ["b", "acceptedPerSec", "(b) durable spawns accepted", "/s", false],
  ["b", "endToEndPerSec", "(b) spawn → all results done", "/s", false],
  ["b", "cpuUsPerSpawn", "(b) agent CPU per spawned call", "µs", true],
  ["c", "decisionToSpawnedMs", "(c) decision → process spawned", "ms", true],
  ["c", "totalFirstCallMs", "(c) total first call", "ms", true],
  ["d", "idleRssMiB", "(d) agent RSS idle", "MiB", true],
  ["d", "queuedRssMiB", "(d) agent RSS, 10,000 queued", "MiB", true],
];

/** (e): endpoints.mjs's tables, one row per side; "agent" is the agent's own proxy. */
const E_FIGURES = [
  ["e1", "agent", "addedP50", "(e1) function endpoint, agent: added p50", "ms", true],
  ["e1", "agent", "throughputRatio", "(e1) function endpoint, agent: throughput / direct", "", false],
  ["e2", "agent", "addedP50", "(e2) web server, agent's proxy: added p50", "ms", true],
  ["e2", "agent", "addedP99", "(e2) web server, agent's proxy: added p99", "ms", true],
  ["e2", "agent", "throughputRatio", "(e2) web server, agent's proxy: throughput / direct", "", false],
  ["e2", "haproxy", "addedP50", "(e2) web server, HAProxy: added p50", "ms", true],
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wp-compare-"));
const samples = { before: {}, after: {} };
const push = (side, label, x) => typeof x === "number" && Number.isFinite(x) && (samples[side][label] ??= []).push(x);

function runSide(side, dir, round) {
  const abcd = ONLY.filter((s) => s !== "e");
  if (abcd.length > 0) {
    const out = path.join(tmp, `${side}-${round}.json`);
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${side} (${dir}) (a)–(d)\n`);
    execFileSync(process.execPath, [path.join(dir, "agent", "bench", "run.mjs"), "--quick", "--no-diagnose", "--only", abcd.join(","), "--out", out], {
      stdio: ["ignore", "ignore", "inherit"],
      cwd: dir,
    });
    const r = JSON.parse(fs.readFileSync(out, "utf8")).sections;
    for (const [section, key, label] of FIGURES) push(side, label, r[section]?.[key]?.median);
  }
  if (ONLY.includes("e")) {
    const out = path.join(tmp, `${side}-${round}-e.json`);
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${side} (${dir}) (e)\n`);
    execFileSync(process.execPath, [path.join(dir, "agent", "bench", "endpoints.mjs"), "--quick", "--sides", "agent,haproxy", "--out", out], { stdio: ["ignore", "ignore", "inherit"], cwd: dir });
    const r = JSON.parse(fs.readFileSync(out, "utf8"));
    for (const [table, row, key, label] of E_FIGURES) push(side, label, r[table]?.[row]?.[key]?.median);
  }
}

const load = { before: loadavg() };
const startedAt = new Date().toISOString();
for (let round = 0; round < ROUNDS; round++) {
  // before, after | after, before | ...: neither side always runs first.
  const order = round % 2 === 0 ? ["before", "after"] : ["after", "before"];
  for (const side of order) runSide(side, side === "before" ? BEFORE : AFTER, round);
}
load.after = loadavg();

const rows = [];
for (const [label, unit, lower] of [...FIGURES.map((f) => [f[2], f[3], f[4]]), ...E_FIGURES.map((f) => [f[3], f[4], f[5]])]) {
  const b = samples.before[label];
  const a = samples.after[label];
  if (b === undefined || a === undefined) continue;
  const sb = summary(b);
  const sa = summary(a);
  rows.push({ figure: label, unit, lowerIsBetter: lower, before: sb, after: sa, ratio: sa.median / sb.median });
}
const fmt = (s, unit) => `${s.median.toPrecision(4)}${unit === "" ? "" : ` ${unit}`} [${s.min.toPrecision(3)} – ${s.max.toPrecision(3)}]`;
process.stdout.write(`| figure | before: median [min – max] of ${ROUNDS} rounds | after | after / before |\n| --- | --- | --- | --- |\n`);
for (const r of rows) process.stdout.write(`| ${r.figure} | ${fmt(r.before, r.unit)} | ${fmt(r.after, r.unit)} | ${r.ratio.toFixed(2)} |\n`);
process.stdout.write(`\nload average before ${load.before.join(" ")}, after ${load.after.join(" ")}\n`);
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, `${JSON.stringify({ startedAt, before: BEFORE, after: AFTER, rounds: ROUNDS, load, rows, samples }, null, 2)}\n`);
fs.rmSync(tmp, { recursive: true, force: true });
