/** How endpoints appear in `GET /v1/apps`, function status, `warmpool apps` and `warmpool serve`. */
import type { ResolvedEndpointSpec } from "@warmpool/schema";
import { gatewayPath } from "./routing";

export interface EndpointInfo {
  name: string;
  function: string;
  kind: "function" | "webServer";
  /** `/web/<app><path>` on the gateway. */
  gatewayPath: string;
  /** The gateway URL of the endpoint. */
  url: string;
  public: boolean;
  methods: string[];
  domains: string[];
  syncTimeout: number;
  maxPendingRequests: number;
  port?: number;
}

export function describeEndpoint(baseUrl: string, e: ResolvedEndpointSpec): EndpointInfo {
  const p = gatewayPath(e);
  return {
    name: e.name,
    function: e.function,
    kind: e.kind,
    gatewayPath: p,
    url: `${baseUrl}${p}`,
    public: e.public,
    methods: e.methods,
    domains: e.domains,
    syncTimeout: e.syncTimeout,
    maxPendingRequests: e.maxPendingRequests,
    ...(e.port === undefined ? {} : { port: e.port }),
  };
}
