/**
 * warmpool: Pulumi components for serverless GPU functions on your own cloud.
 *
 * Each component is importable from TypeScript and, through the package schema inferred from these
 * classes, from Python, Go, .NET and YAML.
 */
export { App } from "./components/app";
export { Endpoint } from "./components/endpoint";
export { Function } from "./components/function";
export { GpuPool } from "./components/gpupool";
export { Runtime } from "./components/runtime";
export { Schedule } from "./components/schedule";
export { Secret } from "./components/secret";
export { Volume } from "./components/volume";
export type * from "./generated/args";
export type * from "./refs";
export { PACKAGE_VERSION as version } from "./version";
