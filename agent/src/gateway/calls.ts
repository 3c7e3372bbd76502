/**
 * Invocation routes: `call` (waits for the result on the connection; not durable), `spawn` (durable
 * before 202), `GET /v1/calls/{id}?wait=` (long-poll) and `DELETE /v1/calls/{id}` (cancel).
 *
 * Handlers are named functions that read their per-function context from one lookup; nothing is
 * allocated per request beyond the input itself and the promise that waits for it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Lane } from "../queue/call-table";
import { AgentError } from "../errors";
import type { Input } from "../queue/call-table";
import { CALL_HEADERS } from "@warmpool/schema";
import type { Principal } from "../token";
import { IDEMPOTENCY_HEADER, idempotencyKey, invocationPayload, waitSeconds } from "./body";
import { describeInput, describeStored } from "./call-bodies";
import { storedPayload } from "./payloads";
import type { GatewayDeps } from "./deps";

type FnRequest = FastifyRequest<{ Params: { app: string; fn: string }; Body: unknown }>;
type CallRequest = FastifyRequest<{ Params: { id: string }; Querystring: { wait?: string } }>;

export function tooMany(lane: Lane, pending: number, limit: number): AgentError {
  return new AgentError("WP_ERR_TOO_MANY_PENDING", [JSON.stringify(lane.key), pending, limit], { retryAfter: 1, pending, limit });
}

/** 429 when the function already has `limit` inputs waiting (queued or in a retry delay). */
export function checkPending(lane: Lane, limit: number): void {
  const pending = lane.queued + lane.delayed;
  if (pending >= limit) throw tooMany(lane, pending, limit);
}

/**
 * How long a keyed call whose callers have all gone waits for one to come back before it is cancelled:
 * the clients' own retries (TypeScript and Python: 4, 0.25 s × 2^n apart) span 3.75 s.
 */
export const KEYED_CANCEL_GRACE_MS = 5000;

function settled(input: Input): Promise<Input> {
  return new Promise((resolve) => input.onSettle(resolve));
}

const PARENT_HEADER = CALL_HEADERS.parent.toLowerCase();

/**
 * The running call named by the request's Warmpool-Parent-Call header (the new call becomes its
 * child), or null without one. An App token may name only its App's calls; a parent that is not
 * running any more (finished, cancelled, unknown) refuses the request, so a cancelled parent cannot
 * start new work.
 */
export function parentOf(req: FastifyRequest, calls: GatewayDeps["calls"]): Input | null {
  const header = req.headers[PARENT_HEADER];
  if (header === undefined) return null;
  const id = Array.isArray(header) ? header[0] : header;
  const parent = typeof id === "string" ? calls.find(id) : undefined;
  const shown = JSON.stringify(String(id).slice(0, 100));
  if (parent === undefined || !ownedBy(req.principal, parent.lane.key)) throw new AgentError("WP_ERR_PARENT_NOT_RUNNING", [shown, CALL_HEADERS.parent, "not a call the agent is running"]);
  if (parent.final) throw new AgentError("WP_ERR_PARENT_NOT_RUNNING", [shown, CALL_HEADERS.parent, parent.status]);
  return parent;
}

/** Whether the principal may see the call of function `fnKey` (`app/fn`): the admin any, an App token its App's. */
export function ownedBy(principal: Principal, fnKey: string): boolean {
  return principal.kind === "admin" || fnKey.slice(0, fnKey.indexOf("/")) === principal.app;
}

/**
 * A pickled argument (`{"$pickle": base64}`, PROTOCOL.md "Values") for a function that takes JSON is
 * refused here, naming where it is: its worker would hand the handler the envelope as a plain dict.
 * The text search is the cheap test; the walk for the path runs only when it hits.
 */
export function refusePickles(config: { key: string; spec: { serialization: string } }, payload: string, where = "body"): void {
  if (config.spec.serialization === "pickle" || !payload.includes('"$pickle"')) return;
  const at = pickleAt(JSON.parse(payload) as unknown, where);
  if (at === null) return;
  throw new AgentError("WP_ERR_BAD_REQUEST", [
    `${at} is a pickled value ({"$pickle": ...}), but function ${config.key} takes JSON: set serialization: pickle on it (Python runtime only), or pass JSON values and bytes`,
  ]);
}

function pickleAt(value: unknown, path: string): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pickleAt(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === "$pickle") return path;
    for (const [k, v] of entries) {
      const found = pickleAt(v, `${path}.${k}`);
      if (found !== null) return found;
    }
  }
  return null;
}

function callNotFound(id: string): AgentError {
  return new AgentError("WP_ERR_CALL_NOT_FOUND", [JSON.stringify(id)]);
}

