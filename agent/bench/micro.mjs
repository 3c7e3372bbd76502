#!/usr/bin/env node
// Cost of single operations that the agent does once per call on its hot path, measured in isolation
// (median of 7 rounds of 200,000 iterations each), to size proposed changes. Usage: node micro.mjs
import { randomUUID, timingSafeEqual } from "node:crypto";

const N = 200_000;
const ROUNDS = 7;
let sink = 0;

function bench(name, fn) {
  for (let i = 0; i < 20_000; i++) fn(i); // warm-up (JIT)
  const perOp = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    perOp.push(((performance.now() - t0) * 1000) / N);
  }
  perOp.sort((a, b) => a - b);
  process.stdout.write(`${perOp[ROUNDS >> 1].toFixed(3).padStart(8)} µs  ${name}\n`);
}

const token = Buffer.from(`Bearer wp_${"ab".repeat(32)}`);
const header = token.toString();
const body = { args: [12345], kwargs: {} };
const bodyText = JSON.stringify(body);
const workerText = '{"outputs":[{"id":"fc-0123456789abcdef0123456789abcdef","ok":true,"value":12345}]}';
const noop = () => undefined;

bench("new AbortController() + signal.addEventListener/removeEventListener('abort')", () => {
  const ac = new AbortController();
  ac.signal.addEventListener("abort", noop);
  ac.signal.removeEventListener("abort", noop);
});
bench("setTimeout + clearTimeout (per-attempt timer)", () => clearTimeout(setTimeout(noop, 300_000)));
bench("randomUUID().replace(/-/g, '') (call id)", () => (sink += randomUUID().replace(/-/g, "").length));
bench("Buffer.from(header) + timingSafeEqual (auth)", () => (sink += timingSafeEqual(Buffer.from(header), token) ? 1 : 0));
bench("JSON.parse(body) + JSON.stringify({args, kwargs}) (payload canonicalisation)", () => {
  const o = JSON.parse(bodyText);
  sink += JSON.stringify({ args: o.args, kwargs: o.kwargs }).length;
});
bench("JSON.parse(worker answer) + JSON.stringify(value) (result)", () => {
  const o = JSON.parse(workerText);
  sink += JSON.stringify(o.outputs[0].value).length;
});
bench("new Promise + resolve (settle)", () => {
  let res;
  const p = new Promise((r) => (res = r));
  res(1);
  sink += p ? 1 : 0;
});
if (sink === -1) process.stdout.write("");
