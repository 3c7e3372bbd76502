/**
 * Package version and the images built from this repository for it.
 */
// Read at run time: package.json sits outside rootDir, one level above both src/ and dist/.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PACKAGE_VERSION: string = (require("../package.json") as { version: string }).version;

/** Built from agent/Dockerfile and published with each release. */
export const DEFAULT_AGENT_IMAGE = `ghcr.io/warmpool/agent:${PACKAGE_VERSION}`;

/** Port the worker runtime listens on inside a pod. */
export const WORKER_PORT = 8000;

/** Port the agent's gateway listens on. */
export const AGENT_PORT = 8080;

/** Where user code lives in a worker image (WARMPOOL_APP_DIR). */
export const WORKER_APP_DIR = "/app";
