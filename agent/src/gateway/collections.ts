/**
 * Dicts and Queues over HTTP (Modal's `modal.Dict` and `modal.Queue`), kept in the Store
 * (store/collections.ts):
 *
 *   PUT    /v1/dicts/{name}            create if missing → {"name", "app", "created"}
 *   GET    /v1/dicts/{name}            → {"name", "app", "len"}
 *   DELETE /v1/dicts/{name}            → {"deleted"}
 *   POST   /v1/dicts/{name}/get        {"key"} → {"found", "value"?}       (also /contains → {"found"}, /pop)
 *   POST   /v1/dicts/{name}/put        {"items": [{"key", "value"}], "ttl"?, "skipIfExists"?} → {"written", "len"}
 *   GET    /v1/dicts/{name}/items?after=&limit=&values=   → {"items": [{"key", "value"?}], "next"}
 *   PUT | GET | DELETE /v1/queues/{name}                   (GET: {"len"} of every partition; `?partition=p` of one, `?partition=` of the default one)
 *   POST   /v1/queues/{name}/put       {"values": [...], "partition"?} → {"len"}
 *   POST   /v1/queues/{name}/get       {"n"?, "partition"?, "timeout"?} → {"values": [...]}
 *   GET    /v1/queues/{name}/items?partition=&after=&limit=&timeout=   → {"values": [...], "next"}: values
 *          after position `after` left in place (Modal's `Queue.iterate`), waiting up to `timeout` s for one
 *
 * Scoping: a Dict or Queue lives in a namespace, an App's name or "" (the admin's own). An App token
 * reaches its App's namespace only (its workers share them, and no other App sees them); the admin
 * token reaches "" by default and an App's with `?app=<name>`. Keys are JSON scalars or arrays of
 * them (what Python can hash), compared as their JSON text; values any JSON value. Both are bounded
 * (collectionValueMaxBytes), as are a Dict's entries, a Queue partition's items, and the Dicts and
 * Queues of one namespace (maxCollections each), so a worker cannot fill the agent's disk.
 *
 * A queue `get` with a timeout waits on the agent, not in a loop of the client's: a put to the same
 * partition wakes every waiter, which then takes in the store's commit order (one item goes to one
 * taker). The wait ends early when the client goes away.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AgentError } from "../errors";
import { waitSeconds } from "./body";
import type { CollectionKind, CollectionRef } from "../store/collections";
import type { GatewayDeps } from "./deps";

type Query = { app?: string; partition?: string; after?: string; limit?: string; values?: string; timeout?: string };
type Req = FastifyRequest<{ Params: { name: string }; Querystring: Query; Body: unknown }>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PARTITION = /^[A-Za-z0-9._:-]{1,64}$/;
/** Longest a queue get waits in one request; the Python client asks again for longer. */
export const MAX_GET_WAIT_S = 60;
/** Most items one put or get moves, and most entries one page of a listing holds. */
const MAX_BATCH = 1000;
const MAX_TTL_S = 10 * 365 * 24 * 3600;

