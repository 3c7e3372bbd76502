// @ts-check
/**
 * What each endpoint answers, independent of the HTTP plumbing in `server`. Constant bodies are
 * encoded once here; the per-request path is parse, run, join.
 */
"use strict";

const protocol = require("./protocol");

/** @typedef {[status: number, body: string]} Response */

/** @type {Response} */ const READY = [200, JSON.stringify({ ready: true })];
/** @type {Response} */ const NOT_READY = [503, JSON.stringify({ ready: false })];
/** @type {Response} */ const SHUTDOWN = [202, JSON.stringify({ shuttingDown: true })];
/** @type {Response} */ const NOT_LOADED = [503, protocol.errorBody("NotReady", "the handler is still loading")];
/** @type {Response} */ const DRAINING = [503, protocol.errorBody("ShuttingDown", "the worker is shutting down")];
/** @type {Response} */ const NOT_FOUND = [404, protocol.errorBody("NotFound", "no such endpoint")];
/** @type {Response} */ const WRONG_METHOD = [405, protocol.errorBody("MethodNotAllowed", "method not allowed on this endpoint")];

/** @type {Record<string, string>} */
const ENDPOINTS = { "/ready": "GET", "/stats": "GET", "/invoke": "POST", "/shutdown": "POST" };

/** Counts requests being served, so shutdown can wait for them, and refuses new ones once closed. */
class RequestGate {
  active = 0;
  closed = false;
  /** @type {(() => void) | null} */
  onIdle = null;

  enter() {
    if (this.closed) return false;
    this.active += 1;
    return true;
  }

  leave() {
    this.active -= 1;
    if (this.active === 0 && this.onIdle !== null) this.onIdle();
  }

  /** @returns {Promise<void>} */
  closeAndWait() {
    this.closed = true;
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onIdle = resolve;
    });
  }
}

class Routes {
  draining = DRAINING;
  gate = new RequestGate();
  /** @type {import("./invoke").Invoker | null} */
  invoker = null;
  /** @type {Response | null} */
  ready = null;

  /**
   * @param {import("./stats").Stats} stats
   * @param {number} maxRequestInputs
   * @param {() => void} requestShutdown
   */
  constructor(stats, maxRequestInputs, requestShutdown) {
    this.stats = stats;
    this.maxRequestInputs = maxRequestInputs;
    this.requestShutdown = requestShutdown;
  }

  /**
   * The handler has loaded: `/ready` turns 200 and `/invoke` runs inputs.
   * @param {import("./invoke").Invoker} invoker
   */
  serve(invoker) {
    this.invoker = invoker;
  }

  /**
   * A web-server function: `/ready` names the port its server listens on.
   * @param {number} port
   */
  advertiseWebPort(port) {
    this.ready = /** @type {Response} */ ([200, JSON.stringify({ ready: true, webPort: port })]);
  }

  /**
   * @param {string | undefined} method
   * @param {string | undefined} path
   * @param {string} body
   * @returns {Response | Promise<Response>}
   */
  handle(method, path, body) {
    if (path === "/invoke" && method === "POST") return this.invoke(body);
    const expected = path === undefined ? undefined : ENDPOINTS[path];
    if (expected === undefined) return NOT_FOUND;
    if (method !== expected) return WRONG_METHOD;
    if (path === "/ready") return this.invoker !== null ? (this.ready ?? READY) : NOT_READY;
    if (path === "/stats") return [200, JSON.stringify(this.stats.snapshot())];
    this.requestShutdown();
    return SHUTDOWN;
  }

  /**
   * @param {string} body
   * @returns {Promise<Response>}
   */
  async invoke(body) {
    if (this.invoker === null) return NOT_LOADED;
    let inputs;
    try {
      inputs = protocol.parseInvoke(body, this.maxRequestInputs);
    } catch (error) {
      if (!(error instanceof protocol.BadRequest)) throw error;
      return [400, protocol.errorBody("BadRequest", error.message)];
    }
    return [200, protocol.outputs(await this.invoker.run(inputs))];
  }
}

module.exports = { Routes };
