// The handler behind the worker fuzz (agent/fuzz/workers.ts): returns what it is given.
exports.echo = (...args) => ({ args });
