/** What serving web endpoints is given: small interfaces of the agent's parts, never the agent itself. */
import type { Dispatcher } from "undici";
import type { Registry } from "../apps/registry";
import type { CompiledOptions } from "../config/options";
import type { DeployedFunction } from "../apps/deployed-function";
import type { CallTable } from "../queue/call-table";
import type { TokenCheck } from "../token";

/** What serving web endpoints takes. */
export interface WebDeps {
  options: CompiledOptions;
  registry: Registry;
  calls: CallTable;
  checkToken: TokenCheck;
  /** Kept-alive connections to the web servers behind webServer endpoints. */
  webDispatcher: Dispatcher;
  /** Behind HAProxy the peer is HAProxy, which names the client in PEER_HEADER. */
  behindHaproxy: boolean;
  /** `fn` needs a container now: a request is held while it has none. */
  pressure(fn: DeployedFunction): void;
}
