/**
 * What a failed client command prints, and its exit status: 1 when a remote function failed (its
 * exception and traceback), 2 for everything else. An agent that cannot be reached or refuses the
 * token is named with where its URL and token came from, and what to run about it.
 */
import { AgentUnavailableError, ApiError, AuthError, RemoteFunctionError } from "../client/client";
import { ConfigError, type Resolved } from "../client/config";
import type { Output } from "./output";

export const EXIT = { ok: 0, remoteFailure: 1, error: 2 } as const;

/** Runs a command, turning its errors into a message on stderr and an exit status. */
export async function guard(out: Output, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof RemoteFunctionError) {
      remoteFailure(out, { type: err.type, message: err.message.replace(/^[^:]+: /, ""), ...(err.traceback === undefined ? {} : { traceback: err.traceback }) });
      return;
    }
    out.note(`${out.paintErr("red", "error:")} ${(err as Error).message}`);
    const hint = hintFor(err);
    if (hint !== null) out.note(hint);
    process.exitCode = EXIT.error;
  }
}

/** A remote function's exception, on stderr with its traceback; the exit status becomes 1. */
export function remoteFailure(out: Output, e: { type: string; message: string; traceback?: string }): void {
  out.note(`remote ${e.type}: ${e.message}${e.traceback === undefined ? "" : `\n${e.traceback.trimEnd()}`}`, "red");
  process.exitCode = EXIT.remoteFailure;
}

/** What to run about an error, or null. */
export function hintFor(err: unknown): string | null {
  if (err instanceof AgentUnavailableError) return unreachableHint(err.resolved);
  if (err instanceof AuthError) return err.status === 401 ? noTokenHint(err.resolved) : wrongTokenHint(err.resolved);
  if (err instanceof ConfigError) return "Fix the file, or name the agent another way: --url and --token (or WARMPOOL_URL and WARMPOOL_TOKEN), or --profile <name>.";
  if (err instanceof ApiError && (err.code === "WP_ERR_FUNCTION_NOT_FOUND" || err.code === "WP_ERR_APP_NOT_FOUND")) return "`warmpool apps` lists the deployed apps and their functions.";
  return null;
}

function unreachableHint(r: Resolved): string {
  if (r.profile !== null && r.urlSource.startsWith(`profile [${r.profile}]`)) {
    return `Is its agent running? Start it again with \`warmpool dev <spec.yaml>\` (it rewrites profile [${r.profile}] with its URL), or use another profile: \`warmpool apps --profile <name>\` (the profiles are in ${r.configFile}).`;
  }
  if (r.urlSource === "the default") {
    return `Is an agent running? Start one with \`warmpool dev <spec.yaml>\`: it writes its URL and token to a profile in ${r.configFile}, which client commands read. Or point at one with --url, WARMPOOL_URL or --profile.`;
  }
  return `Check the URL from ${r.urlSource}, or start the agent there (\`warmpool dev <spec.yaml>\` prints its URL).`;
}

function noTokenHint(r: Resolved): string {
  const where = r.profile !== null ? `Profile [${r.profile}] of ${r.configFile} has no token or token_file. ` : "";
  return `${where}The agent wants a token and none was sent: pass --token or set WARMPOOL_TOKEN (an agent keeps its token in <state dir>/token), or run \`warmpool dev <spec.yaml>\`, which writes a profile with its token file to ${r.configFile}.`;
}

function wrongTokenHint(r: Resolved): string {
  if (r.profile !== null && r.tokenSource.includes(`profile [${r.profile}]`)) {
    return `The token of profile [${r.profile}] is not this agent's: the profile may be out of date (\`warmpool dev <spec.yaml>\` rewrites it), or name another agent; \`warmpool apps --profile <name>\` tries another profile (they are in ${r.configFile}).`;
  }
  return `The ${r.tokenSource} is not this agent's: it may belong to another agent. Pass this agent's token (in its <state dir>/token), or unset it to use the profile \`warmpool dev\` wrote (${r.configFile}).`;
}
