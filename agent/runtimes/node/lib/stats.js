// @ts-check
/**
 * The counters behind `GET /stats`. Node runs every request on one thread, so plain fields are
 * exact: `maxInFlight` can neither miss nor invent an overshoot of `concurrency.maxInputs`.
 */
"use strict";

class Stats {
  inFlight = 0;
  maxInFlight = 0;
  invocations = 0;
  batches = 0;
  maxBatch = 0;

  /**
   * @param {number} inputs
   * @param {boolean} batched
   */
  begin(inputs, batched) {
    this.inFlight += inputs;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    this.invocations += inputs;
    if (batched) {
      this.batches += 1;
      if (inputs > this.maxBatch) this.maxBatch = inputs;
    }
  }

  /** @param {number} inputs */
  end(inputs) {
    this.inFlight -= inputs;
  }

  snapshot() {
    const { inFlight, maxInFlight, invocations, batches, maxBatch } = this;
    return { inFlight, maxInFlight, invocations, batches, maxBatch };
  }
}

module.exports = { Stats };
