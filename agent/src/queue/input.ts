/**
 * An input (one invocation of a function) and the lane it waits in, as the rest of the agent reads
 * them. Only the call table (call-table.ts) changes their state: see the state machine there.
 */
import { randomBytes } from "node:crypto";
import type { Timer } from "../clock";
import type { RemoteError } from "../errors";
import type { AttemptRecord, StoredCall } from "../store/store";

export type InputState = "waiting" | "active" | "delayed" | "completed" | "failed" | "cancelled";
export type ApiStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled";

/**
 * One function's queue of inputs and its counts, as everyone but the call table reads them: the call
 * table opens lanes and is the only writer of what is in them.
 */
export interface Lane {
  /** `app/fn`. */
  readonly key: string;
  /** Inputs waiting in the queue (cancelled ones excluded). */
  readonly queued: number;
  /** Inputs waiting out a retry delay. */
  readonly delayed: number;
  /** Spawned calls not yet final. */
  readonly pendingSpawns: number;
  /** Inputs enqueued since the lane opened (first attempts: retries and recovered calls excluded), for the arrival-rate estimate. */
  readonly arrived: number;
  /** The lane of the function's new version after a redeploy; inputs coming back from a retry delay go there. */
  readonly replacedBy: Lane | null;
}

export type SettleListener = (input: Input) => void;

export class Input {
  state: InputState = "waiting";
  /** Attempts started so far. */
  attempt = 0;
  attempts: AttemptRecord[] | null = null;
  /** Result as JSON text. */
  result: string | null = null;
  error: RemoteError | null = null;
  timer: Timer | null = null;
  /** When it entered the queue last (for batching's waitMs). */
  enqueuedAt: number;
  finishedAt: number | null = null;
  /** The call whose code made this one (header Warmpool-Parent-Call), or null. */
  parent: string | null = null;
  /** Calls made from inside this one, in order; cancelling this one cancels them. */
  children: string[] | null = null;
  private listeners: SettleListener[] | null = null;

  constructor(
    readonly id: string,
    public lane: Lane,
    readonly durable: boolean,
    /** `{"args":...,"kwargs":...}` JSON text; null while it rests in the store. */
    public payload: string | null,
    readonly createdAt: number,
  ) {
    this.enqueuedAt = createdAt;
  }

  get final(): boolean {
    return this.state === "completed" || this.state === "failed" || this.state === "cancelled";
  }

  get status(): ApiStatus {
    return apiStatus(this.state);
  }

  onSettle(listener: SettleListener): void {
    if (this.final) listener(this);
    else (this.listeners ??= []).push(listener);
  }

  offSettle(listener: SettleListener): void {
    if (this.listeners === null) return;
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** @internal */
  notify(): void {
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners !== null) for (const l of listeners) l(this);
  }
}

export function apiStatus(state: InputState | StoredCall["state"]): ApiStatus {
  switch (state) {
    case "waiting":
    case "delayed":
      return "pending";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    default:
      return state;
  }
}

/**
 * Call ids: `fc-` + 64 random bits drawn once per process + a counter. Unique across restarts (the
 * random part differs) and cheap on the hot path (no random draw per call). Ids are not secrets: every
 * route that takes one requires the API token.
 */
const BOOT = randomBytes(8).toString("hex");
let sequence = 0;
export function newCallId(): string {
  return `fc-${BOOT}${(sequence++).toString(36).padStart(6, "0")}`;
}