export function registerCollections(app: FastifyInstance, deps: GatewayDeps): void {
  const store = deps.store.collections;
  const clock = deps.options.clock;
  const o = deps.options;
  const scoped = { config: { scoped: "any" as const } };
  const waiters = new Map<string, Set<() => void>>();

  function wake(key: string): void {
    const set = waiters.get(key);
    if (set === undefined) return;
    waiters.delete(key);
    for (const w of set) w();
  }

  for (const kind of ["dict", "queue"] as const) {
    const base = `/v1/${kind}s/:name`;
    app.put(base, scoped, async function createCollection(req: Req) {
      const ref = refOf(req, kind);
      const created = await store.create(ref, clock.now(), o.maxCollections);
      if (created === "full") {
        const where = ref.ns === "" ? "the admin's namespace" : `app ${JSON.stringify(ref.ns)}`;
        throw new AgentError("WP_ERR_COLLECTION_FULL", [where, `${o.maxCollections} ${kind}s`, o.maxCollections, `1 ${kind}`], { limit: o.maxCollections });
      }
      return { name: ref.name, app: ref.ns === "" ? null : ref.ns, created };
    });
    app.get(base, scoped, async function describeCollection(req: Req) {
      const ref = await existing(req, kind);
      const len = kind === "dict" ? await store.dictLen(ref, clock.now()) : await store.queueLen(ref, queryPartition(req.query.partition));
      return { name: ref.name, app: ref.ns === "" ? null : ref.ns, len };
    });
    app.delete(base, scoped, async function dropCollection(req: Req) {
      const ref = refOf(req, kind);
      const deleted = await store.drop(ref);
      return { deleted };
    });
  }

  app.post("/v1/dicts/:name/get", scoped, async function dictGet(req: Req, reply: FastifyReply) {
    const ref = await existing(req, "dict");
    const key = keyText(field(req.body, "key", "POST /v1/dicts/{name}/get"), "key", o.collectionValueMaxBytes);
    const value = await store.dictGet(ref, key, clock.now());
    return reply.type("application/json").send(value === undefined ? '{"found":false}' : `{"found":true,"value":${value}}`);
  });
  app.post("/v1/dicts/:name/contains", scoped, async function dictContains(req: Req) {
    const ref = await existing(req, "dict");
    const key = keyText(field(req.body, "key", "POST /v1/dicts/{name}/contains"), "key", o.collectionValueMaxBytes);
    return { found: (await store.dictGet(ref, key, clock.now())) !== undefined };
  });
  app.post("/v1/dicts/:name/pop", scoped, async function dictPop(req: Req, reply: FastifyReply) {
    const ref = refOf(req, "dict");
    const key = keyText(field(req.body, "key", "POST /v1/dicts/{name}/pop"), "key", o.collectionValueMaxBytes);
    const value = await store.dictPop(ref, key, clock.now());
    if (value === null) throw notFound(ref);
    return reply.type("application/json").send(value === undefined ? '{"found":false}' : `{"found":true,"value":${value}}`);
  });
  app.post("/v1/dicts/:name/put", scoped, async function dictPut(req: Req) {
    const ref = refOf(req, "dict");
    const what = "POST /v1/dicts/{name}/put";
    const items = batch(field(req.body, "items", what), "items", what);
    const entries = items.map((item, i) => {
      if (item === null || typeof item !== "object" || Array.isArray(item)) throw bad(`${what}: items[${i}] = ${show(item)}: must be an object {"key", "value"}`);
      const key = keyText((item as Record<string, unknown>).key, `items[${i}].key`, o.collectionValueMaxBytes);
      return { key, value: valueText((item as Record<string, unknown>).value, `items[${i}].value`, o.collectionValueMaxBytes) };
    });
    const body = req.body as Record<string, unknown>;
    const ttl = body.ttl;
    if (ttl !== undefined && ttl !== null && (typeof ttl !== "number" || !(ttl > 0) || ttl > MAX_TTL_S))
      throw bad(`${what}: ttl = ${show(ttl)}: must be a number of seconds above 0, at most ${MAX_TTL_S}, or null`);
    const skip = body.skipIfExists;
    if (skip !== undefined && typeof skip !== "boolean") throw bad(`${what}: skipIfExists = ${show(skip)}: must be true or false`);
    const now = clock.now();
    const out = await store.dictPut(ref, entries, typeof ttl === "number" ? now + Math.round(ttl * 1000) : null, skip === true, o.dictMaxEntries, now);
    if (!out.ok && out.reason === "missing") throw notFound(ref);
    if (!out.ok) throw new AgentError("WP_ERR_COLLECTION_FULL", [describe(ref), `${out.len} entries`, o.dictMaxEntries, `${entries.length} entries`], { len: out.len, limit: o.dictMaxEntries });
    return { written: out.written, len: out.len };
  });
  app.get("/v1/dicts/:name/items", scoped, async function dictItems(req: Req, reply: FastifyReply) {
    const ref = await existing(req, "dict");
    const limit = intParam(req.query.limit, "limit", 1, MAX_BATCH, 100);
    const after = req.query.after === undefined || req.query.after === "" ? null : req.query.after;
    const withValues = req.query.values !== "false" && req.query.values !== "0";
    const rows = await store.dictScan(ref, after, limit, clock.now());
    const items = rows.map((r) => (withValues ? `{"key":${r.key},"value":${r.value}}` : `{"key":${r.key}}`)).join(",");
    const next = rows.length === limit ? JSON.stringify((rows[rows.length - 1] as { key: string }).key) : "null";
    return reply.type("application/json").send(`{"items":[${items}],"next":${next}}`);
  });

  app.post("/v1/queues/:name/put", scoped, async function queuePut(req: Req) {
    const ref = refOf(req, "queue");
    const what = "POST /v1/queues/{name}/put";
    const values = batch(field(req.body, "values", what), "values", what).map((v, i) => valueText(v, `values[${i}]`, o.collectionValueMaxBytes));
    const partition = partitionOf((req.body as Record<string, unknown>).partition, "partition", "");
    const out = await store.queuePut(ref, partition, values, o.queueMaxItems);
    if (!out.ok && out.reason === "missing") throw notFound(ref);
    if (!out.ok)
      throw new AgentError("WP_ERR_COLLECTION_FULL", [`${describe(ref)}, partition ${JSON.stringify(partition)},`, `${out.len} items`, o.queueMaxItems, `${values.length} items`], {
        len: out.len,
        limit: o.queueMaxItems,
      });
    wake(waitKey(ref, partition));
    return { len: out.len };
  });
  app.post("/v1/queues/:name/get", scoped, async function queueGet(req: Req, reply: FastifyReply) {
    const ref = await existing(req, "queue");
    const what = "POST /v1/queues/{name}/get";
    const body = req.body === undefined || req.body === null ? {} : req.body;
    if (typeof body !== "object" || Array.isArray(body)) throw bad(`${what}: the body must be a JSON object`);
    const b = body as Record<string, unknown>;
    const n = b.n === undefined ? 1 : b.n;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_BATCH) throw bad(`${what}: n = ${show(n)}: must be an integer from 1 to ${MAX_BATCH}`);
    const timeout = b.timeout === undefined || b.timeout === null ? 0 : b.timeout;
    if (typeof timeout !== "number" || !(timeout >= 0) || timeout > MAX_GET_WAIT_S) throw bad(`${what}: timeout = ${show(timeout)}: must be a number of seconds from 0 to ${MAX_GET_WAIT_S}`);
    const partition = partitionOf(b.partition, "partition", "");
    const values = await waitFor(waitKey(ref, partition), timeout, reply, () => store.queueTake(ref, partition, n));
    return reply.type("application/json").send(`{"values":[${values.join(",")}]}`);
  });
  app.get("/v1/queues/:name/items", scoped, async function queueItems(req: Req, reply: FastifyReply) {
    const ref = await existing(req, "queue");
    const partition = partitionOf(req.query.partition === "" ? undefined : req.query.partition, "query parameter partition", "");
    const after = intParam(req.query.after, "after", 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = intParam(req.query.limit, "limit", 1, MAX_BATCH, 100);
    const timeout = waitSeconds(req.query.timeout, "query parameter timeout", MAX_GET_WAIT_S);
    const rows = await waitFor(waitKey(ref, partition), timeout, reply, () => store.queuePeek(ref, partition, after, limit));
    const next = rows.length === 0 ? after : (rows[rows.length - 1] as { seq: number }).seq;
    return reply.type("application/json").send(`{"values":[${rows.map((r) => r.value).join(",")}],"next":${next}}`);
  });

  /**
   * `attempt()` until it finds something, `timeoutS` passes or the client goes away: a put to the
   * partition (`key`) wakes every waiter, which then tries again.
   */
  async function waitFor<T>(key: string, timeoutS: number, reply: FastifyReply, attempt: () => Promise<T[]>): Promise<T[]> {
    const deadline = clock.now() + timeoutS * 1000;
    let gone = false;
    const onClose = (): void => {
      gone = true;
      wake(key);
    };
    reply.raw.once("close", onClose);
    try {
      for (;;) {
        const found = await attempt();
        const left = deadline - clock.now();
        if (found.length > 0 || left <= 0 || gone) return found;
        await new Promise<void>((resolve) => {
          const set = waiters.get(key) ?? new Set();
          waiters.set(key, set);
          const done = (): void => {
            timer.cancel();
            set.delete(done);
            resolve();
          };
          const timer = clock.setTimeout(done, left);
          set.add(done);
        });
      }
    } finally {
      reply.raw.off("close", onClose);
    }
  }

  async function existing(req: Req, kind: CollectionKind): Promise<CollectionRef> {
    const ref = refOf(req, kind);
    if (!(await store.exists(ref))) throw notFound(ref);
    return ref;
  }
}

