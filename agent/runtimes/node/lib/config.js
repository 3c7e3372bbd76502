// @ts-check
/**
 * The worker's settings, read once from the environment the agent starts it with (PROTOCOL.md).
 */
"use strict";

/** The environment does not describe a worker: an agent bug, not a handler failure. */
class ConfigError extends Error {
  name = "ConfigError";
}

/**
 * @typedef {object} Config
 * @property {string} host
 * @property {number} port
 * @property {string} handler
 * @property {string} appDir
 * @property {number} maxInputs
 * @property {number} batchSize
 * @property {string} containerId
 * @property {string} serialization
 * @property {string} token
 */

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @param {string} fallback
 * @param {number} minimum
 */
function integer(env, name, fallback, minimum) {
  const raw = env[name] ?? fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(value)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  if (value < minimum) throw new ConfigError(`${name} must be at least ${minimum}, got ${value}`);
  return value;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @returns {Config}
 */
function fromEnv(env) {
  const protocol = env.WARMPOOL_PROTOCOL ?? "1";
  if (protocol !== "1") throw new ConfigError(`WARMPOOL_PROTOCOL ${JSON.stringify(protocol)} is not supported (this worker speaks 1)`);
  const handler = env.WARMPOOL_HANDLER ?? "";
  if (!handler.includes(":")) {
    throw new ConfigError(`WARMPOOL_HANDLER must be module:function or module:Class.method, got ${JSON.stringify(handler)}`);
  }
  const serialization = env.WARMPOOL_SERIALIZATION ?? "json";
  // Pickles are Python's: a Node handler could neither read its arguments nor write its results.
  if (serialization !== "json") throw new ConfigError(`WARMPOOL_SERIALIZATION must be json for the Node runtime, got ${JSON.stringify(serialization)}`);
  return {
    host: env.WARMPOOL_HOST ?? "127.0.0.1",
    port: integer(env, "WARMPOOL_PORT", "", 0),
    handler,
    appDir: env.WARMPOOL_APP_DIR ?? process.cwd(),
    maxInputs: integer(env, "WARMPOOL_MAX_INPUTS", "1", 1),
    batchSize: integer(env, "WARMPOOL_BATCH_SIZE", "0", 0),
    containerId: env.WARMPOOL_CONTAINER_ID ?? "local",
    serialization,
    // The App token the agent gave this worker: required on /invoke and /shutdown when set.
    token: env.WARMPOOL_TOKEN ?? "",
  };
}

module.exports = { ConfigError, fromEnv };
