/**
 * What the autoscaler decided for one function, kept for its status and for the Events the
 * kubernetes status writer makes: the last desired count, and each decision that started or stopped
 * something (the last 50). The runner is its only writer.
 */
import type { Decision } from "./decide";

export interface ScaleEvent {
  at: string;
  desired: number;
  start: number;
  stop: string[];
  reason: string;
}

const KEPT_EVENTS = 50;

export class ScaleRecord {
  /** The desired count of the last decision. */
  desired = 0;
  lastReason: string | null = null;
  lastTime: number | null = null;
  /** Why the last decision started fewer containers than the load needs (Decision.held), or null. */
  held: string | null = null;
  /** Decisions that acted, oldest first. */
  readonly events: ScaleEvent[] = [];

  /** @internal The runner's: `acted` when the decision started or stopped a container. */
  record(d: Decision, acted: boolean, now: number): void {
    this.desired = d.desired;
    this.held = d.held ?? null;
    if (!acted) return;
    this.lastReason = d.reason;
    this.lastTime = now;
    this.events.push({ at: new Date(now).toISOString(), desired: d.desired, start: d.start, stop: d.stop, reason: d.reason });
    if (this.events.length > KEPT_EVENTS) this.events.shift();
  }
}
