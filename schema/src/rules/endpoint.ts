/**
 * Consistency rules of an EndpointSpec: a web server needs a port, a function endpoint has none.
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
  if (spec.path !== undefined && /\/\/|\/\.\.?(\/|$)/.test(spec.path)) {
    problems.push({ path: "path", value: spec.path, message: "must not contain '//', '/.' or '/..' segments" });
  }
  return problems;
}
