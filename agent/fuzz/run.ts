/**
 * The fuzz and abuse suite (`npm run fuzz`; a short run is part of `npm test`, agent/test/fuzz.test.ts):
 * a real agent process per data plane, attacked over loopback with generated cases (cases.ts), timed
 * scenarios (slow heads and bodies, a connection flood past the cap, upgrades reset under way, the
 * first 1,000 cases sent again to the token-less metrics listener), each answer judged by oracle.ts. After every batch the agent must still be alive and answer /healthz, and
 * at the end the web server's record must hold no request that reached the private endpoint without
 * the token, and never the agent's token.
 *
 *   node agent/dist/fuzz/run.js [--cases 10000] [--planes agent,haproxy,python,node] [--seed N] [--concurrency 32] [--json out.json]
 *
 * Planes `python` and `node` are the worker runtimes' own listeners, attacked directly (workers.ts).
 *
 * Exit status 1 when anything failed; the report says what, with the case and the seed to replay it.
 */
import * as fs from "node:fs";
import { request } from "undici";
import { generate, type Case } from "./cases";
import { judge } from "./oracle";
import { LIMITS, startTarget, type Target } from "./target";
import { exchange, holdConnections, inPool, type Outcome } from "./wire";
import { formatWorkerReport, fuzzWorker, type WorkerReport, type WorkerRuntime } from "./workers";

export interface PlaneReport {
  plane: string;
  cases: number;
  byCategory: Record<string, number>;
  statuses: Record<string, number>;
  failures: Array<{ category: string; name: string; why: string }>;
  scenarios: Array<{ name: string; ok: boolean; detail: string }>;
  crashed: boolean;
  seconds: number;
}

export interface FuzzOptions {
  cases: number;
  planes: Array<"agent" | "haproxy">;
  seed: number;
  concurrency: number;
  log?: (line: string) => void;
}

async function healthy(t: Target): Promise<boolean> {
  if (!t.alive()) return false;
  const res = await request(`${t.url}/healthz`, {
    headersTimeout: 10_000,
  }).catch(() => null);
  const ok = res?.statusCode === 200;
  await res?.body.text();
  return ok;
}

/** Slow heads and bodies: each must be cut with a 408 (or a close) within its deadline, on every kind of route. */
function slowScenarios(t: Target): Array<{ name: string; run: () => Promise<Outcome>; within: number }> {
  const byte = (s: string, delayMs: number) =>
    Array.from(s, (ch, i) => ({
      bytes: Buffer.from(ch, "latin1"),
      delayMs: i === 0 ? 0 : delayMs,
    }));
  const headDeadline = (LIMITS.headersTimeoutS + 3) * 1000;
  const bodyDeadline = (LIMITS.bodyTimeoutS + 4) * 1000;
  const slowBody = (path: string, auth: boolean) => ({
    name: `slow body ${path}`,
    within: bodyDeadline,
    run: () =>
      exchange(t.host, t.port, {
        steps: [
          {
            bytes: Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${t.token}\r\n` : ""}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n`),
          },
          ...byte("[".repeat(60), 1000),
        ],
        answers: 1,
        deadlineMs: bodyDeadline + 5000,
      }),
  });
  return [
    {
      name: "slow head",
      within: headDeadline,
      run: () =>
        exchange(t.host, t.port, {
          steps: byte("GET /web/fz/ HTTP/1.1\r\nHost: x\r\n", 1000),
          answers: 1,
          deadlineMs: headDeadline + 5000,
        }),
    },
    {
      name: "bare CRLFs",
      within: headDeadline,
      run: () =>
        exchange(t.host, t.port, {
          steps: byte("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", 500),
          answers: 1,
          deadlineMs: headDeadline + 5000,
        }),
    },
    slowBody("/v1/apps/fz/functions/echo/call", true),
    slowBody("/web/fz/fn/x", false),
    slowBody("/web/fz/upload", false),
  ];
}

/**
 * More connections at once than the cap: each sends a request and holds its connection open (keep-
 * alive) until every one has its answer, so the gateway sees them all at the same time. Every one is
 * answered, 200 or the JSON 503, none dropped or left hanging.
 */
/** Cases also sent to the token-less metrics listener. */
const METRICS_CASES = 1000;

/**
 * The metrics listener under the same bytes as the gateway: it answers 2xx only to GET or HEAD of
 * /metrics, never names the token, and still serves /metrics afterwards.
 */
