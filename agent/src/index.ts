/**
 * @warmpool/agent: the warmpool agent (gateway, durable queues, dispatcher, autoscaler, backends) and
 * its TypeScript client.
 */
export { Agent, inputChannel, type AgentDeps } from "./agent";
export { ManualClock, realClock, type Clock } from "./clock";
export type { AgentOptions } from "./config/options";
export { decide, desiredContainers, type Decision, type Observation, type ScaleConfig } from "./autoscaler/decide";
export { retryDelayMs } from "./config/function";
export { ERRORS, AgentError } from "./errors";
export { loadSpecFile, validateApp } from "./spec/load";
export { SqliteStore } from "./store/sqlite";
export type { Store } from "./store/store";
export { LocalBackend } from "./backends/local/local";
export type { Backend } from "./backends/backend";
export * from "./client/client";
