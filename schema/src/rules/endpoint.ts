/**
 * Consistency rules of an EndpointSpec: a web server needs a port, a function endpoint has none, only
 * a function endpoint names a class's method; and
 * the rules between an endpoint and the rest of its app: a web server's port is its function's
 * webPort, and no two endpoints of an app share a path. The provider and the agent's spec files run
 * the same functions.
 */
import type { Problem } from "../problems";
import type { EndpointSpec } from "../generated/specs";

export function endpointProblems(spec: EndpointSpec): Problem[] {
  const problems: Problem[] = [];
  const kind = spec.kind ?? "function";
  if (kind === "webServer" && spec.port === undefined) {
    problems.push({ path: "port", value: undefined, message: "is required when kind is webServer (the port the container listens on)" });
  }
  if (kind === "function" && spec.port !== undefined) {
    problems.push({ path: "port", value: spec.port, message: "is only allowed when kind is webServer" });
  }
  if (kind === "webServer" && spec.method !== undefined) {
    problems.push({ path: "method", value: spec.method, message: "is only allowed when kind is function (a web server is started once per container, not called per request)" });
  }
  if (spec.path !== undefined && /\/\/|\/\.\.?(\/|$)/.test(spec.path)) {
    problems.push({ path: "path", value: spec.path, message: "must not contain '//', '/.' or '/..' segments" });
  }
  return problems;
}

/**
 * A webServer endpoint proxies to the port its function serves on, which the function declares as
 * `webPort`: the two must agree, or the containers never start the server the route expects.
 */
export function endpointFunctionProblems(spec: Pick<EndpointSpec, "kind" | "port">, fn: { name: string; webPort?: number }): Problem[] {
  if ((spec.kind ?? "function") !== "webServer" || spec.port === fn.webPort) return [];
  const needed = `set webPort: ${spec.port} on Function "${fn.name}"`;
  const message =
    fn.webPort === undefined
      ? `needs Function "${fn.name}" to serve HTTP on it, but the function declares no webPort: ${needed}`
      : `differs from the webPort of Function "${fn.name}" (${fn.webPort}): ${needed}, or use port ${fn.webPort} here`;
  return [{ path: "port", value: spec.port, message }];
}

/**
 * Endpoints of one app on the same path (a trailing slash aside): the router takes the first one
 * declared, so the others would never be reached. One problem per later endpoint, at its `path`.
 */
export function duplicatePathProblems(endpoints: ReadonlyArray<{ name: string; path?: string }>): Array<{ name: string; problem: Problem }> {
  const first = new Map<string, string>();
  const out: Array<{ name: string; problem: Problem }> = [];
  for (const e of endpoints) {
    const path = e.path ?? "/";
    const key = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const owner = first.get(key);
    if (owner === undefined) first.set(key, e.name);
    else out.push({ name: e.name, problem: { path: "path", value: path, message: `is already the path of endpoint "${owner}", which would get every request: give each endpoint its own path` } });
  }
  return out;
}

/**
 * An endpoint naming a `method` needs a class function that serves all its methods (`module:Class`):
 * a handler `module:Class.method` serves that one method, and `module:function` none.
 */
export function endpointMethodProblems(spec: Pick<EndpointSpec, "method">, fn: { name: string; handler: string }): Problem[] {
  if (spec.method === undefined || !/:[^.]+\.[^.]+$/.test(fn.handler)) return [];
  const cls = fn.handler.slice(0, fn.handler.lastIndexOf("."));
  return [{ path: "method", value: spec.method, message: `needs Function "${fn.name}" to serve its whole class, but its handler ${fn.handler} serves one method: set its handler to ${cls}` }];
}
