/**
 * Local App specs (`warmpool dev app.yaml`, `PUT /v1/apps/{app}`): an AppSpec whose `functions`,
 * `schedules` and `endpoints` maps hold specs without their `app`/`name`. Each entry is completed from
 * the map key and checked with the shared validator, and every problem of the file is reported in one
 * SpecError, with paths such as `functions.hello.autoscaler.minContainers`, worded as the provider
 * words them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  dedupe,
  checkSpec,
  didYouMean,
  duplicatePathProblems,
  endpointFunctionProblems,
  endpointMethodProblems,
  joinPath,
  SpecError,
  type ResolvedAppSpec,
  type ResolvedEndpointSpec,
  type ResolvedFunctionSpec,
  type Problem,
  type ResolvedScheduleSpec,
} from "@warmpool/schema";
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

/**
 * Validates an App document; `subject` names where it came from in the error. Every problem of the
 * document is reported at once: the App's own fields, each function, schedule and endpoint (even when
 * the App's fields have problems), the names they refer to (with the likely intended one: "did you
 * mean"), a web server's port against its function's webPort, and endpoints sharing a path.
 */
export function validateApp(doc: unknown, subject: string, appDir: string): LoadedApp {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new SpecError(subject, [{ path: "", value: doc, message: "must be an object (an App with its functions)" }]);
  }
  const problems: Problem[] = [];
  const appResult = checkSpec("App", doc);
  if (!appResult.ok) problems.push(...appResult.problems);
  // With problems of its own the App's fields are read as they are, to check its entries too.
  const app = (appResult.ok ? appResult.spec : doc) as ResolvedAppSpec;
  const appName = typeof app.name === "string" ? app.name : "";
  const entries = (key: "functions" | "schedules" | "endpoints"): Array<[string, unknown]> => {
    const map = (app as unknown as Record<string, unknown>)[key];
    return map !== null && typeof map === "object" && !Array.isArray(map) ? Object.entries(map) : [];
  };
  const functionNames = entries("functions").map(([name]) => name);
  const functions: ResolvedFunctionSpec[] = [];
  const schedules: ResolvedScheduleSpec[] = [];
  const endpoints: ResolvedEndpointSpec[] = [];
  const entryInput = (body: unknown, name: string): object => ({ ...(body !== null && typeof body === "object" ? body : {}), app: appName, name });
  for (const [name, body] of entries("functions")) {
    const result = checkSpec("Function", entryInput(body, name));
    if (result.ok) functions.push(result.spec);
    else problems.push(...result.problems.map((p) => ({ ...p, path: joinPath(`functions.${name}`, p.path) })));
  }
  for (const [kind, key] of [
    ["Schedule", "schedules"],
    ["Endpoint", "endpoints"],
  ] as const) {
    for (const [name, body] of entries(key)) {
      const result = checkSpec(kind, entryInput(body, name));
      if (!result.ok) problems.push(...result.problems.map((p) => ({ ...p, path: joinPath(`${key}.${name}`, p.path) })));
      else if (!functionNames.includes(result.spec.function)) {
        problems.push({
          path: `${key}.${name}.function`,
          value: result.spec.function,
          message: `must name a function of this app${didYouMean(result.spec.function, functionNames)} (${functionNames.join(", ") || "none"})`,
        });
      } else if (kind === "Endpoint" && (app.functions?.[result.spec.function] as { serialization?: string } | undefined)?.serialization === "pickle") {
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
  // Locally a function without webPort serves on its web server endpoint's port; one with webPort must
  // match it, and a function serves on one port only.
  const servedOn = new Map<string, { endpoint: string; port: number }>();
  for (const e of endpoints) {
    const fn = functions.find((f) => f.name === e.function);
    if (fn !== undefined) problems.push(...endpointMethodProblems(e, fn).map((p) => ({ ...p, path: joinPath(`endpoints.${e.name}`, p.path) })));
    if (fn === undefined || e.kind !== "webServer" || e.port === undefined) continue;
    if (fn.webPort !== undefined) problems.push(...endpointFunctionProblems(e, fn).map((p) => ({ ...p, path: joinPath(`endpoints.${e.name}`, p.path) })));
    const first = servedOn.get(fn.name);
    if (first === undefined) servedOn.set(fn.name, { endpoint: e.name, port: e.port });
    else if (first.port !== e.port && fn.webPort === undefined) {
      problems.push({
        path: `endpoints.${e.name}.port`,
        value: e.port,
        message: `differs from the port of endpoint "${first.endpoint}" (${first.port}), which serves the same function "${fn.name}": a function serves HTTP on one port`,
      });
    }
  }
  for (const { name, problem } of duplicatePathProblems(endpoints)) problems.push({ ...problem, path: joinPath(`endpoints.${name}`, problem.path) });
  if (problems.length > 0) throw new SpecError(subject, dedupe(problems));
  return { app, functions, schedules, endpoints, appDir };
}
