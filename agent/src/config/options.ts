/**
 * Agent options in three steps (as Temporal's worker does): `AgentOptions` is what a caller writes,
 * every field documented with its `@default`; `withDefaults` fills them; `compileOptions` turns
 * seconds and MiB into the `*Ms` / byte numbers the code uses and checks invariants once, here, so the
 * hot path never re-validates.
 */
import * as path from "node:path";
import { AGENT_ENV } from "@warmpool/schema";
import { realClock, type Clock } from "../clock";
import { defaultMaxConnections, openFileLimit } from "./limits";

export interface AgentOptions {
  /** Directory of the SQLite database, the API token and container logs. @default ".warmpool" */
  stateDir?: string;
  /** Address the gateway listens on. @default "127.0.0.1" */
  host?: string;
  /** Port of the gateway; 0 picks a free one. @default 8765 */
  port?: number;
  /** API token. @default read from `<stateDir>/token`, generated on first start */
  token?: string;
  /** Pending (queued) inputs per function before `call`/`map` get 429. @default 2000 */
  maxPendingInputs?: number;
  /** Pending spawned calls per function before `spawn` gets 429 (Modal: 1,000,000). @default 1000000 */
  maxPendingSpawns?: number;
  /** Largest request body, in MiB. @default 16 */
  payloadLimitMiB?: number;
  /** Largest invocation stored through `POST /v1/payloads` (for arguments over payloadLimitMiB), in MiB. @default 256 */
  largePayloadLimitMiB?: number;
  /** How long results of finished spawned calls are kept, in seconds. @default 604800 (7 days) */
  resultTtl?: number;
  /** Inputs of one map request running or buffered at once (Modal runs 1,000). @default 1000 */
  mapWindow?: number;
  /** Live entries one Dict may hold before a put that adds keys is refused (409). @default 100000 */
  dictMaxEntries?: number;
  /** Items one Queue partition may hold before a put is refused (409). @default 100000 */
  queueMaxItems?: number;
  /** Largest Dict or Queue value, and Dict key, as JSON text, in KiB (Modal: 1 MiB per Queue item). @default 1024 */
  collectionValueMaxKiB?: number;
  /** Dicts, and Queues, one App (or the admin) may have. @default 1000 */
  maxCollections?: number;
  /** Autoscaler tick, in milliseconds. @default 1000 */
  tickMs?: number;
  /** How long a sweep of expired results waits between runs, in seconds. @default 3600 */
  sweepInterval?: number;
  /** Log level of the agent. @default "info" */
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
  /**
   * Port of a second listener that serves only `GET /metrics`, without a token (metrics/server.ts);
   * 0: any free port. null: none (the gateway's /metrics, with the token, is always there).
   * @default null
   */
  metricsPort?: number | null;
  /** JSON lines (ISO times, level names), or pino-pretty's readable lines (`warmpool dev` on a terminal). @default "json" */
  logFormat?: "json" | "pretty";
  /** Where apps come from: a spec file (`warmpool dev`) or the API (`PUT /v1/apps/{app}`). @default "api" */
  appSource?: string;
  /** Commit spawned calls in groups with fsync (synchronous=FULL). @default true */
  fsync?: boolean;
  /** Time source; tests pass a ManualClock. @default the real clock */
  clock?: Clock;
  /** Python interpreter of the local backend. @default "python3" */
  python?: string;
  /** Node binary of the local backend. @default process.execPath */
  node?: string;
  /** Directory of the worker runtimes. @default "<agent package>/runtimes" */
  runtimesDir?: string;
  /**
   * What proxies requests for webServer endpoints to ready containers: "agent" (its own listener) or
   * "haproxy" (HAProxy on the gateway's address, configured by the agent; dataplane/haproxy.ts).
   * @default "agent"
   */
  dataPlane?: "agent" | "haproxy";
  /** The HAProxy binary of `dataPlane: "haproxy"` (2.6 or later). @default "haproxy" */
  haproxy?: string;
  /**
   * Open connections the gateway holds before it answers new ones `503 WP_ERR_OVERLOADED`.
   * @default half of what is left of the open-file limit once a quarter of it (at least 256) is kept for workers, logs and the database (config/limits.ts)
   */
  maxConnections?: number;
  /** Seconds a client has to send a request's head (request line and headers); then `408`. @default 10 */
  headersTimeout?: number;
  /** Seconds a request body has before it must keep up with `bodyMinRate`; then `408`. @default 20 */
  bodyTimeout?: number;
  /** Bytes per second a request body must average after `bodyTimeout` (each such amount buys 1 s more). @default 500 */
  bodyMinRate?: number;
  /**
   * How the local backend isolates each worker (backends/local/sandbox): "bwrap" runs it under
   * bubblewrap (its own pid, IPC and UTS namespaces, a closed-world file system, and an unprivileged
   * user when the agent runs as root); "none" runs it as a plain child process of the agent.
   * @default "bwrap"
   */
  sandbox?: "bwrap" | "none";
  /** `uid:gid` the sandboxed workers run as when the agent runs as root. @default "65534:65534" (nobody) */
  sandboxUser?: string;
}

export type ResolvedOptions = Required<AgentOptions>;

