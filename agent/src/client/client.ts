/**
 * The TypeScript client of the gateway:
 *
 *   const client = new WarmpoolClient({ url, token });
 *   const square = client.fn("quickstart", "square");
 *   await square.remote(7);                      // 49
 *   const call = await square.spawn(8);          // durable; call.id
 *   await call.get();                            // 64
 *   for await (const r of square.map([1, 2, 3])) // 1, 4, 9 — streamed, in order
 *
 * Remote exceptions surface as RemoteFunctionError (type, message, traceback); gateway refusals as
 * ApiError (HTTP status and WP_ERR_* code).
 */
import { Readable } from "node:stream";
import { CLIENT_ENV } from "@warmpool/schema";
import { Agent as HttpAgent, request, type Dispatcher } from "undici";

export interface ClientOptions {
  /** @default process.env[CLIENT_ENV.url] ?? "http://127.0.0.1:8765" */
  url?: string;
  /** @default process.env.WARMPOOL_TOKEN */
  token?: string;
}

export interface CallResult {
  callId: string;
  status: "pending" | "running" | "succeeded" | "failed" | "cancelled";
  result?: unknown;
  error?: { type: string; message: string; traceback?: string };
  attempt?: number;
  attempts?: unknown[];
}

export interface MapLine extends CallResult {
  index: number;
}

export interface Invocation {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiError";
  }
}

export class RemoteFunctionError extends Error {
  constructor(
    readonly callId: string,
    readonly type: string,
    message: string,
    readonly traceback?: string,
  ) {
    super(`${type}: ${message}`);
    this.name = "RemoteFunctionError";
  }
}

export class WarmpoolClient {
  readonly url: string;
  private readonly headers: Record<string, string>;
  readonly dispatcher: Dispatcher;

