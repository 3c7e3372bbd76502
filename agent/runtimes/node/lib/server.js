// @ts-check
/**
 * HTTP/1.1 transport: keep-alive connections, no Nagle delay, no Date header to format per response.
 *
 * The port is reachable by more than the agent (other processes on the host's loopback, other pods),
 * so what a client can hold is bounded, as in the Python runtime (PROTOCOL.md, "Limits"): a head must
 * arrive within STALL_MS and a body may not pause for longer, an idle connection is closed after IDLE_MS, connections beyond
 * `maxConnections` are refused with a 503, and node:http's own refusals are the protocol's JSON.
 */
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const protocol = require("./protocol");

/** @typedef {import("./routes").Routes} Routes */

/** The paths that need the worker's App token, when it has one. */
const GUARDED = new Set(["/invoke", "/shutdown"]);
/** Idle keep-alive: above the agent's 60 s (containers/pool.ts), so the agent closes its idle connections first. */
const IDLE_MS = 75_000;
/** How long a request's head may take to arrive. */
const STALL_MS = 10_000;
/** Connections beyond max inputs: the agent's probes, a web server's port check, room for the agent's pool to replace connections. */
const CONNECTIONS_BEYOND_INPUTS = 64;

/**
 * @param {number} status
 * @param {string} type
 * @param {string} message
 */
function refusal(status, type, message) {
  const body = protocol.errorBody(type, message);
  const reason = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable" }[status];
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * @param {Routes} routes
 * @param {number} maxInputs
 * @param {string} token the App token the agent gave this worker ("": none required)
 */
function createServer(routes, maxInputs, token) {
  // Who may run inputs or stop this worker: holders of its App's token. /ready (the health probe) and
  // /stats (counters) stay open: they run nothing and hold no input or result.
  const expected = token === "" ? null : Buffer.from(`Bearer ${token}`);
  // connectionsCheckingInterval: how often node:http looks for heads past headersTimeout (30 s by default).
  const server = http.createServer({ noDelay: true, keepAliveTimeout: IDLE_MS, headersTimeout: STALL_MS, connectionsCheckingInterval: 1000 }, (request, response) => {
    // The body must keep arriving: STALL_MS without a byte ends the connection (node:http destroys a
    // socket whose timeout nobody listens for). Off once the body is in, so a handler may take as long
    // as it needs; node:http sets the keep-alive timeout again after the answer.
    request.socket.setTimeout(STALL_MS);
    request.once("end", () => request.socket.setTimeout(0));
    response.sendDate = false;
    if (expected !== null && GUARDED.has((request.url ?? "").split("?", 1)[0] ?? "")) {
      const given = Buffer.from(request.headers.authorization ?? "");
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
        // The body is left unread, so the connection cannot be reused.
        response.setHeader("Connection", "close");
        send(response, [401, protocol.errorBody("Unauthorized", "this worker takes requests only with its App's token")]);
        request.resume();
        return;
      }
    }
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
  const maxConnections = maxInputs + CONNECTIONS_BEYOND_INPUTS;
  let open = 0;
  server.on("connection", (socket) => {
    if (open >= maxConnections) {
      socket.on("error", () => {});
      socket.end(refusal(503, "Overloaded", `this worker holds ${maxConnections} connections already`));
      return;
    }
    open++;
    socket.once("close", () => open--);
  });
  server.on("clientError", (error, socket) => {
    const code = /** @type {{code?: string}} */ (error).code;
    if (!socket.writable || code === "ECONNRESET" || code === "EPIPE") return void socket.destroy();
    // end(), not destroy(): the answer is written first, then the connection closed.
    if (code === "HPE_HEADER_OVERFLOW") socket.end(refusal(431, "BadRequest", "request head too large"));
    else if (code === "ERR_HTTP_REQUEST_TIMEOUT") socket.end(refusal(408, "RequestTimeout", "the request did not arrive in time"));
    else socket.end(refusal(400, "BadRequest", `malformed request: ${error.message}`));
  });
  return server;
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