async function metricsListener(t: Target, cases: readonly Case[]): Promise<{ ok: boolean; detail: string }> {
  const bad: string[] = [];
  const statuses: Record<string, number> = {};
  await inPool([...cases], 16, async (c) => {
    const out = await exchange(t.metrics.host, t.metrics.port, { ...c.exchange, deadlineMs: Math.max(c.exchange.deadlineMs, 15_000) });
    const first = Buffer.concat(c.exchange.steps.map((s) => s.bytes)).toString("latin1");
    const asksMetrics = /^(GET|HEAD) \/metrics(\?[^ ]*)? HTTP\/1\.[01]\r\n/.test(first);
    if (out.hung) bad.push(`${c.name}: hung`);
    for (const r of out.responses) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status < 400 && !asksMetrics) bad.push(`${c.name}: ${r.status} to a request that is not GET /metrics`);
      if (r.body.includes(t.token)) bad.push(`${c.name}: the answer holds the token`);
    }
    if (out.responses.length === 0) statuses.closed = (statuses.closed ?? 0) + 1;
  });
  const after = await exchange(t.metrics.host, t.metrics.port, { steps: [{ bytes: Buffer.from("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") }], answers: 1, deadlineMs: 10_000 });
  if (after.responses[0]?.status !== 200 || !after.responses[0].body.includes("warmpool_inputs_total")) bad.push("GET /metrics afterwards did not answer the metrics");
  const summary = Object.entries(statuses)
    .map(([k, v]) => `${k} ×${v}`)
    .join(", ");
  return { ok: bad.length === 0, detail: bad.length === 0 ? `${cases.length} cases: ${summary}; /metrics still served` : bad.slice(0, 5).join("; ") };
}

async function flood(t: Target): Promise<{ ok: boolean; detail: string }> {
  const n = LIMITS.maxConnections + 150;
  const answers = await holdConnections(t.host, t.port, n, {
    request: "GET /web/fz/flood HTTP/1.1\r\nHost: x\r\n\r\n",
    quietMs: 30_000,
    silence: "hang",
    classify: (r) =>
      r.status === 200 ? "200" : r.status === 503 && (JSON.parse(r.body) as { error: { code: string } }).error.code === "WP_ERR_OVERLOADED" ? "503" : `${r.status} ${r.body.slice(0, 80)}`,
  });
  const ok200 = answers.filter((a) => a === "200").length;
  const refused = answers.filter((a) => a === "503").length;
  const other = answers.filter((a) => a !== "200" && a !== "503");
  const capped = refused > 0;
  return {
    ok: other.length === 0 && capped,
    detail: `${n} connections held at once (cap ${LIMITS.maxConnections}): ${ok200} answered 200, ${refused} refused 503 WP_ERR_OVERLOADED, ${other.length} otherwise${other.length > 0 ? `: ${[...new Set(other)].slice(0, 5).join("; ")}` : ""}`,
  };
}