/** The Dict or Queue a request names, in the namespace its token reaches (see the header). */
function refOf(req: Req, kind: CollectionKind): CollectionRef {
  const name = req.params.name;
  if (!NAME.test(name)) throw bad(`${kind} name ${show(name)}: must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  const asked = req.query.app;
  if (asked !== undefined && (typeof asked !== "string" || !NAME.test(asked))) throw bad(`query parameter app = ${show(asked)}: must be an app's name`);
  const p = req.principal;
  if (p.kind === "app") {
    if (asked !== undefined && asked !== p.app) throw new AgentError("WP_ERR_TOKEN_SCOPE", [JSON.stringify(p.app), `use the ${kind}s of app ${JSON.stringify(asked)}`]);
    return { kind, ns: p.app, name };
  }
  return { kind, ns: asked ?? "", name };
}

function waitKey(ref: CollectionRef, partition: string): string {
  return `${ref.ns}\0${ref.name}\0${partition}`;
}

function describe(ref: CollectionRef): string {
  return `${ref.kind} ${JSON.stringify(ref.name)}${ref.ns === "" ? "" : ` of app ${JSON.stringify(ref.ns)}`}`;
}

function notFound(ref: CollectionRef): AgentError {
  const where = ref.ns === "" ? "" : ` in app ${JSON.stringify(ref.ns)}`;
  return new AgentError(ref.kind === "dict" ? "WP_ERR_DICT_NOT_FOUND" : "WP_ERR_QUEUE_NOT_FOUND", [JSON.stringify(ref.name), where, ref.name]);
}

function bad(message: string): AgentError {
  return new AgentError("WP_ERR_BAD_REQUEST", [message]);
}

/** A value for an error message: JSON, cut short. */
function show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function field(body: unknown, name: string, what: string): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw bad(`${what}: the body must be a JSON object with ${JSON.stringify(name)}`);
  const value = (body as Record<string, unknown>)[name];
  if (value === undefined) throw bad(`${what}: ${name} is required`);
  return value;
}

