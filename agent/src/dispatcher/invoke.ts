/**
 * One request to a worker (`POST /invoke`, PROTOCOL.md) over a keep-alive undici Pool per container.
 * The body is assembled from the inputs' stored JSON text without re-parsing it: a payload
 * `{"args":[1],"kwargs":{}}` becomes the input `{"id":"fc-…","args":[1],"kwargs":{}}`.
 */
import { Pool } from "undici";
import type { Input } from "../queue/calls";

export interface WorkerOutput {
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { type: string; message: string; traceback?: string };
}

/** Thrown when the worker answered something PROTOCOL.md does not allow: not retried. */
export class ProtocolError extends Error {}

export function newPool(host: string, port: number, connections: number): Pool {
  return new Pool(`http://${host}:${port}`, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    // Timeouts are the dispatcher's job (per attempt, on the injected clock).
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

export function invokeBody(inputs: readonly Input[], payloads: readonly string[]): string {
  let body = '{"inputs":[';
  for (let i = 0; i < inputs.length; i++) {
    if (i > 0) body += ",";
    const payload = payloads[i] as string;
    body += `{"id":"${(inputs[i] as Input).id}",${payload.slice(1)}`;
  }
  return `${body}]}`;
}

const HEADERS = { "content-type": "application/json" };

/**
 * No AbortSignal per request: an attempt that times out is settled by the dispatcher's timer and its
 * container killed, which ends this request with an error nobody waits for any more.
 */
export async function invoke(pool: Pool, body: string): Promise<WorkerOutput[]> {
  const res = await pool.request({ path: "/invoke", method: "POST", headers: HEADERS, body });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new ProtocolError(`worker answered ${res.statusCode}: ${text.slice(0, 500)}`);
  let parsed: { outputs?: unknown };
  try {
    parsed = JSON.parse(text) as { outputs?: unknown };
  } catch {
    throw new ProtocolError(`worker answered a body that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed.outputs)) throw new ProtocolError("worker answered without an `outputs` list");
  return parsed.outputs as WorkerOutput[];
}
