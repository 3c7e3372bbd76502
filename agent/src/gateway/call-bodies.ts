/**
 * JSON bodies of calls, the same for `call`, `GET /v1/calls/{id}` and map lines:
 * `{"callId", "status", "result"}` on success, `{"callId", "status", "error": {type, message,
 * traceback}}` on failure. The result is spliced in as the JSON text the worker produced.
 */
import type { Input } from "../queue/call-table";
import { apiStatus } from "../queue/call-table";
import type { StoredCall } from "../store/store";

export function describeInput(input: Input, withAttempts: boolean): string {
  const head = `{"callId":"${input.id}","status":"${input.status}"`;
  if (input.state === "completed") {
    return withAttempts ? `${head},"result":${input.result},"attempt":${input.attempt},"attempts":${JSON.stringify(input.attempts ?? [])}${tree(input)}}` : `${head},"result":${input.result}}`;
  }
  const rest: Record<string, unknown> = {};
  if (input.error !== null && input.final) rest.error = input.error;
  if (withAttempts) {
    rest.attempt = input.attempt;
    rest.attempts = input.attempts ?? [];
    if (input.parent !== null) rest.parent = input.parent;
    rest.children = input.children ?? [];
  } else if (input.attempts !== null) rest.attempts = input.attempts;
  const tail = JSON.stringify(rest);
  return tail === "{}" ? `${head}}` : `${head},${tail.slice(1)}`;
}

export function describeStored(call: StoredCall): string {
  const body: Record<string, unknown> = { callId: call.id, status: apiStatus(call.state) };
  if (call.state === "completed") body.result = JSON.parse(call.result ?? "null") as unknown;
  else if (call.error !== null) body.error = call.error;
  body.attempt = call.attempts.length;
  body.attempts = call.attempts;
  if (call.parent !== null) body.parent = call.parent;
  body.children = call.children;
  return JSON.stringify(body);
}

/** The call tree's part of a status body: `,"parent":…,"children":[…]` (no parent: no key). */
function tree(input: Input): string {
  const parent = input.parent === null ? "" : `,"parent":"${input.parent}"`;
  return `${parent},"children":${JSON.stringify(input.children ?? [])}`;
}
