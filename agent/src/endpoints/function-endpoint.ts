/**
 * Function endpoints: each HTTP request becomes one call of the handler, with one argument, the
 * request `{method, path, query, headers, body}` (`path` is the full path after `/web/<app>`, `body` is
 * the parsed JSON for a JSON content type, the text otherwise, null when empty). The result is the
 * response: any JSON value is sent as `200 application/json`; a value in the reserved shape
 * `{"__warmpool__": "response", "status", "headers", "body"}` (the runtimes' `Response` helper) sets
 * the status code and headers, and its `body` is sent as text when it is a string and the headers set a
 * content-type, as JSON otherwise. A failed call answers `500 {"error": {code, message, callId, type,
 * traceback}}` (499 when it was cancelled, 503 when its containers could not start).
 *
 * Cold start: requests are queued on the function like any call, so they wait while it scales up from
 * zero; while it has no ready container at most `maxPendingRequests` of an endpoint wait (then `503`
 * WP_ERR_ENDPOINT_OVERLOADED), and one still waiting when the function's startup timeout has passed
 * is answered `503` too. Past `syncTimeout` the request is answered `303` to `/v1/calls/{id}`, which the
 * caller polls with the API token; from then on the call is in the store like a spawned one.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { DeployedFunction } from "../apps/deployed-function";
import type { Input } from "../queue/call-table";
import { PEER_HEADER } from "../routes/routing";
import type { Route } from "../routes/table";
import { AgentError, ATTEMPT_ERRORS } from "../errors";
import { jsonTooDeep, tooDeep } from "../gateway/body";
import type { WebDeps } from "./deps";

export const RESPONSE_MARKER = "response";

/**
 * The request headers a handler sees: the client's, less the agent's own credentials (its token in
 * `Authorization`, which a non-public endpoint requires) and what HAProxy tells the agent about the
 * client. A handler's output lands in logs and, past syncTimeout, in the state database.
 */
export function handlerHeaders(checkToken: WebDeps["checkToken"], headers: FastifyRequest["headers"]): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k === PEER_HEADER || k === "proxy-authorization") continue;
    if (k === "authorization" && checkToken(v as string) === "ok") continue;
    out[k] = v;
  }
  return out;
}

