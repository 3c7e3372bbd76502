/** How endpoints appear in `GET /v1/apps`, function status, `warmpool apps`, `warmpool serve` and an Endpoint resource's status. */
import type { Route } from "./table";

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

export function describeRoute(baseUrl: string, r: Route): EndpointInfo {
  const e = r.spec;
  return {
    name: e.name,
    function: e.function,
    kind: e.kind,
    gatewayPath: r.gatewayPath,
    url: `${baseUrl}${r.gatewayPath}`,
    public: e.public,
    methods: e.methods,
    domains: e.domains,
    syncTimeout: e.syncTimeout,
    maxPendingRequests: e.maxPendingRequests,
    ...(e.port === undefined ? {} : { port: e.port }),
  };
}
