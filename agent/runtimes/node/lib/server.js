// @ts-check
/**
 * HTTP/1.1 transport: keep-alive connections that are never timed out (the agent decides when to
 * close them, as with the Python runtime), no Nagle delay, no Date header to format per response.
 */
"use strict";

const http = require("node:http");
const protocol = require("./protocol");

/** @typedef {import("./routes").Routes} Routes */

/**
 * @param {Routes} routes
 */
function createServer(routes) {
  // keepAliveTimeout 0 instead of http.Server's 5 s leaves idle keep-alive connections open.
  return http.createServer({ noDelay: true, keepAliveTimeout: 0 }, (request, response) => {
    response.sendDate = false;
    if (!routes.gate.enter()) {
      response.setHeader("Connection", "close");
      send(response, routes.draining);
      request.resume();
      return;
    }
    response.once("close", () => routes.gate.leave());
    readBody(request).then(
      (body) => respond(routes, request, response, body),
      () => response.destroy(),
    );
  });
}

/**
 * @param {http.IncomingMessage} request
 * @returns {Promise<string>}
 */
function readBody(request) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.once("end", () => resolve(chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString()));
    request.once("error", reject);
  });
}

/**
 * @param {Routes} routes
 * @param {http.IncomingMessage} request
 * @param {http.ServerResponse} response
 * @param {string} body
 */
async function respond(routes, request, response, body) {
  try {
    send(response, await routes.handle(request.method, request.url, body));
  } catch (error) {
    // A bug in the runtime, not the handler (whose errors are results): say so, keep serving.
    console.error(error);
    send(response, [500, protocol.errorBody("InternalError", String(error))]);
  }
}

/**
 * @param {http.ServerResponse} response
 * @param {import("./routes").Response} reply
 */
function send(response, [status, body]) {
  response.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  response.end(body);
}

module.exports = { createServer };
