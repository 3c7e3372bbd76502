/**
 * Prometheus metrics (prom-client), one Registry per agent. Counters are bumped once per settled
 * input through per-function children made at deploy time (no label lookup per input); gauges are
 * computed when /metrics is scraped, so they cost nothing between scrapes.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** One function's gauges, read at each scrape. */
export interface FunctionGauges {
  app: string;
  function: string;
  /** Inputs waiting for a container, including retry delays. */
  queueDepth: number;
  inFlight: number;
  /** Starting or ready. */
  containers: number;
  desired: number;
}

/** The counters of one function's settled inputs, by outcome. */
export interface OutcomeCounters {
  succeeded: { inc(): void };
  failed: { inc(): void };
  cancelled: { inc(): void };
}

export class Metrics {
  readonly registry = new Registry();
  readonly inputs: Counter<"app" | "function" | "outcome">;
  readonly attempts: Counter<"app" | "function" | "outcome">;

  constructor(functions: () => Iterable<FunctionGauges>) {
    collectDefaultMetrics({ register: this.registry, prefix: "warmpool_agent_" });
    this.inputs = new Counter({ name: "warmpool_inputs_total", help: "Inputs that reached a final state", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    this.attempts = new Counter({ name: "warmpool_retries_total", help: "Failed attempts that were retried", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    const gauge = (name: string, help: string, value: (fn: FunctionGauges) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["app", "function"],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const fn of functions()) this.set({ app: fn.app, function: fn.function }, value(fn));
        },
      });
    };
    gauge("warmpool_queue_depth", "Inputs waiting for a container (including retry delays)", (fn) => fn.queueDepth);
    gauge("warmpool_inputs_in_flight", "Inputs running in containers", (fn) => fn.inFlight);
    gauge("warmpool_containers", "Live containers (starting or ready)", (fn) => fn.containers);
    gauge("warmpool_containers_desired", "Containers the autoscaler wants", (fn) => fn.desired);
  }

  /** The outcome counters of one function, made once at deploy. */
  outcomes(app: string, fn: string): OutcomeCounters {
    const child = (outcome: string) => this.inputs.labels({ app, function: fn, outcome });
    return { succeeded: child("succeeded"), failed: child("failed"), cancelled: child("cancelled") };
  }
}