export async function readBody(req: FastifyRequest, limit: number): Promise<Buffer> {
  const stream = req.body as NodeJS.ReadableStream | undefined;
  if (stream === undefined || stream === null || typeof (stream as { on?: unknown }).on !== "function") return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error("body too large"), { tooLarge: true });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseBody(raw: Buffer, type: string | undefined): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  if (type !== undefined && /\bjson\b/i.test(type)) {
    if (jsonTooDeep(text)) throw tooDeep("the request body");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

export async function serveFunction(deps: WebDeps, route: Route, fn: DeployedFunction, subPath: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let raw: Buffer;
  const options = deps.options;
  try {
    raw = await readBody(req, options.payloadLimitBytes);
  } catch (err) {
    if ((err as { tooLarge?: boolean }).tooLarge) throw new AgentError("WP_ERR_PAYLOAD_TOO_LARGE", [options.payloadLimitBytes]);
    throw err;
  }
  const q = req.url.indexOf("?");
  const request = {
    method: req.method,
    path: subPath,
    query: Object.fromEntries(new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1))),
    headers: handlerHeaders(deps.checkToken, req.headers),
    body: parseBody(raw, req.headers["content-type"]),
  };
  const spec = route.spec;
  // A request is a new call: refused (503, Retry-After) while the function's breaker is open.
  fn.admit();
  const cold = fn.pool.readyCount() === 0;
  const lane = fn.lane;
  if (cold) {
    // Held while the function starts: counted on the route, at most maxPendingRequests (503 past it).
    route.held.enter(fn.key);
    if (lane.queued + lane.delayed >= options.maxPendingInputs) {
      route.held.leave();
      throw new AgentError("WP_ERR_ENDPOINT_OVERLOADED", [`function ${fn.key} already has ${lane.queued + lane.delayed} pending inputs`], { retryAfter: 1 });
    }
  } else if (lane.queued + lane.delayed >= options.maxPendingInputs) {
    throw new AgentError("WP_ERR_TOO_MANY_PENDING", [JSON.stringify(fn.key), lane.queued + lane.delayed, options.maxPendingInputs], { retryAfter: 1 });
  }
  // A class's method (the endpoint's `method`) runs on the class's instance without parameters.
  const input = deps.calls.enqueueSync(lane, JSON.stringify({ args: [request], kwargs: {}, ...(spec.method === undefined ? {} : { method: spec.method }) }));
  const clock = options.clock;
  let released = false;
  const release = (): void => {
    if (cold && !released) {
      released = true;
      route.held.leave();
    }
  };
  type Outcome = "settled" | "sync-timeout" | "startup-timeout";
  const outcome = await new Promise<Outcome>((resolve) => {
    const timers: Array<{ cancel(): void }> = [];
    const done = (o: Outcome): void => {
      for (const t of timers) t.cancel();
      input.offSettle(onSettle);
      resolve(o);
    };
    const onSettle = (): void => done("settled");
    const onClose = (): void => {
      if (!input.final && !reply.raw.writableFinished) deps.calls.cancel(input);
    };
    reply.raw.once("close", onClose);
    input.onSettle(onSettle);
    if (input.final) return;
    timers.push(clock.setTimeout(() => done("sync-timeout"), spec.syncTimeout * 1000));
    if (cold) {
      timers.push(
        clock.setTimeout(() => {
          if (input.state === "waiting") done("startup-timeout");
        }, fn.config.startupTimeoutMs),
      );
    }
    input.onSettle(() => reply.raw.off("close", onClose));
  });
  release();
  if (outcome === "startup-timeout") {
    deps.calls.cancel(input);
    throw new AgentError("WP_ERR_COLD_START_TIMEOUT", [fn.key, fn.config.startupTimeoutMs / 1000], fn.pool.lastStartError === null ? {} : { lastStartError: fn.pool.lastStartError });
  }
  if (outcome === "sync-timeout") return redirectToResult(deps, input, reply);
  return sendResult(input, reply);
}

/** Past syncTimeout: the call goes into the store (pending, then its result) and the caller polls it. */
async function redirectToResult(deps: WebDeps, input: Input, reply: FastifyReply): Promise<FastifyReply> {
  await deps.calls.keep(input);
  const location = `/v1/calls/${input.id}`;
  return reply
    .code(303)
    .header("location", location)
    .type("application/json")
    .send(JSON.stringify({ callId: input.id, status: input.status, result: location }));
}

function sendResult(input: Input, reply: FastifyReply): FastifyReply {
  if (input.state !== "completed") {
    // Containers that cannot start are the service's problem, not the handler's: 503 like a cold-start timeout.
    const status = input.state === "cancelled" ? 499 : input.error?.type === ATTEMPT_ERRORS.startup ? 503 : 500;
    const { message, ...remote } = input.error ?? { type: "Error", message: input.state };
    throw new AgentError("WP_ERR_HANDLER_FAILED", [message], { callId: input.id, ...remote }, status);
  }
  const text = input.result ?? "null";
  // Cheap test before parsing: only a result that mentions the marker can be a Response.
  if (text.startsWith("{") && text.includes('"__warmpool__"')) {
    const value = JSON.parse(text) as { __warmpool__?: unknown; status?: unknown; headers?: unknown; body?: unknown };
    if (value.__warmpool__ === RESPONSE_MARKER) {
      const status = typeof value.status === "number" ? value.status : 200;
      const headers = (typeof value.headers === "object" && value.headers !== null ? value.headers : {}) as Record<string, string>;
      let hasType = false;
      for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() === "content-type") hasType = true;
        reply.header(k, String(v));
      }
      reply.code(status);
      if (typeof value.body === "string" && hasType) return reply.send(value.body);
      if (!hasType) reply.type("application/json");
      return reply.send(value.body === undefined ? "null" : JSON.stringify(value.body));
    }
  }
  return reply.code(200).type("application/json").send(text);
}
