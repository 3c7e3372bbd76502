// @ts-check
/**
 * Loading `WARMPOOL_HANDLER`: find and load the module and, for a class, make the container's one
 * instance and run its `enter` hooks. Everything here runs once, before `/ready` turns 200.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { LoadError } = require("./errors");
const { enter, exit, hookNames } = require("./hooks");
const { ClassHandler, isClass } = require("./classes");

const EXTENSIONS = [".js", ".mjs", ".cjs"];

/**
 * @typedef {object} Handler
 * @property {(...args: unknown[]) => unknown} fn the function (for a class function: unused)
 * @property {ClassHandler | null} cls a class function's methods and instances (`module:Class`)
 * @property {() => Promise<void>} close runs the `exit` hooks once, in order
 */

/**
 * @param {string} spec `module:function`, `module:Class.method`, or `module:Class` for all its methods
 * @param {string} appDir
 * @returns {Promise<Handler>}
 */
async function load(spec, appDir) {
  const colon = spec.indexOf(":");
  const moduleName = spec.slice(0, colon);
  const [ownerName, methodName, ...rest] = spec.slice(colon + 1).split(".");
  if (rest.length > 0) throw new LoadError(`${spec} has more than one "." after the module`);
  const exports = await importModule(resolveModule(appDir, moduleName));
  const owner = exports[ownerName];
  if (owner === undefined) throw new LoadError(`${moduleName} does not export ${JSON.stringify(ownerName)}`);

  if (methodName === undefined) {
    if (typeof owner !== "function") throw new LoadError(`${moduleName}:${ownerName} is a ${typeof owner}, not a function`);
    if (isClass(owner)) {
      const cls = new ClassHandler(owner, `${moduleName}:${ownerName}`);
      await cls.prepare();
      const refuse = () => {
        throw new LoadError(`${moduleName}:${ownerName} is a class: each input names its method`);
      };
      return { fn: refuse, cls, close: () => cls.close() };
    }
    return { fn: owner, cls: null, close: async () => {} };
  }
  if (typeof owner !== "function" || owner.prototype === undefined) {
    throw new LoadError(`${moduleName}:${ownerName} is not a class, so ${spec} cannot name a method of it`);
  }
  const enterNames = hookNames(owner, enter);
  const exitNames = hookNames(owner, exit);
  const instance = new owner();
  const fn = instance[methodName];
  if (typeof fn !== "function") throw new LoadError(`${moduleName}:${ownerName} has no method ${JSON.stringify(methodName)}`);
  for (const name of enterNames) await instance[name]();
  return {
    fn: fn.bind(instance),
    cls: null,
    close: async () => {
      for (const name of exitNames) await instance[name]();
    },
  };
}

/**
 * The module's file: `name` relative to the app directory, its extension optional.
 * @param {string} appDir
 * @param {string} name
 */
function resolveModule(appDir, name) {
  const base = path.resolve(appDir, name);
  for (const candidate of [base, ...EXTENSIONS.map((extension) => base + extension)]) {
    if (fs.statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  // A directory with a package.json or an index.js; the error names every path it tried.
  return require.resolve(base);
}

/**
 * require() for CommonJS, import() for ES modules: require keeps CommonJS exports exactly as the
 * module assigned them, where import() would guess named exports from the source text.
 * @param {string} file
 * @returns {Promise<Record<string, any>>}
 */
async function importModule(file) {
  if (file.endsWith(".mjs")) return import(pathToFileURL(file).href);
  try {
    return require(file);
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== "ERR_REQUIRE_ESM") throw error;
    return import(pathToFileURL(file).href);
  }
}

module.exports = { load };
