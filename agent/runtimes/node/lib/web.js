// @ts-check
/**
 * HTTP helpers for functions behind a web endpoint (PROTOCOL.md, "Web endpoints"). A function
 * endpoint's handler receives the request ({method, path, query, headers, body}) and returns any JSON
 * value, or `Response(body, {status, headers})` to choose the status code and headers. The result is
 * a plain object in a reserved shape, so it travels through the worker protocol as JSON.
 */
"use strict";

/**
 * @param {unknown} [body] JSON value; a string is sent as text when `headers` set a content-type.
 * @param {{status?: number, headers?: Record<string, string>}} [init]
 */
function Response(body = null, init = {}) {
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new RangeError(`status must be an integer from 100 to 599, not ${status}`);
  return { __warmpool__: "response", status, headers: { ...(init.headers ?? {}) }, body };
}

module.exports = { Response };
