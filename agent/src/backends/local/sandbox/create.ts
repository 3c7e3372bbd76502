/** Picks the sandbox the agent was asked for (`--sandbox`), checking first that it can work here. */
import { requireSetpriv } from "../../../proc/parent-death";
import { BwrapSandbox } from "./bwrap";
import { NoSandbox } from "./none";
import type { Sandbox, SandboxOptions } from "./sandbox";

/** The sandbox of `options.kind`; throws one message naming the fix when it cannot work here. */
export function createSandbox(options: SandboxOptions): Sandbox {
  if (options.kind === "none") {
    requireSetpriv("with --sandbox none, each worker");
    return new NoSandbox();
  }
  return BwrapSandbox.create(options);
}
