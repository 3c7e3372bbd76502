/**
 * The durable side of Dicts and Queues (Modal's `modal.Dict` and `modal.Queue`): named, in the agent's
 * store, each in a namespace (an App's name, or "" for the admin's own). Keys and values are JSON text
 * as the gateway normalised them; this layer compares keys as text.
 *
 * Writes that read first (a put checked against the size limit, a pop, a queue take) run inside the
 * store's group commit, so two of them in the same turn of the event loop see each other's effect and
 * no two takers get the same item. They never throw inside the commit (that would fail every other
 * write of the group): an outcome says what happened instead.
 */

export type CollectionKind = "dict" | "queue";

export interface CollectionRef {
  kind: CollectionKind;
  /** The owning App's name; "" for Dicts and Queues made with the admin token without `app`. */
  ns: string;
  name: string;
}

export type PutOutcome = { ok: true; written: number; len: number } | { ok: false; reason: "missing" } | { ok: false; reason: "full"; len: number };

export interface CollectionStore {
  /** Makes it if missing; resolves true when it was made now, "full" when its namespace already has `maxPerNamespace` of its kind. */
  create(ref: CollectionRef, now: number, maxPerNamespace: number): Promise<boolean | "full">;
  exists(ref: CollectionRef): Promise<boolean>;
  /** Deletes it with its contents; resolves whether there was one. */
  drop(ref: CollectionRef): Promise<boolean>;

  /** The value's JSON text, unless missing or expired. */
  dictGet(ref: CollectionRef, key: string, now: number): Promise<string | undefined>;
  /**
   * Writes entries (a later one wins over an earlier one with the same key), each expiring at
   * `expiresAt` (null: never); `skipIfExists` keeps live values. Refuses the whole write, changing
   * nothing, when the Dict would hold more than `maxEntries` live entries.
   */
  dictPut(ref: CollectionRef, entries: ReadonlyArray<{ key: string; value: string }>, expiresAt: number | null, skipIfExists: boolean, maxEntries: number, now: number): Promise<PutOutcome>;
  dictPop(ref: CollectionRef, key: string, now: number): Promise<string | undefined | null>;
  dictLen(ref: CollectionRef, now: number): Promise<number>;
  /** Live entries with keys after `after` (text order), at most `limit`. */
  dictScan(ref: CollectionRef, after: string | null, limit: number, now: number): Promise<Array<{ key: string; value: string }>>;

  /** Appends values to a partition, refusing all of them when it would hold more than `maxItems`. */
  queuePut(ref: CollectionRef, partition: string, values: readonly string[], maxItems: number): Promise<PutOutcome>;
  /** Takes up to `n` of the oldest values of a partition (none when it is empty or the Queue is gone). */
  queueTake(ref: CollectionRef, partition: string, n: number): Promise<string[]>;
  /** Values in a partition, or in every partition with `partition` null. */
  queueLen(ref: CollectionRef, partition: string | null): Promise<number>;
  /** Up to `n` values of a partition after position `after`, oldest first, left in place (Modal's `Queue.iterate`); `seq` orders them. */
  queuePeek(ref: CollectionRef, partition: string, after: number, n: number): Promise<Array<{ seq: number; value: string }>>;

  /**
   * Invocations too large to send inline (gateway/payloads.ts): stored under an id in a namespace,
   * taken (read and deleted) by the call that uses them; ones never taken go with the sweep.
   */
  putPayload(ns: string, id: string, payload: string, now: number): Promise<void>;
  takePayload(ns: string, id: string): Promise<string | undefined>;
  sweepPayloads(before: number): Promise<number>;
}
