/**
 * The JSON Schemas of every spec kind, keyed by the component name that uses them.
 *
 * The schemas are imported (not read from disk) so that bundles of the agent carry them.
 */
import app from "../specs/app.json";
import defs from "../specs/defs.json";
import endpoint from "../specs/endpoint.json";
import fn from "../specs/function.json";
import gpupool from "../specs/gpupool.json";
import runtime from "../specs/runtime.json";
import schedule from "../specs/schedule.json";
import secret from "../specs/secret.json";
import status from "../specs/status.json";
import volume from "../specs/volume.json";

export const SPEC_KINDS = ["Runtime", "App", "Function", "GpuPool", "Volume", "Secret", "Schedule", "Endpoint"] as const;
export type SpecKind = (typeof SPEC_KINDS)[number];

export type JsonSchema = { [key: string]: unknown };

export const SPEC_SCHEMAS: Readonly<Record<SpecKind, JsonSchema>> = {
  Runtime: runtime,
  App: app,
  Function: fn,
  GpuPool: gpupool,
  Volume: volume,
  Secret: secret,
  Schedule: schedule,
  Endpoint: endpoint,
};

/** Schemas that others refer to but that are not specs of their own. */
export const SHARED_SCHEMAS: readonly JsonSchema[] = [defs, status];

/** File name of each spec's schema under schema/specs/. */
export const SPEC_FILES: Readonly<Record<SpecKind, string>> = {
  Runtime: "runtime.json",
  App: "app.json",
  Function: "function.json",
  GpuPool: "gpupool.json",
  Volume: "volume.json",
  Secret: "secret.json",
  Schedule: "schedule.json",
  Endpoint: "endpoint.json",
};