async function fuzzPlane(plane: "agent" | "haproxy", o: FuzzOptions): Promise<PlaneReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const t = await startTarget(plane);
  const report: PlaneReport = {
    plane,
    cases: 0,
    byCategory: {},
    statuses: {},
    failures: [],
    scenarios: [],
    crashed: false,
    seconds: 0,
  };
  const fail = (c: { category: string; name: string }, why: string): void => void report.failures.push({ category: c.category, name: c.name, why });
  try {
    const slow = slowScenarios(t).map(async (s) => {
      const out = await s.run();
      const r = out.responses[0];
      const cut = !out.hung && out.ms <= s.within && (r === undefined || r.status === 408);
      const shapeOk =
        r === undefined ||
        judge(
          {
            category: "malformed",
            name: s.name,
            exchange: { steps: [], answers: 1, deadlineMs: s.within },
            protected: false,
            authorized: false,
            mayClose: true,
          },
          out,
          plane,
          t.token,
        ).ok;
      report.scenarios.push({
        name: s.name,
        ok: cut && shapeOk,
        detail: `${r === undefined ? "closed" : r.status} after ${out.ms} ms (limit ${s.within} ms)`,
      });
    });
    const cases = generate({ token: t.token, app: "fz" }, o.cases, o.seed);
    const batch = 500;
    for (let i = 0; i < cases.length; i += batch) {
      await inPool(cases.slice(i, i + batch), o.concurrency, async (c) => {
        const out = await exchange(t.host, t.port, c.exchange);
        report.cases++;
        report.byCategory[c.category] = (report.byCategory[c.category] ?? 0) + 1;
        const v = judge(c, out, plane, t.token);
        for (const k of v.kinds) report.statuses[k] = (report.statuses[k] ?? 0) + 1;
        if (!v.ok) fail(c, v.why);
      });
      if (!(await healthy(t))) {
        report.crashed = true;
        fail({ category: "liveness", name: `after case ${i + batch}` }, t.alive() ? "the agent does not answer /healthz" : "the agent process died");
        break;
      }
      log(`${plane}: ${Math.min(i + batch, cases.length)}/${cases.length} cases, ${report.failures.length} failures`);
    }
    await Promise.all(slow);
    if (!report.crashed) {
      const m = await metricsListener(t, cases.slice(0, METRICS_CASES));
      report.scenarios.push({ name: "metrics listener", ...m });
      report.cases += Math.min(cases.length, METRICS_CASES);
    }
    if (!report.crashed) {
      const f = await flood(t);
      report.scenarios.push({ name: "connection flood", ...f });
      report.cases += LIMITS.maxConnections + 150;
      if (!(await healthy(t))) {
        report.crashed = true;
        fail({ category: "liveness", name: "after the flood" }, "the agent is down");
      }
    }
    if (!report.crashed) {
      for (const r of await t.seen()) {
        if (/^\/private([/;?]|$)/.test(r.path) && r.anon !== null) fail({ category: "recorder", name: `${r.method} ${r.path}` }, "reached the private endpoint without the token");
        if (r.path.includes("SMUGGLED")) fail({ category: "recorder", name: `${r.method} ${r.path}` }, "a request hidden in another's body reached the web server");
        if (r.auth !== null && r.auth.includes(t.token)) fail({ category: "recorder", name: `${r.method} ${r.path}` }, "the web server was handed the agent's token");
      }
    }
    for (const s of report.scenarios) if (!s.ok) fail({ category: "scenario", name: s.name }, s.detail);
  } finally {
    await t.stop();
  }
  report.seconds = Math.round((Date.now() - t0) / 100) / 10;
  return report;
}

export async function fuzz(o: FuzzOptions): Promise<PlaneReport[]> {
  const reports: PlaneReport[] = [];
  for (const plane of o.planes) reports.push(await fuzzPlane(plane, o));
  return reports;
}

function format(r: PlaneReport, seed: number): string {
  const lines = [
    `data plane ${r.plane}: ${r.cases} cases in ${r.seconds} s (seed ${seed}), ${r.failures.length} failures${r.crashed ? ", AGENT DOWN" : ""}`,
    `  by category: ${Object.entries(r.byCategory)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `  answers: ${Object.entries(r.statuses)
      .sort()
      .map(([k, v]) => `${k} ×${v}`)
      .join(", ")}`,
    ...r.scenarios.map((s) => `  ${s.ok ? "ok  " : "FAIL"} ${s.name}: ${s.detail}`),
    ...r.failures.slice(0, 25).map((f) => `  FAIL [${f.category}] ${f.name}: ${f.why}`),
  ];
  if (r.failures.length > 25) lines.push(`  … ${r.failures.length - 25} more`);
  return lines.join("\n");
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const planes = (value("planes") ?? "agent,haproxy,python,node").split(",");
  const runtimes = planes.filter((p): p is WorkerRuntime => p === "python" || p === "node");
  const options: FuzzOptions = {
    cases: Number(value("cases") ?? 1000),
    planes: planes.filter((p): p is "agent" | "haproxy" => p === "agent" || p === "haproxy"),
    seed: Number(value("seed") ?? Math.floor(Math.random() * 2 ** 31)),
    concurrency: Number(value("concurrency") ?? 32),
    log: (line) => process.stderr.write(`fuzz: ${line}\n`),
  };
  const all = async (): Promise<{ reports: PlaneReport[]; workers: WorkerReport[] }> => {
    const reports = await fuzz(options);
    const workers: WorkerReport[] = [];
    for (const runtime of runtimes) workers.push(await fuzzWorker(runtime, options));
    return { reports, workers };
  };
  all().then(
    ({ reports, workers }) => {
      for (const r of reports) process.stdout.write(`${format(r, options.seed)}\n`);
      for (const r of workers) process.stdout.write(`${formatWorkerReport(r, options.seed)}\n`);
      const out = value("json");
      if (out !== undefined) fs.writeFileSync(out, JSON.stringify({ seed: options.seed, reports, workers }, null, 2));
      process.exit([...reports, ...workers].every((r) => r.failures.length === 0 && !r.crashed) ? 0 : 1);
    },
    (err: Error) => {
      process.stderr.write(`fuzz: ${err.stack ?? err.message}\n`);
      process.exit(2);
    },
  );
}
