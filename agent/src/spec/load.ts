/**
 * Local App specs (`warmpool dev app.yaml`, `PUT /v1/apps/{app}`): an AppSpec whose `functions`,
 * `schedules` and `endpoints` maps hold specs without their `app`/`name`. Each entry is completed from
 * the map key and checked with the shared validator, and every problem of the file is reported in one
 * SpecError, with paths such as `functions.hello.autoscaler.minContainers`, worded as the provider
 * words them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkSpec, joinPath, SpecError, type ResolvedAppSpec, type ResolvedEndpointSpec, type ResolvedFunctionSpec, type Problem, type ResolvedScheduleSpec } from "@warmpool/schema";
import YAML from "yaml";

export interface LoadedApp {
  app: ResolvedAppSpec;
  functions: ResolvedFunctionSpec[];
  /** Validated and defaulted, completed with `app` and `name`. */
  schedules: ResolvedScheduleSpec[];
  endpoints: ResolvedEndpointSpec[];
  /** Directory handler modules are loaded from. */
  appDir: string;
}

/** Reads and validates a spec file (YAML or JSON). */
export function loadSpecFile(file: string): LoadedApp {
  const text = fs.readFileSync(file, "utf8");
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new SpecError(`spec file "${file}"`, [{ path: "", value: undefined, message: `is not valid YAML: ${(err as Error).message}` }]);
  }
  return validateApp(doc, `spec file "${file}"`, path.dirname(path.resolve(file)));
}

/** Validates an App document; `subject` names where it came from in the error. */
export function validateApp(doc: unknown, subject: string, appDir: string): LoadedApp {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new SpecError(subject, [{ path: "", value: doc, message: "must be an object (an App with its functions)" }]);
  }
  const problems: Problem[] = [];
  const appResult = checkSpec("App", doc);
  if (!appResult.ok) {
    problems.push(...appResult.problems);
    throw new SpecError(subject, problems);
  }
  const app = appResult.spec;
  const functions: ResolvedFunctionSpec[] = [];
  const schedules: ResolvedScheduleSpec[] = [];
  const endpoints: ResolvedEndpointSpec[] = [];
  for (const [name, body] of Object.entries(app.functions ?? {})) {
    const input = { ...(body as object), app: app.name, name };
    const result = checkSpec("Function", input);
    if (result.ok) functions.push(result.spec);
    else problems.push(...result.problems.map((p) => ({ ...p, path: joinPath(`functions.${name}`, p.path) })));
  }
  for (const [kind, key] of [
    ["Schedule", "schedules"],
    ["Endpoint", "endpoints"],
  ] as const) {
    for (const [name, body] of Object.entries(app[key] ?? {})) {
      const result = checkSpec(kind, { ...(body as object), app: app.name, name });
      if (!result.ok) problems.push(...result.problems.map((p) => ({ ...p, path: joinPath(`${key}.${name}`, p.path) })));
      else if (app.functions?.[result.spec.function] === undefined) {
        problems.push({ path: `${key}.${name}.function`, value: result.spec.function, message: `must name a function of this app (${Object.keys(app.functions ?? {}).join(", ") || "none"})` });
      } else if (kind === "Endpoint" && (app.functions[result.spec.function] as { serialization?: string }).serialization === "pickle") {
        // An HTTP request and response are not pickles: the function would get and return JSON only.
        problems.push({
          path: `${key}.${name}.function`,
          value: result.spec.function,
          message: `names function "${result.spec.function}", whose serialization is "pickle": an Endpoint's function must use "json"`,
        });
      } else if (kind === "Schedule") schedules.push(result.spec as ResolvedScheduleSpec);
      else endpoints.push(result.spec as ResolvedEndpointSpec);
    }
  }
  if (problems.length > 0) throw new SpecError(subject, problems);
  return { app, functions, schedules, endpoints, appDir };
}
