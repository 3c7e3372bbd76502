// @ts-check
/**
 * The `enter`, `exit` and `method` symbols a handler class lists its hook method names under.
 */
"use strict";

const { LoadError } = require("./errors");

// Symbol.for rather than Symbol(): the handler may require its own copy of this package (from its
// node_modules) while the worker runs from another, and registered symbols are equal across copies.
const enter = Symbol.for("warmpool.enter");
const exit = Symbol.for("warmpool.exit");
const method = Symbol.for("warmpool.method");

/**
 * The method names a class lists under `key` (static fields are inherited through `extends`),
 * checked to name methods so that a typo fails the start rather than the shutdown.
 * @param {Function} cls
 * @param {symbol} key
 * @returns {string[]}
 */
function hookNames(cls, key) {
  const names = /** @type {any} */ (cls)[key];
  if (names === undefined) return [];
  if (!Array.isArray(names) || names.some((name) => typeof cls.prototype[name] !== "function")) {
    throw new LoadError(`${cls.name}[${key.description}] must be an array of names of its methods, got ${String(names)}`);
  }
  return names;
}

module.exports = { enter, exit, method, hookNames };
