/**
 * The metrics listener (`--metrics-port`): `GET /metrics` in Prometheus' text format and nothing else,
 * without a token, on its own port, so that Prometheus scrapes it as the Runtime's pod annotations
 * say (`prometheus.io/port`) without holding the API token. The API and its /metrics (which does need
 * the token) stay on the gateway's port. Metrics name functions and apps, never arguments, results or
 * tokens.
 *
 * Plain node:http, not the gateway: one route, bodies ignored, the head within the agent's
 * `--headers-timeout` (checked every second: node's default check, every 30 s, held a head that never
 * ended for 30 s in the fuzz suite), and idle connections closed after 10 s.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

export function listenMetrics(registry: Registry, host: string, port: number, headersTimeoutMs: number): Promise<MetricsListener> {
  const server = http.createServer({ requestTimeout: headersTimeoutMs, headersTimeout: headersTimeoutMs, connectionsCheckingInterval: 1000, keepAliveTimeout: 10_000 }, (req, res) => {
    req.resume();
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      const allowed = path === "/metrics";
      res.writeHead(allowed ? 405 : 404, { "content-type": "text/plain", ...(allowed ? { allow: "GET, HEAD" } : {}) }).end(allowed ? "GET /metrics only\n" : "only /metrics is served on this port\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n"),
    );
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
      resolve({
        url: `http://${h}:${a.port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
