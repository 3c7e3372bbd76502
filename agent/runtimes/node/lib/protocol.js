// @ts-check
/**
 * The wire format of `POST /invoke` (PROTOCOL.md): parsing requests and encoding outputs.
 *
 * Outputs are encoded one by one, so a result that is not JSON fails only its own input, and the
 * response is joined from the pieces without a second encoding pass.
 */
"use strict";

const { runtimeError } = require("./errors");

/** The request itself is malformed: answered 400, no input runs. */
class BadRequest extends Error {
  name = "BadRequest";
}

/** @typedef {{ id: string, args: unknown[], kwargs: Record<string, unknown>, method?: string, params?: Record<string, unknown> }} Input */

/**
 * @param {string} body
 * @param {number} maxInputs
 * @returns {Input[]}
 */
function parseInvoke(body, maxInputs) {
  let document;
  try {
    document = JSON.parse(body, revive);
  } catch (error) {
    throw new BadRequest(`body is not JSON: ${/** @type {Error} */ (error).message}`);
  }
  const inputs = isObject(document) ? document.inputs : undefined;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new BadRequest('body must be {"inputs": [...]} with at least one input');
  if (inputs.length > maxInputs) throw new BadRequest(`${inputs.length} inputs in one request, this handler takes at most ${maxInputs}`);
  return inputs.map(toInput);
}

/**
 * Bytes travel as `{"$bytes": base64}` (PROTOCOL.md, "Values"): such an object is a Buffer for the
 * handler. JSON.parse calls this bottom-up, so nested ones are found too.
 * @param {string} _key
 * @param {unknown} value
 */
function revive(_key, value) {
  if (isObject(value) && typeof value.$bytes === "string") {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.$bytes) || value.$bytes.length % 4 !== 0) throw new BadRequest("a $bytes value is not base64");
      return Buffer.from(value.$bytes, "base64");
    }
  }
  return value;
}

/**
 * A Buffer or typed byte array in a result goes out as `{"$bytes": base64}`. JSON.stringify has
 * already called Buffer's toJSON on `value`, so the original is read from the holder.
 * @this {Record<string, unknown>}
 * @param {string} key
 * @param {unknown} value
 */
function bytesOut(key, value) {
  const original = this[key];
  if (original instanceof Uint8Array) return { $bytes: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") };
  return value;
}

/**
 * @param {unknown} item
 * @param {number} index
 * @returns {Input}
 */
function toInput(item, index) {
  if (!isObject(item)) throw new BadRequest(`inputs[${index}] is not an object`);
  const { id, args = [], kwargs = {}, method, params } = item;
  if (typeof id !== "string") throw new BadRequest(`inputs[${index}].id must be a string`);
  if (!Array.isArray(args)) throw new BadRequest(`inputs[${index}].args must be an array`);
  if (!isObject(kwargs)) throw new BadRequest(`inputs[${index}].kwargs must be an object`);
  // A class function's input (module:Class): the method to run and its instance's parameters.
  if (method !== undefined && typeof method !== "string") throw new BadRequest(`inputs[${index}].method must be a string`);
  if (params !== undefined && params !== null && !isObject(params)) throw new BadRequest(`inputs[${index}].params must be an object`);
  return {
    id,
    args,
    kwargs: /** @type {Record<string, unknown>} */ (kwargs),
    ...(method === undefined ? {} : { method }),
    ...(params === undefined || params === null ? {} : { params: /** @type {Record<string, unknown>} */ (params) }),
  };
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @param {string} id
 * @param {unknown} value
 */
function success(id, value) {
  let encoded;
  try {
    // undefined (a handler that returns nothing) is null on the wire, like Python's None.
    encoded = value === undefined ? "null" : JSON.stringify(value, bytesOut);
  } catch (error) {
    return failure(id, runtimeError("SerializationError", `result is not JSON-serialisable: ${/** @type {Error} */ (error).message}`));
  }
  if (encoded === undefined) {
    return failure(id, runtimeError("SerializationError", `result is not JSON-serialisable: a ${typeof value}`));
  }
  return `{"id":${JSON.stringify(id)},"ok":true,"value":${encoded}}`;
}

/**
 * @param {string} id
 * @param {import("./errors").WireError} error
 */
function failure(id, error) {
  return `{"id":${JSON.stringify(id)},"ok":false,"error":${JSON.stringify(error)}}`;
}

/** @param {string[]} encoded */
function outputs(encoded) {
  return `{"outputs":[${encoded.join(",")}]}`;
}

/**
 * @param {string} type
 * @param {string} message
 */
function errorBody(type, message) {
  return JSON.stringify({ error: { type, message } });
}

module.exports = { BadRequest, parseInvoke, success, failure, outputs, errorBody };
