#!/usr/bin/env node
// @ts-check
/**
 * `node worker.js`: one container's worker process (PROTOCOL.md).
 *
 * Listen first, so the agent can poll `/ready` while the handler loads; load; serve until told to
 * stop; then drain, run the `exit` hooks and exit. Exit statuses: 0 after a clean shutdown, 1 when
 * an `exit` hook failed, 2 for an environment the agent should not have produced, 3 when the
 * handler failed to load or its `enter` hooks failed.
 */
"use strict";

const { fromEnv } = require("./lib/config");
const { Invoker } = require("./lib/invoke");
const { load } = require("./lib/loader");
const { Routes } = require("./lib/routes");
const { createServer } = require("./lib/server");
const { Stats } = require("./lib/stats");
const { startWebServer } = require("./lib/webserver");

/** @param {string} message */
function log(message) {
  process.stderr.write(`[warmpool] ${message}\n`);
}

async function main() {
  let config;
  try {
    config = fromEnv(process.env);
  } catch (error) {
    log(`bad environment: ${/** @type {Error} */ (error).message}`);
    process.exit(2);
  }

  /** @type {() => void} */
  let requestShutdown = () => {};
  /** @type {Promise<void>} */
  const stopped = new Promise((resolve) => {
    requestShutdown = resolve;
  });
  // Registered before loading, so a SIGTERM during a slow `enter` waits for it, then drains.
  process.on("SIGTERM", requestShutdown);
  process.on("SIGINT", requestShutdown);

  const stats = new Stats();
  const routes = new Routes(stats, Math.max(config.batchSize, 1), requestShutdown);
  const server = createServer(routes, config.maxInputs, config.token);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    // The agent may open maxInputs connections at once; a short backlog would make the rest retry.
    server.listen({ host: config.host, port: config.port, backlog: Math.max(511, 2 * config.maxInputs) }, () => resolve(undefined));
  });

  let handler;
  try {
    handler = await load(config.handler, config.appDir);
    if (process.env.WARMPOOL_WEB_PORT !== undefined) routes.advertiseWebPort(await startWebServer(handler.fn, config.host, Number(process.env.WARMPOOL_WEB_PORT)));
  } catch (error) {
    console.error(error);
    log(`${config.handler} failed to start in container ${config.containerId}`);
    process.exit(3);
  }
  routes.serve(new Invoker(handler, config.batchSize, stats));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  log(`ready: ${config.handler} on ${address.address}:${address.port}, container ${config.containerId}, node ${process.versions.node}`);

  await stopped;
  server.close();
  await routes.gate.closeAndWait();
  let status = 0;
  try {
    await handler.close();
  } catch (error) {
    console.error(error);
    status = 1;
  }
  log(`exited with status ${status}, container ${config.containerId}`);
  process.exit(status);
}

main();
