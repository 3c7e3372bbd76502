/**
 * Containers: `GET /v1/containers` (every container of every deployed function) and
 * `POST /v1/containers/{id}/exec` (`warmpool container exec`): a command run inside a running
 * container as its worker runs, without a terminal or stdin, answered once it ends with its exit, its
 * output (up to 1 MiB of each stream) and whether it was cut short. Admin token only: an App token's
 * scope is its App's functions and calls (gateway/server.ts `outOfScope`).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AgentError } from "../errors";
import type { GatewayDeps } from "./deps";

/** A command's words at most, and their characters in all (a shell line, not a payload). */
const MAX_WORDS = 256;
const MAX_CHARS = 64 << 10;
const DEFAULT_TIMEOUT_S = 60;
const MAX_TIMEOUT_S = 3600;
/** Of each of stdout and stderr: the answer is one JSON document, held in memory until the command ends. */
const EXEC_OUTPUT_LIMIT = 1 << 20;

type ExecRequest = FastifyRequest<{ Params: { id: string }; Body: unknown }>;

export function registerContainers(app: FastifyInstance, deps: GatewayDeps): void {
  const { registry } = deps;

  app.get("/v1/containers", async function listContainers() {
    const containers = [];
    for (const a of registry.apps()) for (const fn of a.functions.values()) for (const c of fn.containers()) containers.push({ app: a.name, function: fn.config.name, ...c });
    return { containers };
  });

  app.post("/v1/containers/:id/exec", async function execInContainer(req: ExecRequest) {
    const { command, timeoutS } = execBody(req.body);
    const id = req.params.id;
    for (const a of registry.apps()) {
      for (const fn of a.functions.values()) {
        const running = fn.pool.exec(id, command, { timeoutMs: timeoutS * 1000, maxOutputBytes: EXEC_OUTPUT_LIMIT });
        if (running === undefined) continue;
        // It ended while the command was being set up: gone, as far as the caller can tell.
        const result = await running.catch((err: Error) => {
          throw new AgentError("WP_ERR_CONTAINER_NOT_FOUND", [JSON.stringify(id), ` (${err.message})`]);
        });
        return { container: id, app: a.name, function: fn.config.name, ...result, outputLimitBytes: EXEC_OUTPUT_LIMIT };
      }
    }
    throw new AgentError("WP_ERR_CONTAINER_NOT_FOUND", [JSON.stringify(id.slice(0, 100)), ""]);
  });
}

/** `{"command": ["ls", "/"], "timeoutSeconds": 60}`, every problem named at once. */
function execBody(body: unknown): { command: string[]; timeoutS: number } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new AgentError("WP_ERR_BAD_REQUEST", ['the body must be a JSON object {"command": ["ls", "/"], "timeoutSeconds": 60}']);
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(b))
    if (key !== "command" && key !== "timeoutSeconds") problems.push(`body has an unknown field ${JSON.stringify(key.slice(0, 40))} (allowed: command, timeoutSeconds)`);
  const c = b.command;
  if (!Array.isArray(c) || c.length === 0 || c.length > MAX_WORDS || !c.every((w) => typeof w === "string")) {
    problems.push(`body.command must be an array of 1 to ${MAX_WORDS} strings (the program and its arguments, e.g. ["ls", "/"])`);
  } else {
    const words = c as string[];
    if (words[0] === "") problems.push("body.command[0] is empty: it names the program to run");
    const nul = words.findIndex((w) => w.includes("\0"));
    if (nul >= 0) problems.push(`body.command[${nul}] holds a NUL character, which no program argument can`);
    const chars = words.reduce((n, w) => n + w.length, 0);
    if (chars > MAX_CHARS) problems.push(`body.command is ${chars} characters long; the limit is ${MAX_CHARS}`);
  }
  const t = b.timeoutSeconds;
  if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t) || t <= 0 || t > MAX_TIMEOUT_S)) {
    problems.push(`body.timeoutSeconds = ${JSON.stringify(t)?.slice(0, 40)}: must be a number of seconds above 0, at most ${MAX_TIMEOUT_S}`);
  }
  if (problems.length > 0) throw new AgentError("WP_ERR_BAD_REQUEST", [problems.join("; ")]);
  return { command: c as string[], timeoutS: (t as number | undefined) ?? DEFAULT_TIMEOUT_S };
}
