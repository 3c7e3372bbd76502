// @ts-check
/**
 * Class functions (`WARMPOOL_HANDLER=module:Class`), as in the Python runtime (classes.py): one
 * container pool serves every method of the class, and each input names its method and its
 * parameters.
 *
 * - Methods: those listed in `static [method] = [...]`; a class that lists none serves its public
 *   methods (not the constructor, hooks, or names starting with `_`), inherited ones included.
 * - Parameters: the constructor gets them as one object, `new Model({size: 3})` (JavaScript has no
 *   declarations like Python's `parameter()`, so none are checked here).
 * - Instances: one per distinct parameter set, made on the first input that asks for it, its `enter`
 *   hooks run then (the instance without parameters before `/ready`). At most MAX_INSTANCES live in a
 *   container; past that the least recently used idle one runs its `exit` hooks and goes (a busy one
 *   is never evicted), so memory stays bounded. The agent sends inputs where their set is warm.
 */
"use strict";

const { runtimeError } = require("./errors");
const { enter, exit, method, hookNames } = require("./hooks");

/** Parameter sets kept warm per container: schema/src/contract.ts CLASS_INSTANCES_PER_CONTAINER (the contract test checks). */
const MAX_INSTANCES = 8;

/** An input named a method the class does not serve: the caller's mistake. */
class ClassError extends Error {
  name = "InvalidMethod";
}

/**
 * @typedef {object} Instance
 * @property {Promise<any>} ready the object, once its `enter` hooks have run
 * @property {number} busy inputs running on it
 */

class ClassHandler {
  /**
   * @param {any} cls
   * @param {string} where `module:Class`, for messages
   */
  constructor(cls, where) {
    this.cls = cls;
    this.where = where;
    this.enterNames = hookNames(cls, enter);
    this.exitNames = hookNames(cls, exit);
    /** @type {string[]} */
    this.methods = hookNames(cls, method);
    if (this.methods.length === 0) this.methods = publicMethods(cls, new Set([...this.enterNames, ...this.exitNames]));
    /** @type {Map<string, Instance>} least recently used first */
    this.instances = new Map();
  }

  /** Makes the instance without parameters (its constructor gets `{}`), so the first input does not wait for its `enter`. */
  async prepare() {
    const instance = this.acquire({});
    try {
      await instance.ready;
    } finally {
      this.release({});
    }
  }

  /**
   * The method to run for an input, bound to its parameters' instance, and what to call when it is done.
   * @param {string | undefined} name
   * @param {Record<string, unknown>} params
   * @returns {Promise<{ fn: (...args: unknown[]) => unknown, done: () => void }>}
   */
  async bind(name, params) {
    if (name === undefined) throw new ClassError(`${this.where} is a class: each input names a method (one of ${this.methods.join(", ")})`);
    if (!this.methods.includes(name)) throw new ClassError(`${this.where} has no method '${name}'; its methods: ${this.methods.join(", ")}`);
    const instance = this.acquire(params);
    let object;
    try {
      object = await instance.ready;
    } catch (error) {
      this.release(params);
      throw error;
    }
    return { fn: object[name].bind(object), done: () => this.release(params) };
  }

  /** Runs every instance's `exit` hooks (shutdown). */
  async close() {
    const all = [...this.instances.values()];
    this.instances.clear();
    for (const instance of all) await this.exitOf(instance);
  }

  /** @param {Record<string, unknown>} params */
  acquire(params) {
    const k = key(params);
    let instance = this.instances.get(k);
    if (instance === undefined) {
      instance = { busy: 0, ready: this.make(params) };
      // A failed `enter` is not kept: the next input with these parameters tries again.
      instance.ready.catch(() => this.instances.get(k) === instance && this.instances.delete(k));
      this.instances.set(k, instance);
      this.evict();
    } else {
      this.instances.delete(k); // most recently used: to the end
      this.instances.set(k, instance);
    }
    instance.busy++;
    return instance;
  }

  /** @param {Record<string, unknown>} params */
  release(params) {
    const instance = this.instances.get(key(params));
    if (instance !== undefined) instance.busy--;
    this.evict();
  }

  /** @param {Record<string, unknown>} params */
  async make(params) {
    const object = new this.cls(params);
    for (const name of this.enterNames) await object[name]();
    return object;
  }

  evict() {
    for (const [k, instance] of this.instances) {
      if (this.instances.size <= MAX_INSTANCES) return;
      if (instance.busy > 0) continue;
      this.instances.delete(k);
      void this.exitOf(instance).catch((error) => console.error(error));
    }
  }

  /** @param {Instance} instance */
  async exitOf(instance) {
    let object;
    try {
      object = await instance.ready;
    } catch {
      return; // never entered
    }
    for (const name of this.exitNames) await object[name]();
  }
}

/**
 * The parameter set's identity: its JSON with keys sorted.
 * @param {Record<string, unknown>} params
 */
function key(params) {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/**
 * @param {any} cls
 * @param {Set<string>} hooks
 */
function publicMethods(cls, hooks) {
  /** @type {string[]} */
  const names = [];
  for (let proto = cls.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || name.startsWith("_") || hooks.has(name) || names.includes(name)) continue;
      if (typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") names.push(name);
    }
  }
  return names;
}

/** @param {unknown} value */
function isClass(value) {
  return typeof value === "function" && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/**
 * An input's method for a handler that is not a class: refused, as PROTOCOL.md says.
 * @param {string} name
 */
function notAClass(name) {
  return runtimeError("NotAClass", `the handler is a function, not a class: an input cannot name method '${name}'`);
}

module.exports = { ClassHandler, ClassError, MAX_INSTANCES, isClass, notAClass };
