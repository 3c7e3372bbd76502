// The floor of benchmark (a): the least an HTTP hop written in Node costs on this machine. A bare
// node:http server that forwards each call to the same worker's POST /invoke over a keep-alive undici
// pool and answers like the agent's /call — no auth, no routing, no queue, no state. Comparing the
// agent with it separates the agent's own work from the price of any extra loopback hop.
import * as http from "node:http";
import { Pool } from "undici";

const target = process.argv[2];
const pool = new Pool(target, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
const HEADERS = { "content-type": "application/json" };
// The worker's App token (process.argv[3]), which it requires on /invoke as it does from the agent.
const TO_WORKER = { ...HEADERS, authorization: process.argv[3] };
let n = 0;
const server = http.createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = `fp-${n++}`;
    pool
      .request({ path: "/invoke", method: "POST", headers: TO_WORKER, body: `{"inputs":[{"id":"${id}",${body.slice(1)}]}` })
      .then((r) => r.body.text())
      .then((text) => {
        const out = JSON.parse(text).outputs[0];
        res.writeHead(200, HEADERS);
        res.end(`{"callId":"${id}","status":"succeeded","result":${JSON.stringify(out.value ?? null)}}`);
      })
      .catch((err) => {
        res.writeHead(502, HEADERS);
        res.end(JSON.stringify({ error: err.message }));
      });
  });
});
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("message", (m) => {
  if (m === "close") {
    server.close();
    void pool.close().then(() => process.exit(0));
  }
});
