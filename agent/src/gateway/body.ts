/**
 * Request bodies of invocations: `{"args": [...], "kwargs": {...}}`, both optional. The payload kept
 * for an input is that object re-serialised in canonical form, so the dispatcher can splice it into
 * the worker request as text (dispatcher/invoke.ts).
 */
import { AgentError } from "../errors";

const EMPTY = '{"args":[],"kwargs":{}}';

export function invocationPayload(body: unknown, where = "body"): string {
  if (body === undefined || body === null) return EMPTY;
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where} must be a JSON object {"args": [...], "kwargs": {...}}`]);
  }
  const o = body as Record<string, unknown>;
  let args: unknown = [];
  let kwargs: unknown = {};
  for (const key in o) {
    if (key === "args") args = o.args;
    else if (key === "kwargs") kwargs = o.kwargs;
    else throw new AgentError("WP_ERR_BAD_REQUEST", [`${where} has an unknown field "${key}" (allowed: args, kwargs)`]);
  }
  if (!Array.isArray(args)) throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.args must be a JSON array`]);
  if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.kwargs must be a JSON object`]);
  }
  return JSON.stringify({ args, kwargs });
}

/** `?wait=<seconds>`: a number from 0 to 300. */
export function waitSeconds(raw: unknown): number {
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 300) throw new AgentError("WP_ERR_BAD_REQUEST", [`wait = ${JSON.stringify(raw)}: must be a number of seconds from 0 to 300`]);
  return n;
}
