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

/** @typedef {{ id: string, args: unknown[], kwargs: Record<string, unknown> }} Input */

/**
 * @param {string} body
 * @param {number} maxInputs
 * @returns {Input[]}
 */
function parseInvoke(body, maxInputs) {
  let document;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new BadRequest(`body is not JSON: ${/** @type {Error} */ (error).message}`);
  }
  const inputs = isObject(document) ? document.inputs : undefined;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new BadRequest('body must be {"inputs": [...]} with at least one input');
  if (inputs.length > maxInputs) throw new BadRequest(`${inputs.length} inputs in one request, this handler takes at most ${maxInputs}`);
  return inputs.map(toInput);
}

/**
 * @param {unknown} item
 * @param {number} index
 * @returns {Input}
 */
function toInput(item, index) {
  if (!isObject(item)) throw new BadRequest(`inputs[${index}] is not an object`);
  const { id, args = [], kwargs = {} } = item;
  if (typeof id !== "string") throw new BadRequest(`inputs[${index}].id must be a string`);
  if (!Array.isArray(args)) throw new BadRequest(`inputs[${index}].args must be an array`);
  if (!isObject(kwargs)) throw new BadRequest(`inputs[${index}].kwargs must be an object`);
  return { id, args, kwargs: /** @type {Record<string, unknown>} */ (kwargs) };
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
    encoded = value === undefined ? "null" : JSON.stringify(value);
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
