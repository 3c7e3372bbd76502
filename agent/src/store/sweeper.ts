/**
 * Deletes the results of spawned calls older than the result TTL (7 days by default): once at start,
 * then every `intervalMs` (an hour) on the agent's clock.
 */
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock";
import type { Store } from "./store";

export function startSweeper(store: Store, clock: Clock, ttlMs: number, intervalMs: number, log: Logger): Timer {
  let timer: Timer | null = null;
  let stopped = false;
  const sweep = (): void => {
    store.sweep(clock.now() - ttlMs).then(
      (n) => n > 0 && log.info({ event: "store.swept", deleted: n }, "deleted expired results"),
      (err: Error) => log.error({ event: "store.sweepFailed", error: err.message }, "result sweep failed"),
    );
    if (!stopped) timer = clock.setTimeout(sweep, intervalMs);
  };
  sweep();
  return {
    cancel() {
      stopped = true;
      timer?.cancel();
    },
  };
}