  constructor(options: ClientOptions = {}) {
    this.url = (options.url ?? process.env[CLIENT_ENV.url] ?? "http://127.0.0.1:8765").replace(/\/$/, "");
    const token = options.token ?? process.env[CLIENT_ENV.token] ?? "";
    this.headers = token === "" ? {} : { authorization: `Bearer ${token}` };
    this.dispatcher = new HttpAgent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  fn(app: string, name: string): RemoteFunction {
    return new RemoteFunction(this, app, name);
  }

  call(id: string): FunctionCall {
    return new FunctionCall(this, id);
  }

  schedules(app?: string): Promise<{ schedules: Array<Record<string, unknown>> }> {
    return this.json("GET", `/v1/schedules${app === undefined ? "" : `?app=${enc(app)}`}`) as Promise<{ schedules: Array<Record<string, unknown>> }>;
  }

  apps(): Promise<{ apps: Array<Record<string, unknown>> }> {
    return this.json("GET", "/v1/apps") as Promise<{ apps: Array<Record<string, unknown>> }>;
  }

  status(app: string, fn: string): Promise<Record<string, unknown>> {
    return this.json("GET", `/v1/apps/${enc(app)}/functions/${enc(fn)}`) as Promise<Record<string, unknown>>;
  }

  logs(app: string, fn: string, tail = 200): Promise<{ containers: Array<{ container: string; lines: string[] }> }> {
    return this.json("GET", `/v1/apps/${enc(app)}/functions/${enc(fn)}/logs?tail=${tail}`) as Promise<{ containers: Array<{ container: string; lines: string[] }> }>;
  }

  deploy(app: string, spec: unknown, dir?: string): Promise<unknown> {
    return this.json("PUT", `/v1/apps/${enc(app)}${dir === undefined ? "" : `?dir=${encodeURIComponent(dir)}`}`, spec);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** @internal */
  async json(method: Dispatcher.HttpMethod, path: string, body?: unknown, expect: number[] = [200, 202]): Promise<unknown> {
    const res = await request(this.url + path, {
      method,
      dispatcher: this.dispatcher,
      headers: body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.body.text();
    const parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
    if (!expect.includes(res.statusCode)) throw apiError(res.statusCode, parsed);
    return parsed;
  }

  /** @internal */
  async stream(path: string, lines: AsyncIterable<string>): Promise<Dispatcher.ResponseData> {
    const res = await request(this.url + path, {
      method: "POST",
      dispatcher: this.dispatcher,
      headers: { ...this.headers, "content-type": "application/x-ndjson" },
      body: Readable.from(lines),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw apiError(res.statusCode, text === "" ? undefined : JSON.parse(text));
    }
    return res;
  }
}

export class RemoteFunction {
  constructor(
    private readonly client: WarmpoolClient,
    readonly app: string,
    readonly name: string,
  ) {}

  private path(verb: string): string {
    return `/v1/apps/${enc(this.app)}/functions/${enc(this.name)}/${verb}`;
  }

  /** Runs the function and returns its result (throws RemoteFunctionError on a remote exception). */
  async remote(...args: unknown[]): Promise<unknown> {
    return this.invoke({ args });
  }

  async invoke(inv: Invocation): Promise<unknown> {
    return unwrap((await this.client.json("POST", this.path("call"), inv)) as CallResult);
  }

  /** Queues a durable call and returns its handle once the agent has stored it. */
  async spawn(...args: unknown[]): Promise<FunctionCall> {
    return this.spawnWith({ args });
  }

  async spawnWith(inv: Invocation): Promise<FunctionCall> {
    const body = (await this.client.json("POST", this.path("spawn"), inv)) as { callId: string };
    return new FunctionCall(this.client, body.callId);
  }

  /** Results of the function over `inputs` (each one argument), in order; throws on the first failure. */
  async *map(inputs: Iterable<unknown> | AsyncIterable<unknown>, options: { ordered?: boolean } = {}): AsyncGenerator<unknown> {
    for await (const line of this.mapLines(toInvocations(inputs), options)) yield unwrap(line);
  }

  /** Like map, but each input is a full invocation, and every line (successes and failures) is yielded. */
  async *mapLines(inputs: Iterable<Invocation> | AsyncIterable<Invocation>, options: { ordered?: boolean } = {}): AsyncGenerator<MapLine> {
    const ordered = options.ordered ?? true;
    const res = await this.client.stream(`${this.path("map")}?ordered=${ordered}`, ndjsonLines(inputs));
    let rest = "";
    for await (const chunk of res.body) {
      rest += (chunk as Buffer).toString("utf8");
      let start = 0;
      let nl = rest.indexOf("\n");
      while (nl >= 0) {
        const line = rest.slice(start, nl);
        start = nl + 1;
        nl = rest.indexOf("\n", start);
        if (line === "") continue;
        const parsed = JSON.parse(line) as MapLine & { done?: boolean; error?: { code?: string; message: string } };
        if (parsed.done === true) return;
        if (parsed.callId === undefined && parsed.error !== undefined) throw apiError(200, { error: parsed.error });
        yield parsed;
      }
      rest = rest.slice(start);
    }
  }
}

export class FunctionCall {
  constructor(
    private readonly client: WarmpoolClient,
    readonly id: string,
  ) {}

  /** Waits for the result (long-polls); throws RemoteFunctionError if it failed, or on `timeoutMs`. */
  async get(options: { timeoutMs?: number } = {}): Promise<unknown> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      const wait = Math.max(0, Math.min(55, left / 1000));
      const r = await this.status(wait);
      if (r.status === "succeeded" || r.status === "failed" || r.status === "cancelled") return unwrap(r);
      if (Date.now() >= deadline) throw new Error(`call ${this.id} is still ${r.status} after ${options.timeoutMs}ms`);
    }
  }

  status(waitSeconds = 0): Promise<CallResult> {
    return this.client.json("GET", `/v1/calls/${enc(this.id)}?wait=${waitSeconds}`) as Promise<CallResult>;
  }

  cancel(): Promise<{ callId: string; status: string; cancelled: boolean }> {
    return this.client.json("DELETE", `/v1/calls/${enc(this.id)}`) as Promise<{ callId: string; status: string; cancelled: boolean }>;
  }
}

function unwrap(r: CallResult): unknown {
  if (r.status === "succeeded") return r.result;
  const e = r.error ?? { type: "Error", message: `call ${r.status}` };
  throw new RemoteFunctionError(r.callId, e.type, e.message, e.traceback);
}

function apiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new ApiError(status, e?.code ?? "WP_ERR_UNKNOWN", e?.message ?? JSON.stringify(body), body);
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

async function* toInvocations(inputs: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<Invocation> {
  for await (const x of inputs) yield { args: [x] };
}

async function* ndjsonLines(inputs: Iterable<Invocation> | AsyncIterable<Invocation>): AsyncGenerator<string> {
  let buf = "";
  for await (const inv of inputs) {
    buf += `${JSON.stringify(inv)}\n`;
    if (buf.length >= 16_384) {
      yield buf;
      buf = "";
    }
  }
  if (buf !== "") yield buf;
}
