#!/usr/bin/env node
// Prints the results of a benchmark run (default agent/bench/results/latest.json) as the Markdown
// tables of BENCHMARKS.md. Usage: node agent/bench/report.mjs [results.json]
import * as fs from "node:fs";
import * as path from "node:path";
import { BENCH_DIR } from "./lib.mjs";

const file = process.argv[2] ?? path.join(BENCH_DIR, "results", "latest.json");
const R = JSON.parse(fs.readFileSync(file, "utf8"));
const S = R.sections;
const r = (x, d = 2) => (Number.isFinite(x) ? (Math.round(x * 10 ** d) / 10 ** d).toLocaleString("en-US", { maximumFractionDigits: d }) : "–");
const spread = (s, d = 2, unit = "") => `**${r(s.median, d)}${unit}** (${r(s.min, d)} – ${r(s.max, d)})`;
const pct = (s) => `**${r(s.median * 100, 1)} %** (${r(s.min * 100, 1)} – ${r(s.max * 100, 1)})`;
const out = [];
const row = (...cells) => out.push(`| ${cells.join(" | ")} |`);
const head = (...cells) => {
  row(...cells);
  row(...cells.map(() => "---"));
};

const m = R.machine;
out.push(`Run of ${R.startedAt} (\`${R.command}\`, ${R.runs} runs, ${r(R.durationS, 0)} s), load average before ${R.load.before.join(" / ")}, after ${R.load.after.join(" / ")}.`);
out.push(`Machine: ${m.nproc} × ${m.cpuModel} (${m.hypervisor ?? "bare metal"} guest), ${m.memTotalGiB} GiB, Linux ${m.kernel.split("-")[0]}, Node ${m.node}, ${m.python}.`);
out.push("");
head("figure", "median (min – max over runs)", "target", "verdict");
if (S.a) {
  row(`(a) added latency p50, warm no-op call (${S.a.requestsPerRun} paired requests/run)`, spread(S.a.addedP50, 3, " ms"), "≤ 1 ms", S.a.targets.addedP50.verdict);
  row("(a) added latency p99", spread(S.a.addedP99, 3, " ms"), "≤ 5 ms", S.a.targets.addedP99.verdict);
  row(`(a) throughput through the agent / direct (${S.a.connections} connections)`, pct(S.a.throughputRatio), "≥ 50 %", S.a.targets.throughputRatio.verdict);
}
if (S.b)
  row(
    `(b) durable spawns accepted per second (${S.b.spawnsPerRun.toLocaleString("en-US")}/run, ${S.b.connections} connections, worker running them meanwhile)`,
    spread(S.b.acceptedPerSec, 0, "/s"),
    "≥ 2,000/s",
    S.b.targets.acceptedPerSec.verdict,
  );
if (S.d)
  row(
    `(d) durable spawns accepted per second, nothing running (${S.d.queuedInputs.toLocaleString("en-US")}/run)`,
    spread(S.d.acceptedPerSec, 0, "/s"),
    "≥ 2,000/s",
    S.d.acceptedPerSec.median >= 2000 ? "met" : "NOT met",
  );
if (S.c) row("(c) scale decision → worker process spawned", spread(S.c.decisionToSpawnedMs, 2, " ms"), "≤ 10 ms", S.c.targets.decisionToSpawned.verdict);
if (S.d)
  row(
    `(d) agent peak RSS (VmHWM) with ${S.d.queuedInputs.toLocaleString("en-US")} queued inputs`,
    `${spread(S.d.hwmMiB, 1, " MiB")} = ${r(S.d.hwmMiB.median * 1.048576, 0)} MB`,
    "≤ 300 MB",
    S.d.targets.queuedRss.verdict,
  );
