// Generated from schema/specs by `npm run generate`. DO NOT EDIT.
import type * as pulumi from "@pulumi/pulumi";
import type { AppRef, FunctionRef, PoolRef, SecretRef, VolumeRef } from "../refs";

/** A key of an existing Kubernetes Secret in the Runtime namespace. */
export interface RuntimeSecretKeyArgs {
  /** Secret name. */
  name: string;
  /** Key within the Secret. */
  key: string;
}

/** Where the agent keeps durable state (calls, results, schedules). */
export interface RuntimeStateArgs {
  /** `sqlite`: embedded, on a PersistentVolumeClaim (one agent replica). `postgres`: a PostgreSQL database named by a URL in a Secret. Default: "sqlite". Allowed: sqlite, postgres. */
  kind?: string;
  /** Size of the SQLite volume. Unit: GiB. Default: 10. Allowed: 1–16384. */
  storageSize?: number;
  /** StorageClass of the SQLite volume. Absent: the cluster default. */
  storageClass?: string;
  /** A key of an existing Kubernetes Secret in the Runtime namespace. */
  postgresUrlSecret?: RuntimeSecretKeyArgs;
}

/** Gateway limits (Modal's defaults). */
export interface RuntimeLimitsArgs {
  /** Pending inputs per function before calls are refused with 429. Default: 2000. Allowed: 1–1000000. */
  maxPendingInputs?: number;
  /** Largest request body accepted. Unit: MiB. Default: 16. Allowed: 1–1024. */
  payloadLimit?: number;
  /** How long results of finished calls are kept. Unit: s. Default: 604800. Allowed: 60–7776000. */
  resultTtl?: number;
}

/** The in-cluster warmpool runtime: CRDs, the agent that scales containers and runs invocations, its state store and API token. */
export interface RuntimeArgs {
  /** Namespace of the agent. Default: "warmpool-system". Allowed: lowercase letters, digits and '-', starting with a letter, at most 40 characters. */
  namespace?: string;
  /** Agent image. Defaults to the image built from agent/Dockerfile for this package version. Allowed: an OCI image reference such as registry.example.com/team/model:1.2 or repo@sha256:<digest>. */
  image?: pulumi.Input<string>;
  /** Install the warmpool.dev CRDs. Turn off when another Runtime in the cluster already owns them. Default: true. */
  installCrds?: boolean;
  /** Where the agent keeps durable state (calls, results, schedules). */
  state?: RuntimeStateArgs;
  /** Gateway limits (Modal's defaults). */
  limits?: RuntimeLimitsArgs;
  /** CPU reserved for the agent. Unit: cores. Default: 0.5. Allowed: >0–64. */
  cpu?: number;
  /** Memory limit of the agent. Unit: MiB. Default: 512. Allowed: 128–65536. */
  memory?: number;
  /** Agent log level. Default: "info". Allowed: debug, info, warn, error. */
  logLevel?: string;
  /** Serve /metrics without a token on port 9090 (the agent's `--metrics-port`; the API's /metrics needs the token) and annotate the agent pod for Prometheus to scrape it there. Default: true. */
  metricsScrape?: boolean;
}

/** A group of functions deployed together into one namespace per environment, with defaults its functions inherit. */
export interface AppArgs {
  /** Deployment environment; the namespace is `<name>-<environment>`. Default: "dev". Allowed: dev, staging, prod. */
  environment?: string;
  /** Default container image of the App's functions. Allowed: an OCI image reference such as registry.example.com/team/model:1.2 or repo@sha256:<digest>. */
  image?: pulumi.Input<string>;
  /** Names of Secrets (declared in this App) that every function of the App receives, before its own. */
  secrets?: any[];
  /** Extra labels on every object of the App. */
  labels?: { [key: string]: string };
  /** Namespace of the warmpool Runtime (agent) that serves this App. Default: "warmpool-system". */
  runtimeNamespace?: pulumi.Input<string>;
  /** The Runtime's `apiToken` output. Given, the App's pods get the agent's URL and a token scoped to this App (`WARMPOOL_URL` and `WARMPOOL_TOKEN`, from the Secret `warmpool-agent-access` in the App's namespace), so that its functions can call, spawn and read the results of the App's functions (never the admin token), and its workers take inputs only with that token. Absent: pods cannot call the agent, and their workers take inputs from anyone who reaches their pod IP. Pulumi programs only; `warmpool dev` gives local workers both on its own. */
  apiToken?: pulumi.Input<string>;
  /** The agent's URL as the App's pods reach it (their `WARMPOOL_URL`), with `apiToken`. Default: the Runtime's Service, `http://warmpool-agent.<runtimeNamespace>.svc.cluster.local`. */
  agentUrl?: pulumi.Input<string>;
}

