/**
 * Prometheus metrics (prom-client), one Registry per agent. Counters are bumped once per settled
 * input through per-function children made at deploy time (no label lookup per input); gauges are
 * computed when /metrics is scraped, so they cost nothing between scrapes.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { FunctionRuntime } from "../dispatcher/dispatch";

export class Metrics {
  readonly registry = new Registry();
  readonly inputs: Counter<"app" | "function" | "outcome">;
  readonly attempts: Counter<"app" | "function" | "outcome">;
  readonly decisions: Counter<"app" | "function">;

  constructor(functions: () => Iterable<FunctionRuntime>) {
    collectDefaultMetrics({ register: this.registry, prefix: "warmpool_agent_" });
    this.inputs = new Counter({ name: "warmpool_inputs_total", help: "Inputs that reached a final state", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    this.attempts = new Counter({ name: "warmpool_retries_total", help: "Failed attempts that were retried", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    this.decisions = new Counter({ name: "warmpool_scale_decisions_total", help: "Autoscaler decisions that started or stopped containers", labelNames: ["app", "function"], registers: [this.registry] });
    const gauge = (name: string, help: string, value: (fn: FunctionRuntime) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["app", "function"],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const fn of functions()) this.set({ app: fn.config.app, function: fn.config.name }, value(fn));
        },
      });
    };
    gauge("warmpool_queue_depth", "Inputs waiting for a container (including retry delays)", (fn) => fn.queued + fn.delayed);
    gauge("warmpool_inputs_in_flight", "Inputs running in containers", (fn) => fn.inFlight);
    gauge("warmpool_containers", "Live containers (starting or ready)", (fn) => fn.liveContainers());
    gauge("warmpool_containers_desired", "Containers the autoscaler wants", (fn) => fn.desired);
  }
}
