/**
 * Invocations larger than the inline limit (the gateway's payload limit, 16 MiB): `POST /v1/payloads`
 * takes one, `{"args", "kwargs"}`, up to `largePayloadLimitBytes` (256 MiB), stores it and answers
 * `{"payloadId"}`; a `call` or `spawn` whose body is `{"payload": "<payloadId>"}`, or a `map` input
 * that is, then runs it. The
 * stored payload is taken (read and deleted) by that call, so it is used once; one never used goes
 * with the hourly sweep of results older than the result TTL. Ids live in the namespace of the token
 * that stored them (an App's, or the admin's), so one App cannot run another's payload.
 *
 * Why not raise the inline limit instead: every other route would then buffer that much per
 * request; this route alone does, one upload at a time per connection.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AgentError } from "../errors";
import { invocationPayload } from "./body";
import type { GatewayDeps } from "./deps";

const PAYLOAD_ID = /^pl-[0-9a-f]{32}$/;

export function registerPayloads(app: FastifyInstance, deps: GatewayDeps): void {
  const store = deps.store.collections;
  app.post("/v1/payloads", { bodyLimit: deps.options.largePayloadLimitBytes, config: { scoped: "any" } }, async function storePayload(req: FastifyRequest) {
    const payload = invocationPayload(req.body);
    const id = `pl-${randomBytes(16).toString("hex")}`;
    await store.putPayload(namespace(req), id, payload, deps.options.clock.now());
    return { payloadId: id, bytes: Buffer.byteLength(payload) };
  });
}

function namespace(req: FastifyRequest): string {
  return req.principal.kind === "app" ? req.principal.app : "";
}

/**
 * `{"payload": "<id>"}` (a call's or spawn's body, or a map's input, `where`): the stored invocation's
 * text (taken from the store); anything else: undefined.
 */
export async function storedPayload(req: FastifyRequest, deps: GatewayDeps, body: unknown = req.body, where = "body"): Promise<string | undefined> {
  if (body === null || typeof body !== "object" || Array.isArray(body) || !("payload" in body)) return undefined;
  const keys = Object.keys(body);
  const id = (body as { payload: unknown }).payload;
  if (keys.length !== 1 || typeof id !== "string" || !PAYLOAD_ID.test(id)) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [
      `${where}.payload = ${JSON.stringify(id).slice(0, 80)}: must be alone in the ${where === "body" ? "body" : "input"} and be a payloadId from POST /v1/payloads (pl- and 32 hex digits)`,
    ]);
  }
  const payload = await deps.store.collections.takePayload(namespace(req), id);
  if (payload === undefined) throw new AgentError("WP_ERR_PAYLOAD_NOT_FOUND", [JSON.stringify(id)]);
  return payload;
}
