/**
 * Prometheus metrics (prom-client), one Registry per agent. Counters are bumped once per settled
 * input through per-function children made at deploy time (no label lookup per input); gauges are
 * computed when /metrics is scraped, so they cost nothing between scrapes.
 *
 * Histograms, per app and function (children made at deploy, like the counters):
 * - `warmpool_call_duration_seconds`: from acceptance to the final state, retries and their delays
 *   included, by outcome (succeeded, failed, cancelled): what a caller waits.
 * - `warmpool_queue_wait_seconds`: per attempt, from entering the queue to reaching a container.
 * - `warmpool_execution_duration_seconds`: per attempt, from reaching a container to its answer.
 * - `warmpool_cold_start_seconds`: per container, from the decision to start it to its first `/ready`.
 * And Node's own process metrics under their usual names (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_heap_size_used_bytes`, ...).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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

/** One function's histograms (seconds). */
export interface FunctionTimings {
  /** Acceptance to final state, by outcome. */
  call: { succeeded: Observer; failed: Observer; cancelled: Observer };
  queueWait: Observer;
  execution: Observer;
  coldStart: Observer;
}

interface Observer {
  observe(seconds: number): void;
}

/** Call and attempt durations: 5 ms (a warm call on this machine) to an hour (a long job). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Container starts: 100 ms (a Node worker) to 10 min (a model loaded in `@enter`). */
const COLD_START_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

export class Metrics {
  readonly registry = new Registry();
  readonly inputs: Counter<"app" | "function" | "outcome">;
  readonly attempts: Counter<"app" | "function" | "outcome">;
  readonly callDuration: Histogram<"app" | "function" | "outcome">;
  readonly queueWait: Histogram<"app" | "function">;
  readonly execution: Histogram<"app" | "function">;
  readonly coldStart: Histogram<"app" | "function">;
  /** Open `logs?follow=true` streams: back to 0 once their clients have gone. */
  readonly logFollowers: Gauge;

  constructor(functions: () => Iterable<FunctionGauges>) {
    collectDefaultMetrics({ register: this.registry });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> =>
      new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
    this.callDuration = histogram("warmpool_call_duration_seconds", "Time from a call's acceptance to its final state (retries included)", ["app", "function", "outcome"], DURATION_BUCKETS);
    this.queueWait = histogram("warmpool_queue_wait_seconds", "Time an attempt waited in the queue before a container took it", ["app", "function"], DURATION_BUCKETS);
    this.execution = histogram("warmpool_execution_duration_seconds", "Time an attempt ran in its container", ["app", "function"], DURATION_BUCKETS);
    this.coldStart = histogram("warmpool_cold_start_seconds", "Time from starting a container to its first readiness", ["app", "function"], COLD_START_BUCKETS);
    this.inputs = new Counter({ name: "warmpool_inputs_total", help: "Inputs that reached a final state", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    this.attempts = new Counter({ name: "warmpool_retries_total", help: "Failed attempts that were retried", labelNames: ["app", "function", "outcome"], registers: [this.registry] });
    this.logFollowers = new Gauge({ name: "warmpool_log_followers", help: "Open streams of logs?follow=true", registers: [this.registry] });
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

  /** The histograms of one function, made once at deploy. */
  timings(app: string, fn: string): FunctionTimings {
    const call = (outcome: string) => this.callDuration.labels({ app, function: fn, outcome });
    const labels = { app, function: fn };
    return {
      call: { succeeded: call("succeeded"), failed: call("failed"), cancelled: call("cancelled") },
      queueWait: this.queueWait.labels(labels),
      execution: this.execution.labels(labels),
      coldStart: this.coldStart.labels(labels),
    };
  }
}
