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
 * The URL and token come from the options, the environment or a profile of `~/.warmpool/config.toml`,
 * as config.ts says (the Python client's rules). Remote exceptions surface as RemoteFunctionError
 * (type, message, traceback); gateway refusals as ApiError (HTTP status and WP_ERR_* code), AuthError
 * for 401 and 403 (naming the URL and where the token came from); an agent that cannot be reached as
 * AgentUnavailableError (naming the URL and where it came from).
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { Agent as HttpAgent, request, type Dispatcher } from "undici";
import { resolveConfig, type Resolved } from "./config";

export { ConfigError, resolveConfig, type Resolved } from "./config";

export interface ClientOptions {
  /** @default WARMPOOL_URL, else the profile's, else "http://127.0.0.1:8765" (config.ts) */
  url?: string;
  /** @default WARMPOOL_TOKEN, else the profile's, else the state dir's token file (config.ts) */
  token?: string;
  /** A profile of the config file. @default WARMPOOL_PROFILE, else the active one */
  profile?: string;
  /** Where URL and token were already looked up (the CLI resolves them with its own flag names). */
  resolved?: Resolved;
  /**
   * Times a call or spawn is sent again, with the same idempotency key, when the agent cannot be
   * reached, the connection breaks before the answer, or it answers 503 (the Python client's rule).
   * @default 4
   */
  retries?: number;
  /** Delay before retry n: retryDelayMs × 2^(n−1). @default 250 */
  retryDelayMs?: number;
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

/** A line of a container's output (`followLogs`); `time`: when the agent read it from the container (ISO), null where unknown. */
export interface LogLine {
  container: string;
  line: string;
  time: string | null;
  stream?: "stdout" | "stderr" | null;
}

/** Each container's last lines (`logs`); `times` (ISO, one per line) where the backend records them. */
export interface ContainerLines {
  container: string;
  lines: string[];
  times?: Array<string | null>;
}

export interface Invocation {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** The logical call's idempotency key; default: a fresh UUID per call, the same on each of its retries. */
  idempotencyKey?: string;
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

/** 401 (no token) or 403 (a token this agent does not accept): the message says which URL and which token. */
export class AuthError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    body: unknown,
    readonly resolved: Resolved,
  ) {
    super(status, code, `${message} (agent ${resolved.url}; ${resolved.tokenSource})`, body);
    this.name = "AuthError";
  }
}

/** The agent could not be reached (nothing listening, no such host, connection reset). */
export class AgentUnavailableError extends Error {
  constructor(
    readonly resolved: Resolved,
    /** The system error code, e.g. ECONNREFUSED, ENOTFOUND. */
    readonly code: string,
    reason: string,
  ) {
    const from = resolved.urlSource === "the default" ? "the default URL: no URL was given nor found in a profile" : `URL from ${resolved.urlSource}`;
    super(`cannot reach the agent at ${resolved.url} (${from}): ${reason}`);
    this.name = "AgentUnavailableError";
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

/** `POST /v1/containers/{id}/exec`'s answer. */
export interface ExecAnswer {
  container: string;
  app: string;
  function: string;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** What is kept of each of stdout and stderr. */
  outputLimitBytes: number;
  timedOut: boolean;
  durationMs: number;
}

export class WarmpoolClient {
  readonly url: string;
  readonly resolved: Resolved;
  private readonly headers: Record<string, string>;
  readonly dispatcher: Dispatcher;
  private readonly retries: number;
  private readonly retryDelayMs: number;

  constructor(options: ClientOptions = {}) {
    this.retries = options.retries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    if (!Number.isInteger(this.retries) || this.retries < 0) throw new Error(`retries = ${this.retries}: must be a whole number ≥ 0`);
    if (!(this.retryDelayMs >= 0)) throw new Error(`retryDelayMs = ${this.retryDelayMs}: must be ≥ 0`);
    this.resolved =
      options.resolved ??
      resolveConfig({ url: options.url, token: options.token, profile: options.profile, names: { url: "the url option", token: "the token option", profile: "the profile option" } });
    this.url = this.resolved.url;
    const token = this.resolved.token;
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

  logs(app: string, fn: string, tail = 200): Promise<{ containers: ContainerLines[] }> {
    return this.json("GET", `/v1/apps/${enc(app)}/functions/${enc(fn)}/logs?tail=${tail}`) as Promise<{ containers: ContainerLines[] }>;
  }

  deploy(app: string, spec: unknown, dir?: string): Promise<unknown> {
    return this.json("PUT", `/v1/apps/${enc(app)}${dir === undefined ? "" : `?dir=${encodeURIComponent(dir)}`}`, spec);
  }

  /** Deploys an App spec as the file has it (YAML or JSON text); `dir`: where its handlers are, on the agent's machine. */
  deployText(app: string, text: string, dir?: string): Promise<{ app: string; functions: string[] }> {
    const path = `/v1/apps/${enc(app)}${dir === undefined ? "" : `?dir=${encodeURIComponent(dir)}`}`;
    return this.json("PUT", path, new TextBody(text, "application/yaml")) as Promise<{ app: string; functions: string[] }>;
  }

  /** Stops an app deployed over the API (its functions, containers and schedules), and forgets it. */
  stop(app: string): Promise<{ app: string; stopped: boolean }> {
    return this.json("DELETE", `/v1/apps/${enc(app)}`) as Promise<{ app: string; stopped: boolean }>;
  }

  containers(): Promise<{ containers: Array<Record<string, unknown>> }> {
    return this.json("GET", "/v1/containers") as Promise<{ containers: Array<Record<string, unknown>> }>;
  }

  /** Runs `command` in a running container (no terminal, no stdin) and answers once it ends. */
  exec(id: string, command: string[], timeoutSeconds?: number): Promise<ExecAnswer> {
    return this.json("POST", `/v1/containers/${enc(id)}/exec`, { command, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) }) as Promise<ExecAnswer>;
  }

  /**
   * The function's container output as it streams: the last `tail` lines of each container (whose
   * output changed in the last `sinceSeconds`), then `{caughtUp: true}`, then with `follow` each new
   * line until the iteration stops (which closes the request).
   */
  async *followLogs(app: string, fn: string, options: { tail: number; sinceSeconds?: number; follow: boolean }): AsyncGenerator<LogLine | { caughtUp: true }> {
    const q = `tail=${options.tail}&follow=${options.follow}${options.sinceSeconds === undefined ? "" : `&since=${options.sinceSeconds}`}`;
    const res = await this.request(`/v1/apps/${enc(app)}/functions/${enc(fn)}/logs?${q}`, { method: "GET", dispatcher: this.dispatcher, headers: this.headers });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw this.apiError(res.statusCode, text === "" ? undefined : parseBody(text));
    }
    try {
      for await (const line of ndjson(res.body)) yield line as LogLine | { caughtUp: true };
    } finally {
      res.body.destroy();
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** @internal */
  async json(method: Dispatcher.HttpMethod, path: string, body?: unknown, expect: number[] = [200, 202]): Promise<unknown> {
    const raw = body instanceof TextBody ? body : null;
    const res = await this.request(path, {
      method,
      dispatcher: this.dispatcher,
      headers: body === undefined ? this.headers : { ...this.headers, "content-type": raw?.type ?? "application/json" },
      body: body === undefined ? null : (raw?.text ?? JSON.stringify(body)),
    });
    const text = await res.body.text();
    const parsed = text === "" ? undefined : parseBody(text);
    if (!expect.includes(res.statusCode)) throw this.apiError(res.statusCode, parsed);
    return parsed;
  }

  /**
   * @internal A call or spawn: sent with its idempotency key (`Idempotency-Key`), and sent again with
   * the same key when the agent cannot be reached, the connection breaks, or it answers 503, so that
   * the agent runs the logical call once however often this client tries (the function's own
   * `retries` are the one retry layer).
   */
  async keyed(path: string, inv: Invocation): Promise<unknown> {
    const { idempotencyKey, ...body } = inv;
    const key = idempotencyKey ?? randomUUID();
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData | undefined;
      let failure: unknown;
      try {
        res = await this.request(path, { method: "POST", dispatcher: this.dispatcher, headers: { ...this.headers, "content-type": "application/json", "idempotency-key": key }, body: text });
        const answer = await res.body.text();
        const parsed = answer === "" ? undefined : parseBody(answer);
        if (res.statusCode === 200 || res.statusCode === 202) return parsed;
        failure = this.apiError(res.statusCode, parsed);
        if (res.statusCode !== 503) throw failure;
      } catch (err) {
        if (err === failure || !(err instanceof AgentUnavailableError || isBroken(err))) throw err;
        failure = err;
      }
      if (attempt >= this.retries) throw failure;
      await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** attempt));
    }
  }

  /** @internal */
  async stream(path: string, lines: AsyncIterable<string>): Promise<Dispatcher.ResponseData> {
    const res = await this.request(path, {
      method: "POST",
      dispatcher: this.dispatcher,
      headers: { ...this.headers, "content-type": "application/x-ndjson" },
      body: Readable.from(lines),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw this.apiError(res.statusCode, text === "" ? undefined : parseBody(text));
    }
    return res;
  }

  /** @internal An error of the agent's body; 401 and 403 say which agent and which token. */
  apiError(status: number, body: unknown): ApiError {
    const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = e?.code ?? "WP_ERR_UNKNOWN";
    const message = e?.message ?? JSON.stringify(body);
    return status === 401 || status === 403 ? new AuthError(status, code, message, body, this.resolved) : new ApiError(status, code, message, body);
  }

  private async request(path: string, options: { dispatcher: Dispatcher } & Omit<Dispatcher.RequestOptions, "origin" | "path">): Promise<Dispatcher.ResponseData> {
    try {
      return await request(this.url + path, options);
    } catch (err) {
      const code = systemCode(err);
      if (code !== undefined && UNREACHABLE.has(code)) throw new AgentUnavailableError(this.resolved, code, UNREACHABLE.get(code) as string);
      throw err;
    }
  }
}

/** Connection failures that mean "no agent there", worded. */
const UNREACHABLE = new Map([
  ["ECONNREFUSED", "connection refused"],
  ["ENOTFOUND", "no such host"],
  ["EAI_AGAIN", "the host name could not be looked up"],
  ["EHOSTUNREACH", "host unreachable"],
  ["ENETUNREACH", "network unreachable"],
  ["ECONNRESET", "connection reset"],
  ["UND_ERR_CONNECT_TIMEOUT", "connect timed out"],
]);

/** The system error code of an undici failure (on the error, its cause, or an AggregateError's first). */
function systemCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (typeof e.code === "string" && UNREACHABLE.has(e.code)) return e.code;
    e = (e.cause ?? e.errors?.[0]) as typeof e;
  }
  return undefined;
}