out.push("");
if (S.a) {
  out.push("### (a) warm no-op call", "");
  head("", "direct (worker POST /invoke)", "through the agent (POST …/call)", "bare Node hop (floor)");
  row("p50 latency", spread(S.a.directP50, 3, " ms"), spread(S.a.agentP50, 3, " ms"), spread(S.a.floorP50, 3, " ms"));
  row("p99 latency", spread(S.a.directP99, 3, " ms"), spread(S.a.agentP99, 3, " ms"), spread(S.a.floorP99, 3, " ms"));
  row("added p50 vs direct", "", spread(S.a.addedP50, 3, " ms"), spread(S.a.floorAddedP50, 3, " ms"));
  row("added p99 vs direct", "", spread(S.a.addedP99, 3, " ms"), spread(S.a.floorAddedP99, 3, " ms"));
  row(`throughput, ${S.a.connections} connections`, spread(S.a.directRps, 0, "/s"), spread(S.a.agentRps, 0, "/s"), spread(S.a.floorRps, 0, "/s"));
  row("throughput / direct", "", pct(S.a.throughputRatio), pct(S.a.floorThroughputRatio));
  row("CPU per call of the hop (user + sys)", "", spread(S.a.agentCpuUsPerReq, 0, " µs"), spread(S.a.floorCpuUsPerReq, 0, " µs"));
  row("CPU per call of the Python worker", spread(S.a.workerCpuUsPerReq, 0, " µs"), "", "");
  out.push("");
}
if (S.b) {
  out.push("### (b) durable spawn → result", "");
  head("figure", "median (min – max)");
  row("spawns accepted (202, committed to SQLite)", spread(S.b.acceptedPerSec, 0, "/s"));
  row("spawn → every result done", spread(S.b.endToEndPerSec, 0, "/s"));
  row("agent CPU per spawned call (accept, dispatch, result)", spread(S.b.cpuUsPerSpawn, 0, " µs"));
  if (S.bDiagnosis) {
    for (const [k, d] of Object.entries(S.bDiagnosis)) {
      const name = k === "fsyncOn" ? "fsync on (default)" : "fsync off (synchronous=NORMAL)";
      row(`instrumented agent, ${name}: accepted`, spread(d.acceptedPerSec, 0, "/s"));
      row(
        `instrumented agent, ${name}: group commits`,
        `${r(d.commitsPerSec.median, 0)}/s of ${r(d.opsPerCommit.median, 1)} writes, ${r(d.commitMsMean.median, 2)} ms each: **${r(d.commitShareOfWall.median * 100, 1)} %** of the event loop`,
      );
    }
  }
  out.push("");
}
if (S.c) {
  out.push("### (c) cold start of a Python no-op worker", "");
  head("step", "median (min – max)");
  row("input arrives → scale decision", spread(S.c.arrivalToDecisionMs, 3, " ms"));
  row("decision → worker process spawned", spread(S.c.decisionToSpawnedMs, 2, " ms"));
  if (S.c.freePortMs) row("… of which the free-port probe", spread(S.c.freePortMs, 2, " ms"));
  if (S.c.spawnSyscallMs) row("… of which child_process.spawn()", spread(S.c.spawnSyscallMs, 2, " ms"));
  row("spawned → agent sees /ready 200", spread(S.c.spawnedToReadyMs, 1, " ms"));
  row("(baseline: same worker started by hand, spawn → its ready line)", spread(S.c.bareWorkerReadyMs, 1, " ms"));
  row("ready → container dispatchable", spread(S.c.readyToDispatchMs, 3, " ms"));
  row("total first call, seen by the client", spread(S.c.totalFirstCallMs, 1, " ms"));
  if (S.c.poll5SpawnedToReadyMs) {
    row("experiment (same runs): /ready polled every 5 ms — spawned → ready", spread(S.c.poll5SpawnedToReadyMs, 1, " ms"));
    row("experiment (same runs): /ready polled every 5 ms — total first call", spread(S.c.poll5TotalFirstCallMs, 1, " ms"));
  }
  out.push("");
}
if (S.d) {
  out.push(`### (d) agent memory with ${S.d.queuedInputs.toLocaleString("en-US")} queued inputs`, "");
  head("figure", "median (min – max)");
  row("RSS idle (app deployed)", spread(S.d.idleRssMiB, 1, " MiB"));
  row("RSS with the inputs queued", spread(S.d.queuedRssMiB, 1, " MiB"));
  row("peak RSS (VmHWM)", spread(S.d.hwmMiB, 1, " MiB"));
  row("inputs queued when measured", spread(S.d.queued, 0));
  row("spawns accepted per second while queueing them", spread(S.d.acceptedPerSec, 0, "/s"));
  if (S.d.cpuUsPerAccept) row("agent CPU per accepted spawn (nothing dispatched)", spread(S.d.cpuUsPerAccept, 0, " µs"));
  out.push("");
}
process.stdout.write(`${out.join("\n")}\n`);
