#!/usr/bin/env node
// Price of one message between two processes on this machine: a ping-pong of 100-byte messages over a
// loopback TCP connection and over a Unix domain socket, sequential (round-trip time) and with 16
// messages in flight (CPU per message, both processes). Sizes the "fewer hops / cheaper hops"
// proposals for the agent ⇄ worker link. Usage: node micro-ipc.mjs
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const MSG = Buffer.alloc(100, 120);

if (process.argv[2] === "server") {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d) => s.write(d));
  });
  const where = process.argv[3];
  if (where === "tcp") server.listen(0, "127.0.0.1", () => process.send(server.address().port));
  else server.listen(where, () => process.send(where));
} else {
  const cpu = (pid) => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(x[11]) + Number(x[12])) / 100;
  };
  const run = async (kind) => {
    const sock = path.join(os.tmpdir(), `wp-ipc-${process.pid}.sock`);
    fs.rmSync(sock, { force: true });
    const child = fork(fileURLToPath(import.meta.url), ["server", kind === "tcp" ? "tcp" : sock]);
    const addr = await new Promise((r) => child.once("message", r));
    const s = kind === "tcp" ? net.connect(addr, "127.0.0.1") : net.connect(addr);
    s.setNoDelay(true);
    await new Promise((r) => s.once("connect", r));
    let pending = null;
    let got = 0;
    let want = 0;
    s.on("data", (d) => {
      got += d.length;
      if (got >= want && pending) {
        const p = pending;
        pending = null;
        p();
      }
    });
    const exchange = (n) => {
      want += n * MSG.length;
      const done = new Promise((r) => (pending = r));
      for (let i = 0; i < n; i++) s.write(MSG);
      return done;
    };
    for (let i = 0; i < 2000; i++) await exchange(1);
    const N = 20000;
    const rtt = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await exchange(1);
      rtt[i] = performance.now() - t0;
    }
    rtt.sort();
    const c0 = cpu(process.pid) + cpu(child.pid);
    const t0 = performance.now();
    const M = 2000;
    for (let i = 0; i < M; i++) await exchange(16);
    const wall = performance.now() - t0;
    const cpuPerMsg = ((cpu(process.pid) + cpu(child.pid) - c0) * 1e6) / (M * 16 * 2);
    s.destroy();
    child.kill();
    fs.rmSync(sock, { force: true });
    process.stdout.write(
      `${kind.padEnd(4)} round trip p50 ${(rtt[N >> 1] * 1000).toFixed(1)} µs, p99 ${(rtt[Math.floor(N * 0.99)] * 1000).toFixed(1)} µs; 16 in flight: ${Math.round((M * 16) / (wall / 1000))} round trips/s, ${cpuPerMsg.toFixed(1)} µs CPU per one-way message\n`,
    );
  };
  for (const k of ["tcp", "unix", "tcp", "unix"]) await run(k);
}