export interface CompiledOptions {
  stateDir: string;
  dbPath: string;
  logDir: string;
  host: string;
  port: number;
  token: string;
  maxPendingInputs: number;
  maxPendingSpawns: number;
  payloadLimitBytes: number;
  largePayloadLimitBytes: number;
  resultTtlMs: number;
  mapWindow: number;
  dictMaxEntries: number;
  queueMaxItems: number;
  collectionValueMaxBytes: number;
  maxCollections: number;
  tickMs: number;
  sweepIntervalMs: number;
  logLevel: ResolvedOptions["logLevel"];
  logFormat: ResolvedOptions["logFormat"];
  metricsPort: number | null;
  appSource: string;
  fsync: boolean;
  clock: Clock;
  python: string;
  node: string;
  runtimesDir: string;
  dataPlane: ResolvedOptions["dataPlane"];
  haproxy: string;
  maxConnections: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  bodyMinRate: number;
  sandbox: ResolvedOptions["sandbox"];
  sandboxUser: { uid: number; gid: number };
}

export function withDefaults(options: AgentOptions): ResolvedOptions {
  return {
    stateDir: ".warmpool",
    host: "127.0.0.1",
    port: 8765,
    token: "",
    maxPendingInputs: 2000,
    maxPendingSpawns: 1_000_000,
    payloadLimitMiB: 16,
    largePayloadLimitMiB: 256,
    resultTtl: 604_800,
    mapWindow: 1000,
    dictMaxEntries: 100_000,
    queueMaxItems: 100_000,
    collectionValueMaxKiB: 1024,
    maxCollections: 1000,
    tickMs: 1000,
    sweepInterval: 3600,
    logLevel: "info",
    logFormat: "json",
    metricsPort: null,
    appSource: "api",
    fsync: true,
    clock: realClock,
    python: "python3",
    node: process.execPath,
    // The single-file bundle (agent/scripts/bundle.mjs) sits elsewhere than dist/src/config: its image says where.
    runtimesDir: process.env[AGENT_ENV.runtimesDir] ?? path.resolve(__dirname, "../../../runtimes"),
    dataPlane: "agent",
    haproxy: "haproxy",
    maxConnections: defaultMaxConnections(openFileLimit()),
    headersTimeout: 10,
    bodyTimeout: 20,
    bodyMinRate: 500,
    sandbox: "bwrap",
    sandboxUser: "65534:65534",
    ...stripUndefined(options),
  };
}

export function compileOptions(options: AgentOptions): CompiledOptions {
  const o = withDefaults(options);
  positive("maxPendingInputs", o.maxPendingInputs);
  positive("maxPendingSpawns", o.maxPendingSpawns);
  positive("payloadLimitMiB", o.payloadLimitMiB);
  positive("largePayloadLimitMiB", o.largePayloadLimitMiB);
  positive("mapWindow", o.mapWindow);
  positive("dictMaxEntries", o.dictMaxEntries);
  positive("queueMaxItems", o.queueMaxItems);
  positive("collectionValueMaxKiB", o.collectionValueMaxKiB);
  positive("maxCollections", o.maxCollections);
  positive("tickMs", o.tickMs);
  positive("maxConnections", o.maxConnections);
  positive("headersTimeout", o.headersTimeout);
  positive("bodyTimeout", o.bodyTimeout);
  positive("bodyMinRate", o.bodyMinRate);
  if (o.dataPlane !== "agent" && o.dataPlane !== "haproxy") throw new Error(`dataPlane = ${JSON.stringify(o.dataPlane)}: must be "agent" or "haproxy"`);
  if (o.sandbox !== "bwrap" && o.sandbox !== "none") throw new Error(`sandbox = ${JSON.stringify(o.sandbox)}: must be "bwrap" or "none"`);
  const sandboxUser = parseUser(o.sandboxUser);
  if (o.resultTtl < 1) throw new Error(`resultTtl = ${o.resultTtl}: must be at least 1 second`);
  const stateDir = path.resolve(o.stateDir);
  return {
    stateDir,
    dbPath: path.join(stateDir, "state.db"),
    logDir: path.join(stateDir, "logs"),
    host: o.host,
    port: o.port,
    token: o.token,
    maxPendingInputs: o.maxPendingInputs,
    maxPendingSpawns: o.maxPendingSpawns,
    payloadLimitBytes: Math.round(o.payloadLimitMiB * 1024 * 1024),
    largePayloadLimitBytes: Math.round(Math.max(o.largePayloadLimitMiB, o.payloadLimitMiB) * 1024 * 1024),
    resultTtlMs: o.resultTtl * 1000,
    mapWindow: o.mapWindow,
    dictMaxEntries: o.dictMaxEntries,
    queueMaxItems: o.queueMaxItems,
    collectionValueMaxBytes: Math.round(o.collectionValueMaxKiB * 1024),
    maxCollections: o.maxCollections,
    tickMs: o.tickMs,
    sweepIntervalMs: o.sweepInterval * 1000,
    logLevel: o.logLevel,
    logFormat: o.logFormat,
    metricsPort: o.metricsPort,
    appSource: o.appSource,
    fsync: o.fsync,
    clock: o.clock,
    python: o.python,
    node: o.node,
    runtimesDir: o.runtimesDir,
    dataPlane: o.dataPlane,
    haproxy: o.haproxy,
    maxConnections: Math.floor(o.maxConnections),
    headersTimeoutMs: o.headersTimeout * 1000,
    bodyTimeoutMs: o.bodyTimeout * 1000,
    bodyMinRate: o.bodyMinRate,
    sandbox: o.sandbox,
    sandboxUser,
  };
}

/** `uid:gid` (or `uid`, the group then the same number); root is refused: it would undo the point. */
function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  const uid = Number(m?.[1]);
  const gid = Number(m?.[2] ?? m?.[1]);
  if (m === null || uid === 0 || gid === 0) throw new Error(`sandboxUser = ${JSON.stringify(text)}: must be "uid:gid" with numbers other than 0 (root)`);
  return { uid, gid };
}

function positive(name: string, value: number): void {
  if (!(value > 0)) throw new Error(`${name} = ${value}: must be greater than 0`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
