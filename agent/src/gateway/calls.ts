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
import { IDEMPOTENCY_HEADER, idempotencyKey, invocationPayload, waitSeconds } from "./body";
import { describeInput, describeStored } from "./call-bodies";
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

export function registerCalls(app: FastifyInstance, deps: GatewayDeps): void {
  const { calls, registry, store, options } = deps;
  const clock = options.clock;

  app.post("/v1/apps/:app/functions/:fn/call", async function call(req: FnRequest, reply: FastifyReply) {
    const fn = registry.lookup(req.params.app, req.params.fn);
    const lane = fn.lane;
    const payload = invocationPayload(req.body);
    fn.admit();
    checkPending(lane, options.maxPendingInputs);
    const key = idempotencyKey(req.headers[IDEMPOTENCY_HEADER], req.body);
    if (key !== undefined) return keyedCall(lane, payload, key, reply);
    const input = calls.enqueueSync(lane, payload);
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
  async function keyedCall(lane: Lane, payload: string, key: string, reply: FastifyReply): Promise<FastifyReply> {
    const { id, existing } = await calls.enqueueKeyed(lane, payload, key);
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

  app.post("/v1/apps/:app/functions/:fn/spawn", async function spawn(req: FnRequest, reply: FastifyReply) {
    const fn = registry.lookup(req.params.app, req.params.fn);
    const lane = fn.lane;
    const payload = invocationPayload(req.body);
    fn.admit();
    if (lane.pendingSpawns >= options.maxPendingSpawns) throw tooMany(lane, lane.pendingSpawns, options.maxPendingSpawns);
    const key = idempotencyKey(req.headers[IDEMPOTENCY_HEADER], req.body);
    if (key !== undefined) {
      const { id, existing } = await calls.enqueueKeyed(lane, payload, key);
      return reply.code(202).header("idempotent-replayed", String(existing)).type("application/json").send(`{"callId":"${id}"}`);
    }
    const [input] = await calls.enqueueDurable(lane, [payload]);
    return reply
      .code(202)
      .type("application/json")
      .send(`{"callId":"${(input as Input).id}"}`);
  });

  app.get("/v1/calls/:id", async function getCall(req: CallRequest, reply: FastifyReply) {
    const wait = waitSeconds(req.query.wait);
    const input = calls.find(req.params.id);
    if (input !== undefined) {
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
    if (stored === undefined) throw new AgentError("WP_ERR_CALL_NOT_FOUND", [JSON.stringify(req.params.id)]);
    return reply.type("application/json").send(describeStored(stored));
  });

  app.delete("/v1/calls/:id", async function cancelCall(req: CallRequest, reply: FastifyReply) {
    const input = calls.find(req.params.id);
    if (input !== undefined) {
      const cancelled = calls.cancel(input);
      return reply.send({ callId: input.id, status: input.status, cancelled });
    }
    const stored = await store.get(req.params.id);
    if (stored === undefined) throw new AgentError("WP_ERR_CALL_NOT_FOUND", [JSON.stringify(req.params.id)]);
    return reply.send({ callId: stored.id, status: stored.state === "completed" ? "succeeded" : stored.state, cancelled: false });
  });
}