/** Retry policy for failed attempts (Modal's `Retries`). The delay before retry n is initialDelay × backoffCoefficient^(n−1), capped at maxDelay. */
export interface FunctionRetriesArgs {
  /** Retries after the first attempt (0 = no retries). Allowed: 0–10. */
  maxRetries: number;
  /** Multiplier of the delay between consecutive retries. Default: 2. Allowed: 1–10. */
  backoffCoefficient?: number;
  /** Delay before the first retry. Unit: s. Default: 1. Allowed: 0–60. */
  initialDelay?: number;
  /** Upper bound of any retry delay. Unit: s. Default: 60. Allowed: 1–60. */
  maxDelay?: number;
}

/** Container autoscaling (Modal's autoscaler fields). */
export interface FunctionAutoscalerArgs {
  /** Containers kept warm even with no inputs. Default: 0. Allowed: 0–1000. */
  minContainers?: number;
  /** Hard upper bound of containers: the cost ceiling. Default: 10. Allowed: 1–1000. */
  maxContainers?: number;
  /** Extra idle containers kept while the function is active, to absorb bursts without cold starts. Default: 0. Allowed: 0–1000. */
  bufferContainers?: number;
  /** The load-following window: idle containers beyond what the average load over this window needs are stopped; a surplus container idle this long always stops, and the last one stops this long after the load ended. Unit: s. Default: 60. Allowed: 2–86400. */
  scaledownWindow?: number;
  /** Containers starting at once, at most (the cold-start gate's cap: a burst at zero does not start every missing container at once). Default: 4. Allowed: 1–1000. */
  maxConcurrentStarts?: number;
}

/** Inputs one container runs at once (Modal's `@concurrent`). */
export interface FunctionConcurrencyArgs {
  /** Hard per-container limit of inputs in flight. Allowed: 1–1000. */
  maxInputs: number;
  /** Inputs per container the autoscaler aims for; containers may burst up to maxInputs. Defaults to maxInputs. Allowed: 1–1000. */
  targetInputs?: number;
}

/** Dynamic batching (Modal's `@batched`): the handler receives lists and returns a list of equal length. A batch runs when full or when the wait expires, whichever is first. */
export interface FunctionBatchingArgs {
  /** Inputs per batch at most. Allowed: 1–1000. */
  maxBatchSize: number;
  /** How long the first input of a batch waits for more. Unit: ms. Allowed: 0–600000. */
  waitMs: number;
}

