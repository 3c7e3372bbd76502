#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by module/package, and
// total (inclusive) time of the agent's own functions. Usage: node profile-summary.mjs <file> [top]
import * as fs from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: node profile-summary.mjs <file.cpuprofile> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 30);
const prof = JSON.parse(fs.readFileSync(file, "utf8"));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (cf) => {
  const url = cf.url ?? "";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes("/agent/dist/src/")) return `agent:${url.split("/agent/dist/src/")[1]}`;
  if (url.startsWith("node:")) return url;
  return url === "" ? `(${cf.functionName || "native"})` : url;
};
const bump = (map, key, v) => map.set(key, (map.get(key) ?? 0) + v);
const byFn = new Map();
const byModule = new Map();
const inclusive = new Map();
for (const [id, t] of self) {
  const n = nodes.get(id);
  const cf = n.callFrame;
  bump(byFn, `${cf.functionName || "(anonymous)"}  ${where(cf)}:${cf.lineNumber + 1}`, t);
  bump(
    byModule,
    where(cf).replace(/^agent:.*/, (s) => s),
    t,
  );
  // Inclusive time of agent functions: walk up once per distinct frame on the stack.
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const f = nodes.get(p).callFrame;
    if (!(f.url ?? "").includes("/agent/dist/src/")) continue;
    const key = `${f.functionName || "(anonymous)"}  ${where(f)}:${f.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    bump(inclusive, key, t);
  }
}
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)} %`;
const print = (title, map, n) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n`);
print("self time by module", byModule, top);
print("self time by function", byFn, top);
print("inclusive time of agent functions", inclusive, top);

// Callers of the heaviest native frames (e.g. writev): the nearest stack above them, 6 frames deep.
const focus = process.env.CALLERS_OF;
if (focus) {
  const callers = new Map();
  for (const [id, t] of self) {
    if (nodes.get(id).callFrame.functionName !== focus) continue;
    const chain = [];
    for (let p = parent.get(id); p !== undefined && chain.length < Number(process.env.DEPTH ?? 6); p = parent.get(p)) {
      const f = nodes.get(p).callFrame;
      chain.push(`${f.functionName || "(anon)"}@${where(f).replace(/^node:internal\//, "")}`);
    }
    bump(callers, chain.join(" < "), t);
  }
  print(`callers of ${focus}`, callers, 8);
}
