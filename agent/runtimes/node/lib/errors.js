// @ts-check
/**
 * Turning whatever a handler threw into the wire's error object (type, message, traceback).
 */
"use strict";

const path = require("node:path");
const util = require("node:util");

/** The handler spec names something that is not there or cannot be called. */
class LoadError extends Error {
  name = "LoadError";
}

/** @typedef {{ type: string, message: string, traceback: string }} WireError */

const RUNTIME_DIR = path.resolve(__dirname, "..");

/**
 * @param {unknown} error
 * @returns {WireError}
 */
function describe(error) {
  if (!(error instanceof Error) && !util.types.isNativeError(error)) {
    // `throw "text"` and the like: no stack to show.
    return { type: "Error", message: typeof error === "string" ? error : util.inspect(error), traceback: "" };
  }
  const thrown = /** @type {Error} */ (error);
  return { type: typeName(thrown), message: thrown.message, traceback: userFrames(thrown.stack ?? "") };
}

/**
 * A subclass that does not set `name` still reports "Error" there; its constructor says which it is.
 * @param {Error} error
 */
function typeName(error) {
  if (error.name !== "Error") return error.name;
  return error.constructor?.name ?? "Error";
}

/**
 * The stack down to the first frame inside this runtime: what lies below is the worker's own call
 * into the handler, as meaningless to the user as the Python runtime's frame it drops.
 * @param {string} stack
 */
function userFrames(stack) {
  const lines = stack.split("\n");
  const cut = lines.findIndex((line) => line.trimStart().startsWith("at ") && line.includes(RUNTIME_DIR));
  return (cut === -1 ? lines : lines.slice(0, cut)).join("\n");
}

/**
 * An error the runtime reports about a result rather than one the handler threw.
 * @param {string} type
 * @param {string} message
 * @returns {WireError}
 */
function runtimeError(type, message) {
  return { type, message, traceback: "" };
}

module.exports = { LoadError, describe, runtimeError };
