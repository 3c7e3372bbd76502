/**
 * `POST .../map`: many inputs in one request, results streamed back as NDJSON, in input order
 * (`?ordered=true`, the default) or as they finish (`?ordered=false`).
 *
 * Memory stays bounded whatever the number of inputs: at most `mapWindow` inputs of one map are
 * admitted and not yet written back (in order mode that includes results held for an earlier one), the
 * request body is read only as fast as inputs are admitted (an NDJSON body is consumed line by line,
 * so TCP backpressure reaches the client), and nothing more is admitted while the response waits for
 * `drain`. If the client goes away the map's outstanding inputs are cancelled.
 *
 * Lines: `{"index", "callId", "status", "result"|"error"}` per input, then one
 * `{"done": true, "total", "succeeded", "failed", "cancelled"}`; a malformed input ends the stream with
 * `{"error": {...}}`.
 */
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AgentError, errorBody } from "../errors";
import type { Input } from "../queue/call-table";
import { idempotencyKey, invocationPayload, jsonTooDeep, tooDeep } from "./body";
import { storedPayload } from "./payloads";
import { checkPending, parentOf, refusePickles } from "./calls";
import { describeInput, describeStored } from "./call-bodies";
import type { GatewayDeps } from "./deps";

type MapRequest = FastifyRequest<{ Params: { app: string; fn: string }; Querystring: { ordered?: string }; Body: unknown }>;

export function registerMap(app: FastifyInstance, deps: GatewayDeps): void {
  const { registry, options } = deps;
  app.post("/v1/apps/:app/functions/:fn/map", { config: { scoped: "app" } }, async function map(req: MapRequest, reply: FastifyReply) {
    const deployed = registry.lookup(req.params.app, req.params.fn);
    const lane = deployed.lane;
    const fnConfig = deployed.config;
    const parent = parentOf(req, deps.calls);
    // A map is admitted (or refused by an open breaker) as a whole, when it starts.
    deployed.admit();
    const ordered = req.query.ordered !== "false" && req.query.ordered !== "0";
    const body = req.body;
    let source: Iterable<unknown> | AsyncIterable<unknown>;
    if (Array.isArray(body)) source = body;
    else if (body !== null && typeof body === "object" && typeof (body as Readable).pipe === "function") source = ndjson(body as Readable, options.payloadLimitBytes);
    else throw new AgentError("WP_ERR_BAD_REQUEST", ["map body must be a JSON array of inputs or an NDJSON stream (Content-Type: application/x-ndjson)"]);
    checkPending(lane, options.maxPendingInputs);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    const window = options.mapWindow;
    const calls = deps.calls;
    const outstanding = new Set<Input>();
    const held = new Map<number, string>();
    let admitted = 0;
    let written = 0;
    let nextIndex = 0;
    let succeeded = 0;
    let failed = 0;
    let cancelled = 0;
    let aborted = false;
    let wake: (() => void) | null = null;

    const write = (line: string): void => {
      written++;
      res.write(line);
    };
    const onDone = (index: number, input: Input): void => {
      outstanding.delete(input);
      settle(index, input.state, describeInput(input, false));
    };
    const settle = (index: number, state: string, body: string): void => {
      if (state === "completed") succeeded++;
      else if (state === "failed") failed++;
      else cancelled++;
      const line = `{"index":${index},${body.slice(1)}\n`;
      if (!ordered) write(line);
      else {
        held.set(index, line);
        for (let l = held.get(nextIndex); l !== undefined; l = held.get(nextIndex)) {
          held.delete(nextIndex++);
          write(l);
        }
      }
      if (wake !== null) wake();
    };
    res.once("close", () => {
      if (res.writableFinished) return;
      aborted = true;
      for (const input of outstanding) calls.cancel(input);
      if (wake !== null) wake();
    });
    const waitUntil = async (ready: () => boolean): Promise<void> => {
      while (!aborted && !ready()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          // One drain listener per wait, removed when something else wakes it (a result, an abort):
          // otherwise every wake left one behind (MaxListenersExceededWarning on long maps).
          if (res.writableNeedDrain) {
            const onDrain = (): void => resolve();
            res.once("drain", onDrain);
            wake = () => {
              res.off("drain", onDrain);
              resolve();
            };
          }
        });
        wake = null;
      }
    };

    try {
      for await (const item of source) {
        if (aborted) break;
        await waitUntil(() => admitted - written < window && !res.writableNeedDrain);
        if (aborted) break;
        const payload = (await storedPayload(req, deps, item, `input ${admitted}`)) ?? invocationPayload(item, `input ${admitted}`);
        refusePickles(fnConfig, payload, `input ${admitted}`);
        const index = admitted++;
        // Only an input's own idempotencyKey field keys it: a map's Idempotency-Key header (the Python
        // client sends one) is not applied to its inputs, which stay in memory and are cancelled when
        // the caller leaves, as the map's callers rely on.
        const key = idempotencyKey(undefined, item);
        if (key === undefined) {
          const input = calls.enqueueSync(lane, payload, parent);
          outstanding.add(input);
          input.onSettle((i) => onDone(index, i));
          continue;
        }
        // A keyed input is durable like a spawn: not cancelled when the caller goes, so its retry finds it.
        const { id } = await calls.enqueueKeyed(lane, payload, key, parent);
        const input = calls.find(id);
        if (input !== undefined) input.onSettle((i) => onDone(index, i));
        else {
          const stored = await deps.store.get(id);
          if (stored === undefined) throw new AgentError("WP_ERR_CALL_NOT_FOUND", [JSON.stringify(id)]);
          settle(index, stored.state, describeStored(stored));
        }
      }
      await waitUntil(() => written === admitted);
      if (!aborted) res.end(`${JSON.stringify({ done: true, total: admitted, succeeded, failed, cancelled })}\n`);
    } catch (err) {
      for (const input of outstanding) calls.cancel(input);
      const e = err instanceof AgentError ? err : new AgentError("WP_ERR_BAD_REQUEST", [(err as Error).message]);
      if (!aborted) res.end(`${errorBody(e)}\n`);
    }
  });
}

/** Items of an NDJSON stream, parsed one line at a time as the consumer asks for them. */
async function* ndjson(stream: Readable, lineLimit: number): AsyncGenerator<unknown> {
  let rest = "";
  let lineNo = 0;
  stream.setEncoding("utf8");
  for await (const chunk of stream as AsyncIterable<string>) {
    rest += chunk;
    let start = 0;
    let nl = rest.indexOf("\n");
    while (nl >= 0) {
      const line = rest.slice(start, nl);
      start = nl + 1;
      lineNo++;
      if (line.trim() !== "") yield parseLine(line, lineNo);
      nl = rest.indexOf("\n", start);
    }
    rest = rest.slice(start);
    if (rest.length > lineLimit) throw new AgentError("WP_ERR_PAYLOAD_TOO_LARGE", [lineLimit]);
  }
  if (rest.trim() !== "") yield parseLine(rest, lineNo + 1);
}

function parseLine(line: string, lineNo: number): unknown {
  if (jsonTooDeep(line)) throw tooDeep(`NDJSON line ${lineNo}`);
  try {
    return JSON.parse(line) as unknown;
  } catch (err) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`NDJSON line ${lineNo} is not JSON: ${(err as Error).message}`]);
  }
}
