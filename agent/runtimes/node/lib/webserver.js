// @ts-check
/**
 * Web-server functions (PROTOCOL.md, "Web-server endpoints"). When `WARMPOOL_WEB_PORT` is set, the
 * handler is called once at container start with the port to serve HTTP on (`0` in the environment
 * means any free port, chosen here). It may start a server and return (or return a promise); `/ready`
 * turns 200 only once the port accepts connections. A handler that throws (or rejects) before then is
 * a failed start.
 */
"use strict";

const net = require("node:net");

/** @param {string} host */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen({ host, port: 0 }, () => {
      const port = /** @type {net.AddressInfo} */ (s.address()).port;
      s.close(() => resolve(port));
    });
  });
}

/** @param {string} host @param {number} port @returns {Promise<boolean>} */
function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * @param {(port: number) => unknown} fn
 * @param {string} host
 * @param {number} declared
 * @returns {Promise<number>}
 */
async function startWebServer(fn, host, declared) {
  const port = declared > 0 ? declared : await freePort(host);
  /** @type {unknown[]} */
  const failed = [];
  Promise.resolve(fn(port)).catch((error) => failed.push(error)); // a synchronous throw fails the start at once
  const probe = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host;
  while (!(await accepts(probe, port))) {
    if (failed.length > 0) throw failed[0];
    await new Promise((r) => setTimeout(r, 10));
  }
  return port;
}

module.exports = { startWebServer };