/** A connection that broke after the request went out (undici's socket errors): worth sending again with the same key. */
function isBroken(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/** A request body sent as it is, with its content type (`json` sends anything else as JSON). */
class TextBody {
  constructor(
    readonly text: string,
    readonly type: string,
  ) {}
}

/** The JSON values of an NDJSON body. */
async function* ndjson(body: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  let rest = "";
  for await (const chunk of body) {
    rest += (chunk as Buffer).toString("utf8");
    let nl = rest.indexOf("\n");
    while (nl >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      nl = rest.indexOf("\n");
      if (line !== "") yield JSON.parse(line) as unknown;
    }
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
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
    return unwrap(await this.invokeResult(inv));
  }

  /** Runs the function and returns the call's record, succeeded or failed (throws only if the agent refuses). */
  async invokeResult(inv: Invocation): Promise<CallResult> {
    return (await this.client.keyed(this.path("call"), inv)) as CallResult;
  }

  /** Queues a durable call and returns its handle once the agent has stored it. */
  async spawn(...args: unknown[]): Promise<FunctionCall> {
    return this.spawnWith({ args });
  }

  async spawnWith(inv: Invocation): Promise<FunctionCall> {
    const body = (await this.client.keyed(this.path("spawn"), inv)) as { callId: string };
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
        if (parsed.callId === undefined && parsed.error !== undefined) throw this.client.apiError(200, { error: parsed.error });
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
    const r = await this.wait(options);
    if (!FINAL.has(r.status)) throw new Error(`call ${this.id} is still ${r.status} after ${options.timeoutMs}ms`);
    return unwrap(r);
  }

  /** The call's record once it is final (succeeded, failed, cancelled), or when `timeoutMs` has passed. */
  async wait(options: { timeoutMs?: number } = {}): Promise<CallResult> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      const wait = Math.max(0, Math.min(55, left / 1000));
      const r = await this.status(wait);
      if (FINAL.has(r.status) || Date.now() >= deadline) return r;
    }
  }

  status(waitSeconds = 0): Promise<CallResult> {
    return this.client.json("GET", `/v1/calls/${enc(this.id)}?wait=${waitSeconds}`) as Promise<CallResult>;
  }

  cancel(): Promise<{ callId: string; status: string; cancelled: boolean }> {
    return this.client.json("DELETE", `/v1/calls/${enc(this.id)}`) as Promise<{ callId: string; status: string; cancelled: boolean }>;
  }
}

const FINAL = new Set<CallResult["status"]>(["succeeded", "failed", "cancelled"]);

function unwrap(r: CallResult): unknown {
  if (r.status === "succeeded") return r.result;
  const e = r.error ?? { type: "Error", message: `call ${r.status}` };
  throw new RemoteFunctionError(r.callId, e.type, e.message, e.traceback);
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
