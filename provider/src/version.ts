/**
 * Package version and the images built from this repository for it.
 */
// Read at run time: package.json sits outside rootDir, one level above both src/ and dist/.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PACKAGE_VERSION: string = (require("../package.json") as { version: string }).version;

/** Built from agent/Dockerfile and published with each release. */
export const DEFAULT_AGENT_IMAGE = `ghcr.io/warmpool/agent:${PACKAGE_VERSION}`;

/** Ports and the worker app dir are part of the provider–agent contract (@warmpool/schema contract.ts). */
export { AGENT_PORT, WORKER_APP_DIR, WORKER_PORT } from "@warmpool/schema";
