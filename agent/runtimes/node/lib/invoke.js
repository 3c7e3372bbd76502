// @ts-check
/**
 * Running the inputs of one `POST /invoke` through the handler: one input for a plain handler, or
 * the whole batch in one call for a batched one, with the counters of `/stats` around it.
 *
 * Keyword arguments have no JavaScript equivalent: when an input has any, they are passed as one
 * trailing object after the positional arguments.
 */
"use strict";

const protocol = require("./protocol");
const { describe, runtimeError } = require("./errors");
const { ClassError, notAClass } = require("./classes");

/** @typedef {import("./protocol").Input} Input */
/** @typedef {{ ok: true, value: unknown } | { ok: false, error: import("./errors").WireError }} Outcome */

/**
 * @param {(...args: unknown[]) => unknown} fn
 * @param {unknown[]} args
 * @param {Record<string, unknown>} kwargs
 * @returns {Promise<Outcome>}
 */
async function call(fn, args, kwargs) {
  try {
    const value = await (hasKeys(kwargs) ? fn(...args, kwargs) : fn(...args));
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
}

/** @param {object} object */
function hasKeys(object) {
  for (const _ in object) return true;
  return false;
}

class Invoker {
  /**
   * @param {import("./loader").Handler} handler
   * @param {number} batchSize
   * @param {import("./stats").Stats} stats
   */
  constructor(handler, batchSize, stats) {
    this.fn = handler.fn;
    this.cls = handler.cls;
    this.batched = batchSize > 0;
    this.stats = stats;
  }

  /**
   * Encoded outputs, in the order of `inputs`.
   * @param {Input[]} inputs
   * @returns {Promise<string[]>}
   */
  async run(inputs) {
    this.stats.begin(inputs.length, this.batched);
    try {
      return this.batched ? await this.runBatch(inputs) : [await this.runOne(inputs[0])];
    } finally {
      this.stats.end(inputs.length);
    }
  }

  /** @param {Input} input */
  async runOne(input) {
    const outcome = this.cls === null ? await this.plain(input) : await this.ofClass(this.cls, input);
    return outcome.ok ? protocol.success(input.id, outcome.value) : protocol.failure(input.id, outcome.error);
  }

  /**
   * @param {Input} input
   * @returns {Promise<Outcome>}
   */
  async plain(input) {
    if (input.method !== undefined) return { ok: false, error: notAClass(input.method) };
    return call(this.fn, input.args, input.kwargs);
  }

  /**
   * @param {import("./classes").ClassHandler} cls
   * @param {Input} input
   * @returns {Promise<Outcome>}
   */
  async ofClass(cls, input) {
    let bound;
    try {
      bound = await cls.bind(input.method, input.params ?? {});
    } catch (error) {
      if (error instanceof ClassError) return { ok: false, error: runtimeError("InvalidMethod", error.message) };
      return { ok: false, error: describe(error) };
    }
    try {
      return await call(bound.fn, input.args, input.kwargs);
    } finally {
      bound.done();
    }
  }

  /** @param {Input[]} inputs */
  async runBatch(inputs) {
    if (this.cls !== null) return failAll(inputs, runtimeError("BatchingUnsupported", "a class function (module:Class) cannot be batched; batch one method with module:Class.method"));
    const first = inputs[0];
    const names = Object.keys(first.kwargs);
    const sameShape = (/** @type {Input} */ input) =>
      input.args.length === first.args.length && Object.keys(input.kwargs).length === names.length && names.every((name) => Object.hasOwn(input.kwargs, name));
    if (!inputs.every(sameShape)) {
      return failAll(inputs, runtimeError("BatchArgumentMismatch", "every input of a batch must have the same number of positional arguments and the same keyword names"));
    }
    const args = first.args.map((_, position) => inputs.map((input) => input.args[position]));
    /** @type {Record<string, unknown[]>} */
    const kwargs = {};
    for (const name of names) kwargs[name] = inputs.map((input) => input.kwargs[name]);
    const outcome = await call(this.fn, args, kwargs);
    if (!outcome.ok) return failAll(inputs, outcome.error);
    const { value } = outcome;
    if (!Array.isArray(value) || value.length !== inputs.length) {
      const got = Array.isArray(value) ? `${value.length} results` : `a ${value === null ? "null" : typeof value}`;
      return failAll(inputs, runtimeError("BatchSizeMismatch", `batched handler returned ${got} for a batch of ${inputs.length} inputs`));
    }
    return inputs.map((input, index) => protocol.success(input.id, value[index]));
  }
}

/**
 * @param {Input[]} inputs
 * @param {import("./errors").WireError} error
 */
function failAll(inputs, error) {
  return inputs.map((input) => protocol.failure(input.id, error));
}

module.exports = { Invoker };