/** A serverless function: what code runs, on what hardware, and how the agent scales and invokes it. Fields follow Modal's semantics. */
export interface FunctionArgs {
  /** The App this function belongs to. */
  app: pulumi.Input<AppRef>;
  /** Container image holding the handler and the warmpool worker runtime. Defaults to the App's image. Ignored by the local backend. Allowed: an OCI image reference such as registry.example.com/team/model:1.2 or repo@sha256:<digest>. */
  image?: pulumi.Input<string>;
  /** What to run: `module:function`, or `module:Class.method` for a class with @enter/@exit lifecycle hooks. Allowed: module:function or module:Class.method. */
  handler: string;
  /** The worker runtime that loads the handler. Default: "python". Allowed: python, node. */
  runtime?: string;
  /** GPUs per container: a type and count, e.g. `H100:2`. Counts are limited to those the type is sold in. Absent: CPU only. Allowed: TYPE or TYPE:COUNT with TYPE one of T4, L4, A10G, L40S, A100-40GB, A100-80GB, H100, H200, B200, any. */
  gpu?: string;
  /** GPU requests to try, in order, when the first choice has no capacity. */
  gpuFallbacks?: any[];
  /** CPU cores reserved per container. Unit: cores. Default: 0.125. Allowed: >0–192. */
  cpu?: number;
  /** Memory reserved and limited per container. Unit: MiB. Default: 128. Allowed: 64–2097152. */
  memory?: number;
  /** Local scratch disk per container. Absent: no ephemeral-storage request. Unit: MiB. Allowed: 512–3145728. */
  ephemeralDisk?: number;
  /** Maximum run time of one attempt of one input. A timed-out container is recycled. Unit: s. Default: 300. Allowed: 1–86400. */
  timeout?: number;
  /** Maximum time from container start until it is ready (including @enter hooks). Defaults to `timeout`. Unit: s. Allowed: 1–86400. */
  startupTimeout?: number;
  /** Retry policy for failed attempts (Modal's `Retries`). The delay before retry n is initialDelay × backoffCoefficient^(n−1), capped at maxDelay. Default: {"maxRetries":0}. */
  retries?: FunctionRetriesArgs;
  /** Secrets whose keys become environment variables of the worker (by reference, never as literal values). */
  secrets?: pulumi.Input<SecretRef>[];
  /** Volumes to mount: absolute mount path → Volume. */
  volumes?: { [key: string]: pulumi.Input<VolumeRef> };
  /** Plain (non-secret) environment variables of the worker. Use `secrets` for credentials. */
  env?: { [key: string]: string };
  /** How arguments and results that are not JSON travel: `json` (JSON values, bytes as `{"$bytes": base64}`) or `pickle` (Python only: any picklable value, as `{"$pickle": base64}`; the caller must be Python too). Not for functions behind an Endpoint, whose requests and responses are HTTP. Default: "json". Allowed: json, pickle. */
  serialization?: string;
  /** The port the container's own HTTP server listens on, for a function behind a `webServer` Endpoint: the worker starts the handler's web server on it (`WARMPOOL_WEB_PORT`) and the pod declares it as container port `web`. Must equal the Endpoint's `port`. Allowed: 1–65535. */
  webPort?: number;
  /** Container autoscaling (Modal's autoscaler fields). */
  autoscaler?: FunctionAutoscalerArgs;
  /** Inputs one container runs at once (Modal's `@concurrent`). Default: {"maxInputs":1}. */
  concurrency?: FunctionConcurrencyArgs;
  /** Dynamic batching (Modal's `@batched`): the handler receives lists and returns a list of equal length. A batch runs when full or when the wait expires, whichever is first. */
  batching?: FunctionBatchingArgs;
  /** The GpuPool whose nodes run this function's containers. Absent: any node that satisfies the GPU request. */
  pool?: pulumi.Input<PoolRef>;
}

/** Settings of an EKS managed node group. */
export interface GpuPoolEksArgs {
  /** EKS cluster name. */
  clusterName: pulumi.Input<string>;
  /** IAM role of the nodes. */
  nodeRoleArn: pulumi.Input<string>;
  /** Subnets of the nodes. */
  subnetIds: pulumi.Input<string>[];
}

/** Settings of a Karpenter NodePool and EC2NodeClass. */
export interface GpuPoolKarpenterArgs {
  /** IAM role name of the nodes. */
  nodeRole: pulumi.Input<string>;
  /** Value of the `karpenter.sh/discovery` tag on the subnets and security groups to use (usually the cluster name). */
  discoveryTag: pulumi.Input<string>;
  /** How long a node must be empty or underused before Karpenter removes it. Unit: s. Default: 300. Allowed: 0–86400. */
  consolidateAfter?: number;
}

