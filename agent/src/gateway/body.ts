/**
 * Request bodies of invocations: `{"args": [...], "kwargs": {...}}`, both optional. The payload kept
 * for an input is that object re-serialised in canonical form, so the dispatcher can splice it into
 * the worker request as text (dispatcher/invoke.ts).
 */
import { AgentError } from "../errors";

const EMPTY = '{"args":[],"kwargs":{}}';

const METHOD = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

export function invocationPayload(body: unknown, where = "body"): string {
  if (body === undefined || body === null) return EMPTY;
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where} must be a JSON object {"args": [...], "kwargs": {...}}`]);
  }
  const o = body as Record<string, unknown>;
  let args: unknown = [];
  let kwargs: unknown = {};
  // A class function's input (module:Class): the method to run and the instance's parameters.
  let method: unknown;
  let params: unknown;
  for (const key in o) {
    if (key === "args") args = o.args;
    else if (key === "kwargs") kwargs = o.kwargs;
    else if (key === "method") method = o.method;
    else if (key === "params") params = o.params;
    else if (key === IDEMPOTENCY_FIELD)
      continue; // read by idempotencyKey()
    else throw new AgentError("WP_ERR_BAD_REQUEST", [`${where} has an unknown field "${key}" (allowed: args, kwargs, method, params, ${IDEMPOTENCY_FIELD})`]);
  }
  if (!Array.isArray(args)) throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.args must be a JSON array`]);
  if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.kwargs must be a JSON object`]);
  }
  if (method === undefined && params === undefined) return JSON.stringify({ args, kwargs });
  if (method !== undefined && (typeof method !== "string" || !METHOD.test(method))) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.method = ${JSON.stringify(method).slice(0, 80)}: must be a method's name (a Python identifier)`]);
  }
  if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params))) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`${where}.params must be a JSON object of the class's parameters`]);
  }
  // Parameters first, keys sorted: the dispatcher reads an input's parameter set from the payload's
  // start without parsing its arguments (dispatcher/affinity.ts).
  return JSON.stringify({ params: params === undefined ? undefined : sortedKeys(params as Record<string, unknown>), method, args, kwargs });
}

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const IDEMPOTENCY_FIELD = "idempotencyKey";
/** Longest idempotency key: a UUID is 36 characters, Stripe allows 255. */
const MAX_KEY_LENGTH = 255;

/**
 * The request's idempotency key: the `Idempotency-Key` header, or the body's `idempotencyKey` field
 * (both given: they must be equal); undefined when there is none. 1–255 printable ASCII characters.
 */
export function idempotencyKey(header: unknown, body: unknown): string | undefined {
  const field = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>)[IDEMPOTENCY_FIELD] : undefined;
  for (const [where, v] of [
    ["Idempotency-Key header", header],
    [`body.${IDEMPOTENCY_FIELD}`, field],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length < 1 || v.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(v)) {
      throw new AgentError("WP_ERR_BAD_REQUEST", [`${where} = ${JSON.stringify(v)}: must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters without spaces`]);
    }
  }
  if (header !== undefined && field !== undefined && header !== field) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`Idempotency-Key header ${JSON.stringify(header)} and body.${IDEMPOTENCY_FIELD} ${JSON.stringify(field)} differ: send one, or the same`]);
  }
  return (header ?? field) as string | undefined;
}

/** `?wait=<seconds>`: a number from 0 to 300. */
export function waitSeconds(raw: unknown, name = "wait", max = 300): number {
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new AgentError("WP_ERR_BAD_REQUEST", [`${name} = ${JSON.stringify(raw)}: must be a number of seconds from 0 to ${max}`]);
  return n;
}

/**
 * Deepest nesting of arrays and objects accepted in a JSON body. Deeper documents failed three ways
 * before: V8 ran out of stack in the gateway (~4,500 levels: a 500), and the Python worker's decoder
 * hit its recursion limit (1,000–4,499: a non-retried WorkerProtocolError). 256 leaves the worker's
 * envelope (`{"inputs": [{"args": [...]}]}`, 4 levels) far inside Python's 1,000.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether JSON text nests deeper than `max`, found in one pass without parsing it. */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  // A document of n characters nests at most n / 2 deep: short ones need no scan.
  if (text.length <= 2 * max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

export function tooDeep(where: string): AgentError {
  return new AgentError("WP_ERR_BAD_REQUEST", [`${where} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`]);
}
