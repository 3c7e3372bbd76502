/**
 * One request to a worker (`POST /invoke`, PROTOCOL.md) over its container's keep-alive connection
 * (an undici Pool, made by containers/pool.ts).
 * The body is assembled from the inputs' stored JSON text without re-parsing it: a payload
 * `{"args":[1],"kwargs":{}}` becomes the input `{"id":"fc-…","args":[1],"kwargs":{}}`.
 */
import type { Pool } from "undici";
import type { Input } from "../queue/call-table";

export interface WorkerOutput {
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { type: string; message: string; traceback?: string };
}

/** Thrown when the worker answered something PROTOCOL.md does not allow: not retried. */
export class ProtocolError extends Error {}

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
 * Collects the response of one request through undici's `dispatch` (no Readable stream, no response
 * object: cheaper per call than `pool.request`, which matters at thousands of calls per second).
 */
class TextHandler {
  private status = 0;
  private chunks: Buffer[] = [];

  constructor(
    private readonly resolve: (r: { status: number; text: string }) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const chunks = this.chunks;
    const text = chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
    this.resolve({ status: this.status, text });
  }

  onError(err: Error): void {
    this.reject(err);
  }
}

function post(pool: Pool, body: string, authorization: string | undefined): Promise<{ status: number; text: string }> {
  const headers = authorization === undefined ? HEADERS : { ...HEADERS, authorization };
  return new Promise((resolve, reject) => {
    pool.dispatch({ path: "/invoke", method: "POST", headers, body }, new TextHandler(resolve, reject) as unknown as Parameters<Pool["dispatch"]>[1]);
  });
}

/**
 * No AbortSignal per request: an attempt that times out is settled by the dispatcher's timer and its
 * container killed, which ends this request with an error nobody waits for any more.
 */
export async function invoke(pool: Pool, body: string, authorization?: string): Promise<WorkerOutput[]> {
  const { status, text } = await post(pool, body, authorization);
  if (status !== 200) throw new ProtocolError(`worker answered ${status}: ${text.slice(0, 500)}`);
  let parsed: { outputs?: unknown };
  try {
    parsed = JSON.parse(text) as { outputs?: unknown };
  } catch {
    throw new ProtocolError(`worker answered a body that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed.outputs)) throw new ProtocolError("worker answered without an `outputs` list");
  return parsed.outputs as WorkerOutput[];
}