function batch(value: unknown, name: string, what: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) throw bad(`${what}: ${name} = ${show(value)}: must be an array of 1 to ${MAX_BATCH} items`);
  return value;
}

/** A key as stored: JSON text of a scalar or an array of them (no objects: Python cannot hash a dict). */
function keyText(key: unknown, name: string, limit: number): string {
  if (!hashable(key)) throw bad(`${name} = ${show(key)}: a key must be a string, number, boolean, null or an array of them`);
  return bounded(JSON.stringify(key), name, limit);
}

function hashable(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  return Array.isArray(v) && v.every(hashable);
}

function valueText(value: unknown, name: string, limit: number): string {
  if (value === undefined) throw bad(`${name} is required`);
  return bounded(JSON.stringify(value), name, limit);
}

function bounded(text: string, name: string, limit: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > limit) throw new AgentError("WP_ERR_VALUE_TOO_LARGE", [name, "the request", bytes, limit]);
  return text;
}

function partitionOf(value: unknown, name: string, fallback: string | null): string {
  if (value === undefined || value === null) return fallback as string;
  if (typeof value !== "string" || !PARTITION.test(value)) throw bad(`${name} = ${show(value)}: a partition is 1 to 64 letters, digits, '.', '_', ':' or '-'`);
  return value;
}

/** `?partition=p`: that partition; `?partition=` the default one; none: every partition. */
function queryPartition(value: string | undefined): string | null {
  if (value === "") return "";
  return partitionOf(value, "query parameter partition", null) as string | null;
}

function intParam(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw bad(`query parameter ${name} = ${show(value)}: must be an integer from ${min} to ${max}`);
  return n;
}
