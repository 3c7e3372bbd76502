/**
 * Free loopback ports for worker processes: the kernel picks one (listen on port 0) and we release it
 * for the worker to bind. Another process could take it in between; the worker then exits with an
 * error, the container fails to start and the autoscaler starts another, so the race costs a retry.
 */
import * as net from "node:net";

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