/** GPU capacity for functions: an EKS managed node group, a Karpenter NodePool, or nodes that already exist. */
export interface GpuPoolArgs {
  /** `eks`: an EKS managed node group. `karpenter`: a Karpenter NodePool and EC2NodeClass. `static`: existing nodes, selected by labels. Allowed: eks, karpenter, static. */
  kind: string;
  /** The GPU type of the pool's nodes. Allowed: T4, L4, A10G, L40S, A100-40GB, A100-80GB, H100, H200, B200, any. */
  gpu: string;
  /** EC2 instance types. Defaults to every instance type of the GPU catalog for `gpu`. */
  instanceTypes?: string[];
  /** Purchase option for the nodes. Default: "onDemand". Allowed: onDemand, spot. */
  capacityType?: string;
  /** Fewest nodes (eks). Default: 0. Allowed: 0–1000. */
  minNodes?: number;
  /** Most nodes (eks); the cost ceiling of the pool. Default: 2. Allowed: 1–1000. */
  maxNodes?: number;
  /** Most GPUs the pool may hold (karpenter `limits`). Allowed: 1–100000. */
  maxGpus?: number;
  /** Root disk per node. Unit: GiB. Default: 200. Allowed: 20–16384. */
  diskSize?: number;
  /** Settings of an EKS managed node group. */
  eks?: GpuPoolEksArgs;
  /** Settings of a Karpenter NodePool and EC2NodeClass. */
  karpenter?: GpuPoolKarpenterArgs;
  /** static: labels that select the existing GPU nodes. */
  nodeSelector?: { [key: string]: string };
  /** Taint the nodes so that only GPU functions of this pool run on them. Default: true. */
  taint?: boolean;
  /** Override of the catalog's on-demand price per instance type. Unit: USD/h. */
  prices?: { [key: string]: number };
}

/** EFS settings. */
export interface VolumeEfsArgs {
  /** One mount target per subnet. */
  subnetIds: pulumi.Input<string>[];
  /** Security groups of the mount targets (allow NFS from the nodes). */
  securityGroupIds: pulumi.Input<string>[];
  /** EFS throughput mode. Default: "elastic". Allowed: bursting, elastic, provisioned. */
  throughputMode?: string;
  /** Encrypt at rest. Default: true. */
  encrypted?: boolean;
}

/** S3 bucket settings. */
export interface VolumeBucketArgs {
  /** An existing bucket to mount. Absent: a new bucket is created. */
  bucketName?: pulumi.Input<string>;
  /** Bucket region. Absent: the provider's region. */
  region?: string;
  /** Mount only this key prefix. */
  prefix?: string;
}

/** Storage that functions mount: a PersistentVolumeClaim, an EFS file system, or an S3 bucket through the Mountpoint CSI driver. */
export interface VolumeArgs {
  /** The App whose namespace holds the volume. */
  app: pulumi.Input<AppRef>;
  /** `pvc`: a PersistentVolumeClaim. `efs`: a new EFS file system shared by every container (ReadWriteMany). `bucket`: an S3 bucket mounted by the Mountpoint CSI driver. Default: "pvc". Allowed: pvc, efs, bucket. */
  kind?: string;
  /** Requested capacity (pvc; nominal for efs and bucket). Unit: GiB. Default: 10. Allowed: 1–65536. */
  size?: number;
  /** pvc: StorageClass. Absent: the cluster default. */
  storageClass?: string;
  /** How containers may mount the volume. Default: "ReadWriteOnce". Allowed: ReadWriteOnce, ReadWriteMany, ReadOnlyMany. */
  accessMode?: string;
  /** Mount read-only. Buckets are read-only unless this is false. */
  readOnly?: boolean;
  /** EFS settings. */
  efs?: VolumeEfsArgs;
  /** S3 bucket settings. */
  bucket?: VolumeBucketArgs;
}

