/**
 * The benchmark harness itself (`npm run bench:agent`) on tiny counts: a real agent process, a real
 * Python worker, the bare Node hop, sequential and concurrent load, durable spawns. The harness checks
 * every answer — through the agent, through the bare hop and directly from the worker — against the
 * argument it sent, and each spot-checked spawned call's stored result, and exits non-zero on any
 * mismatch; this test runs it and checks what it wrote.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers";

const RUN = path.resolve(__dirname, "..", "bench", "run.mjs");

test("bench:agent --smoke: direct, bare-hop and through-agent paths agree, spawned calls complete, every printed line is recorded", () => {
  const out = path.join(tempDir("bench"), "smoke.json");
  const r = spawnSync(process.execPath, [RUN, "--smoke", "--only", "a,b,f", "--no-diagnose", "--out", out], { encoding: "utf8", timeout: 90_000 });
  expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
  const results = JSON.parse(fs.readFileSync(out, "utf8"));
  const a = results.sections.a;
  for (const k of ["directP50", "agentP50", "floorP50", "directRps", "agentRps", "floorRps"]) {
    expect(a[k].runs).toHaveLength(1);
    expect(a[k].median).toBeGreaterThan(0);
  }
  // The ratio is computed from the two throughputs of the same run.
  expect(a.throughputRatio.median).toBeCloseTo(a.agentRps.median / a.directRps.median, 6);
  expect(a.targets.addedP50.verdict).toMatch(/^(met|NOT met)$/);
  const b = results.sections.b;
  expect(b.spawnsPerRun).toBe(300);
  expect(b.acceptedPerSec.median).toBeGreaterThan(0);
  expect(b.endToEndPerSec.median).toBeLessThanOrEqual(b.acceptedPerSec.median);
  const f = results.sections.f;
  expect(f.printedLines).toBe(20_000); // 1 MB of 100-byte lines, warm-up and one run
  expect(f.recordedLines).toBe(f.printedLines);
  expect(f.ratio.median).toBeCloseTo(f.printMs.median / f.fileMs.median, 6);
}, 120_000);
