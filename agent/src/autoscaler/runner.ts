/**
 * Runs the pure decider for every function: on each tick (which is what scales down after the
 * window), and at once — in the same turn of the event loop — when inputs wait with no free container,
 * so a function at zero starts its first container as soon as the first input arrives.
 *
 * Every decision that starts or stops something is logged as one structured event
 * (`autoscaler.decision`, with desired, start, stop and the reason) and kept on the function for its
 * status.
 */
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock";
import { decide, type Observation, type ScaleConfig } from "./decide";
import type { ScaleRecord } from "./record";

/** A function as the autoscaler sees it: what to decide on, and how to carry the decision out. */
export interface Scaled {
  readonly key: string;
  readonly scale: ScaleConfig;
  /** Undeployed or stopping: no more decisions. */
  readonly closed: boolean;
  /** Its containers, load, queue and start back-off, now. */
  observe(): Observation;
  /** Where the decisions are kept (this runner is its only writer). */
  readonly scaling: ScaleRecord;
  startContainer(): Promise<void>;
  drain(id: string, reason: string): boolean;
}

export class AutoscalerRunner {
  private readonly functions = new Set<Scaled>();
  private readonly pending = new Set<Scaled>();
  private flushQueued = false;
  private timer: Timer | null = null;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly tickMs: number,
    private readonly log: Logger,
  ) {}

  attach(fn: Scaled): void {
    this.functions.add(fn);
    this.evaluate(fn);
  }

  detach(fn: Scaled): void {
    this.functions.delete(fn);
    this.pending.delete(fn);
  }

  start(): void {
    const tick = (): void => {
      if (this.closed) return;
      this.tick();
      this.timer = this.clock.setTimeout(tick, this.tickMs);
    };
    this.timer = this.clock.setTimeout(tick, this.tickMs);
  }

  tick(): void {
    for (const fn of this.functions) this.evaluate(fn);
  }

  /** Evaluates `fn` before the current turn of the event loop ends (once, however often asked). */
  request(fn: Scaled): void {
    if (this.closed) return;
    this.pending.add(fn);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const fns = [...this.pending];
      this.pending.clear();
      for (const f of fns) if (this.functions.has(f)) this.evaluate(f);
    });
  }

  evaluate(fn: Scaled): void {
    if (fn.closed || this.closed) return;
    const now = this.clock.now();
    const d = decide(fn.scale, fn.observe(), now);
    const acted = d.start > 0 || d.stop.length > 0;
    fn.scaling.record(d, acted, now);
    if (!acted) return;
    this.log.info({ event: "autoscaler.decision", fn: fn.key, desired: d.desired, start: d.start, stop: d.stop, reason: d.reason }, d.reason);
    for (let i = 0; i < d.start; i++) void fn.startContainer();
    for (const id of d.stop) fn.drain(id, "scale-down");
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }
}