/** An AWS Secrets Manager secret (a JSON object of keys) synchronised by the External Secrets Operator. */
export interface SecretAwsSecretsManagerArgs {
  /** Name or ARN of the secret. */
  secretId: pulumi.Input<string>;
  /** Keys to expose. Absent: every key of the secret's JSON object. */
  keys?: any[];
  /** Name of the ClusterSecretStore to read through. Default: "aws-secrets-manager". */
  secretStore?: string;
  /** How often the value is re-read. Unit: s. Default: 3600. Allowed: 10–86400. */
  refreshInterval?: number;
}

/** Credentials for functions: a Kubernetes Secret made from Pulumi secret values, or a reference to an AWS Secrets Manager secret synchronised by an ExternalSecret. */
export interface SecretArgs {
  /** The App whose namespace holds the secret. */
  app: pulumi.Input<AppRef>;
  /** Environment variable name → value. Values are kept secret in state and outputs. */
  values?: { [key: string]: pulumi.Input<string> };
  /** An AWS Secrets Manager secret (a JSON object of keys) synchronised by the External Secrets Operator. */
  awsSecretsManager?: SecretAwsSecretsManagerArgs;
}

/** Runs a function on a timetable: a 5-field cron expression in an IANA timezone, or a fixed period. */
export interface ScheduleArgs {
  /** The function to call. */
  function: pulumi.Input<FunctionRef>;
  /** Five-field cron expression (minute hour day-of-month month day-of-week). Exactly one of cron and every. Allowed: five space-separated fields, e.g. "0 2 * * *". */
  cron?: string;
  /** IANA timezone the cron expression is evaluated in, across daylight-saving changes. Default: "UTC". */
  timezone?: string;
  /** A fixed period such as `30s`, `5m`, `1h` or `1d`. Exactly one of cron and every. Allowed: a positive integer followed by s, m, h or d. */
  every?: string;
  /** Positional arguments of each call. */
  args?: any;
  /** Keyword arguments of each call. */
  kwargs?: any;
  /** Firings missed while the agent was down: `runOnce` runs one call on start (for the latest missed firing), `skip` runs none. Either way every missed firing that made no call is counted as skipped (`warmpool schedules`). Default: "runOnce". Allowed: runOnce, skip. */
  missed?: string;
  /** A firing while the previous run still goes: `skip` it or `allow` it. Default: "skip". Allowed: skip, allow. */
  overlap?: string;
  /** Stop firing without deleting the schedule. Default: false. */
  suspended?: boolean;
}

/** An HTTP route to a function: either each request becomes a call (`function`), or the container serves HTTP itself and the agent proxies to it (`webServer`). */
export interface EndpointArgs {
  /** The function that serves the route. */
  function: pulumi.Input<FunctionRef>;
  /** `function`: the request becomes a call and the return value the JSON response. `webServer`: the container listens on `port` and the agent proxies requests, streams and WebSockets to it. Default: "function". Allowed: function, webServer. */
  kind?: string;
  /** webServer: the port the container listens on. Allowed: 1–65535. */
  port?: number;
  /** For a class function (handler `module:Class`): the method that serves the route, each request a call of it on the class's instance without parameters, beside the class's other methods (Modal: a `@fastapi_endpoint` method on an `@app.cls`). Function endpoints only. */
  method?: string;
  /** Path prefix routed to the function, in normal form (no empty, `.` or `..` segments): request paths are normalised before they are matched against it. Default: "/". */
  path?: string;
  /** HTTP methods accepted. Default: ["GET","POST"]. Allowed: each of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS. */
  methods?: string[];
  /** Serve without the API token. Endpoints require a token unless declared public. Default: false. */
  public?: boolean;
  /** Custom domains: rendered as an Ingress with TLS, and matched by Host header in the agent. */
  domains?: string[];
  /** cert-manager ClusterIssuer that issues certificates for `domains`. Default: "letsencrypt". */
  tlsIssuer?: string;
  /** A request still running after this long is answered 303 with a result URL to poll (Modal: 150 s). Unit: s. Default: 150. Allowed: 1–3600. */
  syncTimeout?: number;
  /** Requests held while the function scales up from zero; more are refused with 503. Default: 1000. Allowed: 1–100000. */
  maxPendingRequests?: number;
}
