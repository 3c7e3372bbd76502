#!/usr/bin/env node
// Endpoint benchmark (run by `npm run bench:agent -- --only e`, or alone: `node agent/bench/endpoints.mjs`):
// a real agent process started with its HAProxy data plane (--data-plane haproxy), real Python workers
// on loopback, and
//   (e1) function endpoint: POST /web/<app>/fn through the agent's own listener ("agent"), and through
//        HAProxy in front of it ("via-haproxy"), vs the same worker's POST /invoke with the same request
//        object (what the agent sends it);
//   (e2) web-server endpoint: POST through the agent's own proxy ("agent": its listener behind HAProxy,
//        addressed directly) and through the HAProxy data plane ("haproxy": the agent's public address)
//        vs the stdlib server directly vs the same server behind nginx (Debian's nginx-light, installed if missing, started on loopback with a
//        generated config: one worker, upstream keep-alive, proxy_buffering off) — the reference a user
//        would otherwise put in front; plus two Node references in front of the same server
//        (floor-web.mjs): a bare TCP byte pipe (the least any Node process in the path costs) and
//        a plain node:http reverse proxy.
// Latency (after a warm-up of every side): paired sequential requests (one keep-alive connection per side, order rotating per round),
// p50/p99 per side and "added" = side − direct; repeated runs, median with the spread. Throughput:
// closed-loop with 16 connections per side, ratio to direct. Output: a table on stderr and
// agent/bench/results/endpoints.json.
// Flags: --quick (fewer requests, 3 runs), --smoke (1 tiny run), --runs N, --out <file>,
// --sides a,b (only these sides besides direct: every other side in the rotation adds its cache
// footprint to the machine, see lib.mjs `interleaved`).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Pool } from "undici";
import { BENCH_DIR, closedLoop, interleaved, loadavg, percentile, poll, sequential, startAgentProcess, summary, tempDir, workerHeaders } from "./lib.mjs";

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SMOKE = flag("smoke");
const QUICK = flag("quick") || SMOKE;
const RUNS = Number(value("runs") ?? (SMOKE ? 1 : QUICK ? 3 : 5));
const LAT = SMOKE ? 50 : QUICK ? 400 : 2000;
// Sequential requests per side before any run, as (a) does: connections open, JIT warm, the server's threads up.
const WARMUP = SMOKE ? 20 : QUICK ? 500 : 2000;
const LOAD_MS = SMOKE ? 300 : QUICK ? 1000 : 3000;
const CONNECTIONS = 16;
const OUT = value("out") ?? path.join(BENCH_DIR, "results", "endpoints.json");
const APP_DIR = path.join(BENCH_DIR, "endpoints-app");
const log = (...a) => process.stderr.write(`${a.join(" ")}\n`);
const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function nginxBinary() {
  for (const p of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (fs.existsSync(p)) return p;
  log("nginx is missing: installing Debian's nginx-light");
  execFileSync("apt-get", ["install", "-y", "nginx-light"], { stdio: "inherit" });
  return "/usr/sbin/nginx";
}

async function startNginx(upstreamPort) {
  const dir = tempDir("nginx");
  const port = await freePort();
  const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
  const child = spawn(nginxBinary(), ["-c", path.join(dir, "nginx.conf"), "-p", dir], { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await poll(
    "nginx listening",
    () =>
      new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(false));
      }),
    { timeoutMs: 10_000 },
  );
  return {
    origin: `http://127.0.0.1:${port}`,
    // `nginx -v` writes its version to stderr.
    version: spawnSync(nginxBinary(), ["-v"], { encoding: "utf8" }).stderr.trim(),
    async stop() {
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function latencyRow(lat) {
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** A floor-web.mjs process in front of the web server; resolves with its origin and a stop. */
async function startFloor(kind, upstreamPort) {
  const child = spawn(process.execPath, [path.join(BENCH_DIR, "floor-web.mjs"), kind, String(upstreamPort)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    child.once("exit", (code) => reject(new Error(`floor-web ${kind} exited (${code})`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function main() {
  // HAProxy in front (--data-plane haproxy); the agent's own listener behind it is measured too, directly.
  const agent = await startAgentProcess({ label: "bench-endpoints", args: ["--data-plane", "haproxy"] });
  const inner = `http://${/^\s*server agent (\S+)$/m.exec(fs.readFileSync(path.join(agent.stateDir, "haproxy.cfg"), "utf8"))[1]}`;
  const results = {
    startedAt: new Date().toISOString(),
    command: `node agent/bench/endpoints.mjs${argv.length ? ` ${argv.join(" ")}` : ""}`,
    runs: RUNS,
    latencyRequests: LAT,
    loadMs: LOAD_MS,
    connections: CONNECTIONS,
    loadavgBefore: loadavg(),
  };
  let nginx = null;
  const floors = [];
  try {
    await agent.api.req("PUT", `/v1/apps/web?dir=${encodeURIComponent(APP_DIR)}`, {
      name: "web",
      functions: {
        fn: { handler: "handlers:hello", concurrency: { maxInputs: 32 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
        site: { handler: "handlers:serve", autoscaler: { minContainers: 1, maxContainers: 1 } },
      },
      endpoints: {
        fn: { function: "fn", path: "/fn", public: true },
        site: { function: "site", kind: "webServer", port: 8080, path: "/site", public: true },
      },
    });
    const containerOf = async (fn) => poll(`${fn} ready`, async () => (await agent.api.fn("web", fn)).containers.find((c) => c.state === "ready"));
    const fnWorker = await containerOf("fn");
    const siteWorker = await containerOf("site");
    const ready = await (await fetch(`http://127.0.0.1:${siteWorker.port}/ready`)).json();
    const webPort = ready.webPort;
    nginx = await startNginx(webPort);
    results.nginx = nginx.version.trim();
    const pipe = await startFloor("pipe", webPort);
    const nodeHttp = await startFloor("http", webPort);
    floors.push(pipe, nodeHttp);

    const reqObj = { method: "POST", path: "/fn", query: {}, headers: { "content-type": "application/json" }, body: { x: 1 } };
    const invokeBody = JSON.stringify({ inputs: [{ id: "b", args: [reqObj], kwargs: {} }] });
    const json = { "content-type": "application/json" };
    const sides = {
      e1: {
        direct: { origin: `http://127.0.0.1:${fnWorker.port}`, make: () => ({ path: "/invoke", headers: workerHeaders(agent, "web"), body: invokeBody }) },
        agent: { origin: inner, make: () => ({ path: "/web/web/fn", headers: json, body: '{"x":1}' }) },
        // Function endpoints are the agent's with either data plane: with HAProxy in front they pay its hop too.
        "via-haproxy": { origin: agent.url, make: () => ({ path: "/web/web/fn", headers: json, body: '{"x":1}' }) },
      },
      e2: {
        direct: { origin: `http://127.0.0.1:${webPort}`, make: () => ({ path: "/site/x", headers: json, body: '{"x":1}' }) },
        agent: { origin: inner, make: () => ({ path: "/web/web/site/x", headers: json, body: '{"x":1}' }) },
        haproxy: { origin: agent.url, make: () => ({ path: "/web/web/site/x", headers: json, body: '{"x":1}' }) },
        nginx: { origin: nginx.origin, make: () => ({ path: "/site/x", headers: json, body: '{"x":1}' }) },
        "node-pipe": { origin: pipe.origin, make: () => ({ path: "/site/x", headers: json, body: '{"x":1}' }) },
        "node-http": { origin: nodeHttp.origin, make: () => ({ path: "/site/x", headers: json, body: '{"x":1}' }) },
      },
    };
    // --sides a,b: only those (and direct, the baseline), e.g. `--sides haproxy,nginx` for the two proxies alone.
    const only = value("sides")?.split(",");
    if (only !== undefined) for (const group of Object.values(sides)) for (const side of Object.keys(group)) if (side !== "direct" && !only.includes(side)) delete group[side];
    for (const [name, group] of Object.entries(sides)) {
      if (Object.keys(group).length < 2) continue;
      for (const side of Object.values(group)) await sequential(side.origin, WARMUP, side.make);
      const perRun = {};
      for (let run = 0; run < RUNS; run++) {
        const lat = await interleaved(group, LAT, run + 1);
        for (const [side, l] of Object.entries(lat)) {
          const row = latencyRow(l);
          (perRun[side] ??= { p50: [], p99: [], rps: [] }).p50.push(row.p50);
          perRun[side].p99.push(row.p99);
        }
        for (const [side, s] of Object.entries(group)) {
          const r = await closedLoop(s.origin, { connections: CONNECTIONS, durationMs: LOAD_MS, warmupMs: SMOKE ? 100 : 300, make: s.make });
          if (r.failed > 0) throw new Error(`${name} ${side}: ${r.failed} failed (${r.firstError})`);
          perRun[side].rps.push(r.rps);
        }
      }
      const direct = perRun.direct;
      const table = {};
      for (const [side, v] of Object.entries(perRun)) {
        table[side] = {
          p50: summary(v.p50),
          p99: summary(v.p99),
          rps: summary(v.rps),
          ...(side === "direct"
            ? {}
            : {
                addedP50: summary(v.p50.map((x, i) => x - direct.p50[i])),
                addedP99: summary(v.p99.map((x, i) => x - direct.p99[i])),
                throughputRatio: summary(v.rps.map((x, i) => x / direct.rps[i])),
              }),
        };
      }
      if (table.nginx !== undefined) {
        const vsNginx = (side) => summary(perRun[side].p50.map((x, i) => (x - direct.p50[i]) / (perRun.nginx.p50[i] - direct.p50[i])));
        for (const side of Object.keys(table)) if (side !== "direct" && side !== "nginx") table[side].addedP50VsNginx = vsNginx(side);
      }
      results[name] = table;
      for (const [side, t] of Object.entries(table)) {
        log(
          `${name} ${side.padEnd(11)} p50 ${round(t.p50.median)} ms  p99 ${round(t.p99.median)} ms  ${Math.round(t.rps.median)} req/s` +
            (t.addedP50
              ? `  added p50 ${round(t.addedP50.median)} ms [${round(t.addedP50.min)} – ${round(t.addedP50.max)}], p99 ${round(t.addedP99.median)} ms, throughput ×${round(t.throughputRatio.median, 2)}`
              : ""),
        );
      }
      for (const [side, t] of Object.entries(table)) {
        if (t.addedP50VsNginx) log(`${name} ${side} added p50 / nginx added p50: ×${round(t.addedP50VsNginx.median, 2)} [${round(t.addedP50VsNginx.min, 2)} – ${round(t.addedP50VsNginx.max, 2)}]`);
      }
    }
    results.loadavgAfter = loadavg();
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
    log(`results: ${OUT}`);
  } finally {
    await nginx?.stop();
    for (const floor of floors) await floor.stop();
    await agent.stop();
  }
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exit(1);
});