export function registerCalls(app: FastifyInstance, deps: GatewayDeps): void {
  const { calls, registry, store, options } = deps;
  const clock = options.clock;

  /**
   * What a call and a spawn do first: the function, the calling call, the breaker's word, the room
   * (`room` throws 429), then the arguments (stored or inline). A stored payload is taken last, so a
   * refused request leaves it for its retry (it is used once).
   */
  async function accept(req: FnRequest, room: (lane: Lane) => void): Promise<{ lane: Lane; payload: string; parent: Input | null }> {
    const fn = registry.lookup(req.params.app, req.params.fn);
    const parent = parentOf(req, calls);
    fn.admit();
    room(fn.lane);
    const payload = (await storedPayload(req, deps)) ?? invocationPayload(req.body);
    refusePickles(fn.config, payload);
    return { lane: fn.lane, payload, parent };
  }

  app.post("/v1/apps/:app/functions/:fn/call", { config: { scoped: "app" } }, async function call(req: FnRequest, reply: FastifyReply) {
    const { lane, payload, parent } = await accept(req, (lane) => checkPending(lane, options.maxPendingInputs));
    const key = idempotencyKey(req.headers[IDEMPOTENCY_HEADER], req.body);
    if (key !== undefined) return keyedCall(lane, payload, key, parent, reply);
    const input = calls.enqueueSync(lane, payload, parent);
    // A call is not durable: if the caller goes away, its input is cancelled.
    const onClose = (): void => {
      if (!input.final && !reply.raw.writableFinished) calls.cancel(input);
    };
    reply.raw.once("close", onClose);
    await settled(input);
    reply.raw.off("close", onClose);
    return reply.type("application/json").send(describeInput(input, false));
  });

  /** Requests waiting on each keyed call, so that one going away cancels it only when no retry came back for it. */
  const waiting = new Map<Input, number>();

  /**
   * A call with an idempotency key is durable (stored with its key before it runs), so that a retry
   * with the key finds it across agent restarts: it waits for the call the key names, whether this
   * request made it or an earlier one did. When every request waiting on it has gone, it is cancelled
   * KEYED_CANCEL_GRACE_MS later unless one came back meanwhile: a client that gave up (Ctrl-C, a
   * timeout) still cancels its call, and one whose connection broke finds it on its retry.
   */
  async function keyedCall(lane: Lane, payload: string, key: string, parent: Input | null, reply: FastifyReply): Promise<FastifyReply> {
    const { id, existing } = await calls.enqueueKeyed(lane, payload, key, parent);
    reply.header("idempotent-replayed", String(existing)).type("application/json");
    const input = calls.find(id);
    if (input !== undefined) {
      waiting.set(input, (waiting.get(input) ?? 0) + 1);
      const gone = (): void => {
        if (input.final || reply.raw.writableFinished) return;
        const left = (waiting.get(input) ?? 1) - 1;
        waiting.set(input, left);
        if (left > 0) return;
        clock.setTimeout(() => {
          if (!input.final && (waiting.get(input) ?? 0) === 0) calls.cancel(input);
        }, KEYED_CANCEL_GRACE_MS);
      };
      reply.raw.once("close", gone);
      await settled(input);
      reply.raw.off("close", gone);
      waiting.delete(input);
      return reply.send(describeInput(input, false));
    }
    const stored = await store.get(id);
    if (stored === undefined) throw new AgentError("WP_ERR_CALL_NOT_FOUND", [JSON.stringify(id)]);
    return reply.send(describeStored(stored));
  }

  app.post("/v1/apps/:app/functions/:fn/spawn", { config: { scoped: "app" } }, async function spawn(req: FnRequest, reply: FastifyReply) {
    const { lane, payload, parent } = await accept(req, (lane) => {
      if (lane.pendingSpawns >= options.maxPendingSpawns) throw tooMany(lane, lane.pendingSpawns, options.maxPendingSpawns);
    });
    const key = idempotencyKey(req.headers[IDEMPOTENCY_HEADER], req.body);
    if (key !== undefined) {
      const { id, existing } = await calls.enqueueKeyed(lane, payload, key, parent);
      return reply.code(202).header("idempotent-replayed", String(existing)).type("application/json").send(`{"callId":"${id}"}`);
    }
    const [input] = await calls.enqueueDurable(lane, [payload], parent);
    return reply
      .code(202)
      .type("application/json")
      .send(`{"callId":"${(input as Input).id}"}`);
  });

  app.get("/v1/calls/:id", { config: { scoped: "any" } }, async function getCall(req: CallRequest, reply: FastifyReply) {
    const wait = waitSeconds(req.query.wait);
    const input = calls.find(req.params.id);
    if (input !== undefined) {
      // Another App's call is answered as if it did not exist: an App token learns nothing of it.
      if (!ownedBy(req.principal, input.lane.key)) throw callNotFound(req.params.id);
      if (!input.final && wait > 0) {
        await new Promise<void>((resolve) => {
          const listener = (): void => {
            timer.cancel();
            resolve();
          };
          const timer = clock.setTimeout(() => {
            input.offSettle(listener);
            resolve();
          }, wait * 1000);
          input.onSettle(listener);
        });
      }
      return reply.type("application/json").send(describeInput(input, true));
    }
    const stored = await store.get(req.params.id);
    if (stored === undefined || !ownedBy(req.principal, stored.fn)) throw callNotFound(req.params.id);
    return reply.type("application/json").send(describeStored(stored));
  });

  app.delete("/v1/calls/:id", { config: { scoped: "any" } }, async function cancelCall(req: CallRequest, reply: FastifyReply) {
    const input = calls.find(req.params.id);
    if (input !== undefined) {
      if (!ownedBy(req.principal, input.lane.key)) throw callNotFound(req.params.id);
      const cancelled = calls.cancel(input);
      return reply.send({ callId: input.id, status: input.status, cancelled });
    }
    const stored = await store.get(req.params.id);
    if (stored === undefined || !ownedBy(req.principal, stored.fn)) throw callNotFound(req.params.id);
    return reply.send({ callId: stored.id, status: stored.state === "completed" ? "succeeded" : stored.state, cancelled: false });
  });
}
