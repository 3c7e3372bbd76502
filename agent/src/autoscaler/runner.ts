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
import type { FunctionRuntime } from "../dispatcher/dispatch";
import { decide } from "./decide";

export class AutoscalerRunner {
  private readonly functions = new Set<FunctionRuntime>();
  private readonly pending = new Set<FunctionRuntime>();
  private flushQueued = false;
  private timer: Timer | null = null;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly tickMs: number,
    private readonly log: Logger,
  ) {}

  attach(fn: FunctionRuntime): void {
    this.functions.add(fn);
    this.evaluate(fn);
  }

  detach(fn: FunctionRuntime): void {
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
  request(fn: FunctionRuntime): void {
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

  evaluate(fn: FunctionRuntime): void {
    if (fn.closed || this.closed) return;
    const now = this.clock.now();
    const d = decide(fn.scale, fn.observe(), now);
    let start = d.start;
    if (start > 0 && now < fn.startBlockedUntil) {
      d.reason += `; start held back ${fn.startBlockedUntil - now}ms after ${fn.startFailures} failed start(s)`;
      start = 0;
      d.start = 0;
    }
    const acted = start > 0 || d.stop.length > 0;
    fn.recordDecision(d, acted);
    if (!acted) return;
    this.log.info({ event: "autoscaler.decision", fn: fn.key, desired: d.desired, start: d.start, stop: d.stop, reason: d.reason }, d.reason);
    for (let i = 0; i < start; i++) void fn.startContainer();
    for (const id of d.stop) fn.drain(id, "scale-down");
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }
}
