/** What the gateway's routes are given: small interfaces of the agent's parts, never the agent itself. */
import type { Deployer } from "../apps/deployer";
import type { Registry } from "../apps/registry";
import type { CompiledOptions } from "../config/options";
import type { Metrics } from "../metrics/metrics";
import type { CallTable } from "../queue/call-table";
import type { Store } from "../store/store";
import type { PrincipalCheck, TokenCheck } from "../token";
import type { ScheduleList } from "./schedules";

/** The agent as its probes and status pages see it. */
export interface AgentState {
  readonly ready: boolean;
  /** The gateway's URL, once it listens. */
  readonly url: string;
}

/** What the gateway's routes work with. */
export interface GatewayDeps {
  options: CompiledOptions;
  registry: Registry;
  deployer: Deployer;
  calls: CallTable;
  store: Store;
  schedules: ScheduleList;
  metrics: Metrics;
  checkToken: TokenCheck;
  /** Admin and App tokens (token.ts); without it only the admin token is accepted. */
  checkPrincipal?: PrincipalCheck;
  state: AgentState;
}
