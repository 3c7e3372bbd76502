// Generated from schema/specs by `npm run generate`. DO NOT EDIT.

export interface WarmpoolSpecs {
Runtime?: RuntimeSpec
App?: AppSpec
Function?: FunctionSpec
GpuPool?: GpuPoolSpec
Volume?: VolumeSpec
Secret?: SecretSpec
Schedule?: ScheduleSpec
Endpoint?: EndpointSpec
FunctionStatus?: FunctionStatus
ScheduleStatus?: ScheduleStatus
EndpointStatus?: EndpointStatus
}
/**
 * The in-cluster warmpool runtime: CRDs, the agent that scales containers and runs invocations, its state store and API token.
 */
export interface RuntimeSpec {
/**
 * Namespace of the agent.
 */
namespace?: string
/**
 * Agent image. Defaults to the image built from agent/Dockerfile for this package version.
 */
image?: string
/**
 * Install the warmpool.dev CRDs. Turn off when another Runtime in the cluster already owns them.
 */
installCrds?: boolean
state?: State
limits?: Limits
/**
 * CPU reserved for the agent.
 */
cpu?: number
/**
 * Memory limit of the agent.
 */
memory?: number
/**
 * Agent log level.
 */
logLevel?: ("debug" | "info" | "warn" | "error")
/**
 * Serve /metrics without a token on port 9090 (the agent's `--metrics-port`; the API's /metrics needs the token) and annotate the agent pod for Prometheus to scrape it there.
 */
metricsScrape?: boolean
}
/**
 * Where the agent keeps durable state (calls, results, schedules).
 */
export interface State {
/**
 * `sqlite`: embedded, on a PersistentVolumeClaim (one agent replica). `postgres`: a PostgreSQL database named by a URL in a Secret.
 */
kind?: ("sqlite" | "postgres")
/**
 * Size of the SQLite volume.
 */
storageSize?: number
/**
 * StorageClass of the SQLite volume. Absent: the cluster default.
 */
storageClass?: string
postgresUrlSecret?: SecretKey
}
/**
 * A key of an existing Kubernetes Secret in the Runtime namespace.
 */
export interface SecretKey {
/**
 * Secret name.
 */
name: string
/**
 * Key within the Secret.
 */
key: string
}
/**
 * Gateway limits (Modal's defaults).
 */
export interface Limits {
/**
 * Pending inputs per function before calls are refused with 429.
 */
maxPendingInputs?: number
/**
 * Largest request body accepted.
 */
payloadLimit?: number
/**
 * How long results of finished calls are kept.
 */
resultTtl?: number
}
/**
 * A group of functions deployed together into one namespace per environment, with defaults its functions inherit.
 */
export interface AppSpec {
/**
 * The App's name. Defaults to the Pulumi resource name.
 */
name: string
/**
 * Deployment environment; the namespace is `<name>-<environment>`.
 */
environment?: ("dev" | "staging" | "prod")
/**
 * Default container image of the App's functions.
 */
image?: string
/**
 * Names of Secrets (declared in this App) that every function of the App receives, before its own.
 * 
 * Items: A lowercase DNS label: it becomes part of Kubernetes object names.
 */
secrets?: string[]
/**
 * Extra labels on every object of the App.
 */
labels?: {
[k: string]: string
}
/**
 * Namespace of the warmpool Runtime (agent) that serves this App.
 */
runtimeNamespace?: string
/**
 * The Runtime's `apiToken` output. Given, the App's pods get the agent's URL and a token scoped to this App (`WARMPOOL_URL` and `WARMPOOL_TOKEN`, from the Secret `warmpool-agent-access` in the App's namespace), so that its functions can call, spawn and read the results of the App's functions (never the admin token), and its workers take inputs only with that token. Absent: pods cannot call the agent, and their workers take inputs from anyone who reaches their pod IP. Pulumi programs only; `warmpool dev` gives local workers both on its own.
 */
apiToken?: string
/**
 * The agent's URL as the App's pods reach it (their `WARMPOOL_URL`), with `apiToken`. Default: the Runtime's Service, `http://warmpool-agent.<runtimeNamespace>.svc.cluster.local`.
 */
agentUrl?: string
/**
 * Local specs only (`warmpool dev`): the App's functions by name. Pulumi programs declare Function resources instead.
 */
functions?: {
[k: string]: {

}
}
/**
 * Local specs only: the App's schedules by name.
 */
schedules?: {
[k: string]: {

}
}
/**
 * Local specs only: the App's web endpoints by name.
 */
endpoints?: {
[k: string]: {

}
}
}
/**
 * A serverless function: what code runs, on what hardware, and how the agent scales and invokes it. Fields follow Modal's semantics.
 */
export interface FunctionSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
app: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * Container image holding the handler and the warmpool worker runtime. Defaults to the App's image. Ignored by the local backend.
 */
image?: string
/**
 * What to run: `module:function`, or `module:Class.method` for a class with @enter/@exit lifecycle hooks.
 */
handler: string
/**
 * The worker runtime that loads the handler.
 */
runtime?: ("python" | "node")
/**
 * GPUs per container: a type and count, e.g. `H100:2`. Counts are limited to those the type is sold in. Absent: CPU only.
 */
gpu?: string
/**
 * GPU requests to try, in order, when the first choice has no capacity.
 * 
 * @maxItems 8
 * 
 * Items: A GPU request: a type, optionally followed by ':' and a count, e.g. "H100" or "H100:2".
 */
gpuFallbacks?: []|[string]|[string, string]|[string, string, string]|[string, string, string, string]|[string, string, string, string, string]|[string, string, string, string, string, string]|[string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string]
/**
 * CPU cores reserved per container.
 */
cpu?: number
/**
 * Memory reserved and limited per container.
 */
memory?: number
/**
 * Local scratch disk per container. Absent: no ephemeral-storage request.
 */
ephemeralDisk?: number
/**
 * Maximum run time of one attempt of one input. A timed-out container is recycled.
 */
timeout?: number
/**
 * Maximum time from container start until it is ready (including @enter hooks). Defaults to `timeout`.
 */
startupTimeout?: number
retries?: Retries
/**
 * Secrets whose keys become environment variables of the worker (by reference, never as literal values).
 * 
 * Items: A lowercase DNS label: it becomes part of Kubernetes object names.
 */
secrets?: string[]
/**
 * Volumes to mount: absolute mount path → Volume.
 */
volumes?: {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
[k: string]: string
}
/**
 * Plain (non-secret) environment variables of the worker. Use `secrets` for credentials.
 */
env?: {
[k: string]: string
}
/**
 * How arguments and results that are not JSON travel: `json` (JSON values, bytes as `{"$bytes": base64}`) or `pickle` (Python only: any picklable value, as `{"$pickle": base64}`; the caller must be Python too). Not for functions behind an Endpoint, whose requests and responses are HTTP.
 */
serialization?: ("json" | "pickle")
/**
 * The port the container's own HTTP server listens on, for a function behind a `webServer` Endpoint: the worker starts the handler's web server on it (`WARMPOOL_WEB_PORT`) and the pod declares it as container port `web`. Must equal the Endpoint's `port`.
 */
webPort?: number
autoscaler?: Autoscaler
concurrency?: Concurrency
batching?: Batching
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
pool?: string
}
/**
 * Retry policy for failed attempts (Modal's `Retries`). The delay before retry n is initialDelay × backoffCoefficient^(n−1), capped at maxDelay.
 */
export interface Retries {
/**
 * Retries after the first attempt (0 = no retries).
 */
maxRetries: number
/**
 * Multiplier of the delay between consecutive retries.
 */
backoffCoefficient?: number
/**
 * Delay before the first retry.
 */
initialDelay?: number
/**
 * Upper bound of any retry delay.
 */
maxDelay?: number
}
/**
 * Container autoscaling (Modal's autoscaler fields).
 */
export interface Autoscaler {
/**
 * Containers kept warm even with no inputs.
 */
minContainers?: number
/**
 * Hard upper bound of containers: the cost ceiling.
 */
maxContainers?: number
/**
 * Extra idle containers kept while the function is active, to absorb bursts without cold starts.
 */
bufferContainers?: number
/**
 * The load-following window: idle containers beyond what the average load over this window needs are stopped; a surplus container idle this long always stops, and the last one stops this long after the load ended.
 */
scaledownWindow?: number
/**
 * Containers starting at once, at most (the cold-start gate's cap: a burst at zero does not start every missing container at once).
 */
maxConcurrentStarts?: number
}
/**
 * Inputs one container runs at once (Modal's `@concurrent`).
 */
export interface Concurrency {
/**
 * Hard per-container limit of inputs in flight.
 */
maxInputs: number
/**
 * Inputs per container the autoscaler aims for; containers may burst up to maxInputs. Defaults to maxInputs.
 */
targetInputs?: number
}
/**
 * Dynamic batching (Modal's `@batched`): the handler receives lists and returns a list of equal length. A batch runs when full or when the wait expires, whichever is first.
 */
export interface Batching {
/**
 * Inputs per batch at most.
 */
maxBatchSize: number
/**
 * How long the first input of a batch waits for more.
 */
waitMs: number
}
/**
 * GPU capacity for functions: an EKS managed node group, a Karpenter NodePool, or nodes that already exist.
 */
export interface GpuPoolSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * `eks`: an EKS managed node group. `karpenter`: a Karpenter NodePool and EC2NodeClass. `static`: existing nodes, selected by labels.
 */
kind: ("eks" | "karpenter" | "static")
/**
 * The GPU type of the pool's nodes.
 */
gpu: ("T4" | "L4" | "A10G" | "L40S" | "A100-40GB" | "A100-80GB" | "H100" | "H200" | "B200" | "any")
/**
 * EC2 instance types. Defaults to every instance type of the GPU catalog for `gpu`.
 */
instanceTypes?: string[]
/**
 * Purchase option for the nodes.
 */
capacityType?: ("onDemand" | "spot")
/**
 * Fewest nodes (eks).
 */
minNodes?: number
/**
 * Most nodes (eks); the cost ceiling of the pool.
 */
maxNodes?: number
/**
 * Most GPUs the pool may hold (karpenter `limits`).
 */
maxGpus?: number
/**
 * Root disk per node.
 */
diskSize?: number
eks?: Eks
karpenter?: Karpenter
/**
 * static: labels that select the existing GPU nodes.
 */
nodeSelector?: {
[k: string]: string
}
/**
 * Taint the nodes so that only GPU functions of this pool run on them.
 */
taint?: boolean
/**
 * Override of the catalog's on-demand price per instance type.
 */
prices?: {
[k: string]: number
}
}
/**
 * Settings of an EKS managed node group.
 */
export interface Eks {
/**
 * EKS cluster name.
 */
clusterName: string
/**
 * IAM role of the nodes.
 */
nodeRoleArn: string
/**
 * Subnets of the nodes.
 * 
 * @minItems 1
 */
subnetIds: [string, ...(string)[]]
}
/**
 * Settings of a Karpenter NodePool and EC2NodeClass.
 */
export interface Karpenter {
/**
 * IAM role name of the nodes.
 */
nodeRole: string
/**
 * Value of the `karpenter.sh/discovery` tag on the subnets and security groups to use (usually the cluster name).
 */
discoveryTag: string
/**
 * How long a node must be empty or underused before Karpenter removes it.
 */
consolidateAfter?: number
}
/**
 * Storage that functions mount: a PersistentVolumeClaim, an EFS file system, or an S3 bucket through the Mountpoint CSI driver.
 */
export interface VolumeSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
app: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * `pvc`: a PersistentVolumeClaim. `efs`: a new EFS file system shared by every container (ReadWriteMany). `bucket`: an S3 bucket mounted by the Mountpoint CSI driver.
 */
kind?: ("pvc" | "efs" | "bucket")
/**
 * Requested capacity (pvc; nominal for efs and bucket).
 */
size?: number
/**
 * pvc: StorageClass. Absent: the cluster default.
 */
storageClass?: string
/**
 * How containers may mount the volume.
 */
accessMode?: ("ReadWriteOnce" | "ReadWriteMany" | "ReadOnlyMany")
/**
 * Mount read-only. Buckets are read-only unless this is false.
 */
readOnly?: boolean
efs?: Efs
bucket?: Bucket
}
/**
 * EFS settings.
 */
export interface Efs {
/**
 * One mount target per subnet.
 * 
 * @minItems 1
 */
subnetIds: [string, ...(string)[]]
/**
 * Security groups of the mount targets (allow NFS from the nodes).
 * 
 * @minItems 1
 */
securityGroupIds: [string, ...(string)[]]
/**
 * EFS throughput mode.
 */
throughputMode?: ("bursting" | "elastic" | "provisioned")
/**
 * Encrypt at rest.
 */
encrypted?: boolean
}
/**
 * S3 bucket settings.
 */
export interface Bucket {
/**
 * An existing bucket to mount. Absent: a new bucket is created.
 */
bucketName?: string
/**
 * Bucket region. Absent: the provider's region.
 */
region?: string
/**
 * Mount only this key prefix.
 */
prefix?: string
}
/**
 * Credentials for functions: a Kubernetes Secret made from Pulumi secret values, or a reference to an AWS Secrets Manager secret synchronised by an ExternalSecret.
 */
export interface SecretSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
app: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * Environment variable name → value. Values are kept secret in state and outputs.
 */
values?: {
[k: string]: string
}
awsSecretsManager?: AwsSecretsManager
}
/**
 * An AWS Secrets Manager secret (a JSON object of keys) synchronised by the External Secrets Operator.
 */
export interface AwsSecretsManager {
/**
 * Name or ARN of the secret.
 */
secretId: string
/**
 * Keys to expose. Absent: every key of the secret's JSON object.
 */
keys?: string[]
/**
 * Name of the ClusterSecretStore to read through.
 */
secretStore?: string
/**
 * How often the value is re-read.
 */
refreshInterval?: number
}
/**
 * Runs a function on a timetable: a 5-field cron expression in an IANA timezone, or a fixed period.
 */
export interface ScheduleSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
app: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
function: string
/**
 * Five-field cron expression (minute hour day-of-month month day-of-week). Exactly one of cron and every.
 */
cron?: string
/**
 * IANA timezone the cron expression is evaluated in, across daylight-saving changes.
 */
timezone?: string
/**
 * A fixed period such as `30s`, `5m`, `1h` or `1d`. Exactly one of cron and every.
 */
every?: string
/**
 * Positional arguments of each call.
 */
args?: unknown[]
/**
 * Keyword arguments of each call.
 */
kwargs?: {

}
/**
 * Firings missed while the agent was down: `runOnce` runs one call on start (for the latest missed firing), `skip` runs none. Either way every missed firing that made no call is counted as skipped (`warmpool schedules`).
 */
missed?: ("runOnce" | "skip")
/**
 * A firing while the previous run still goes: `skip` it or `allow` it.
 */
overlap?: ("skip" | "allow")
/**
 * Stop firing without deleting the schedule.
 */
suspended?: boolean
}
/**
 * An HTTP route to a function: either each request becomes a call (`function`), or the container serves HTTP itself and the agent proxies to it (`webServer`).
 */
export interface EndpointSpec {
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
app: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
name: string
/**
 * A lowercase DNS label: it becomes part of Kubernetes object names.
 */
function: string
/**
 * `function`: the request becomes a call and the return value the JSON response. `webServer`: the container listens on `port` and the agent proxies requests, streams and WebSockets to it.
 */
kind?: ("function" | "webServer")
/**
 * webServer: the port the container listens on.
 */
port?: number
/**
 * For a class function (handler `module:Class`): the method that serves the route, each request a call of it on the class's instance without parameters, beside the class's other methods (Modal: a `@fastapi_endpoint` method on an `@app.cls`). Function endpoints only.
 */
method?: string
/**
 * Path prefix routed to the function, in normal form (no empty, `.` or `..` segments): request paths are normalised before they are matched against it.
 */
path?: string
/**
 * HTTP methods accepted.
 * 
 * @minItems 1
 */
methods?: [("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS"), ...(("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS"))[]]
/**
 * Serve without the API token. Endpoints require a token unless declared public.
 */
public?: boolean
/**
 * Custom domains: rendered as an Ingress with TLS, and matched by Host header in the agent.
 */
domains?: string[]
/**
 * cert-manager ClusterIssuer that issues certificates for `domains`.
 */
tlsIssuer?: string
/**
 * A request still running after this long is answered 303 with a result URL to poll (Modal: 150 s).
 */
syncTimeout?: number
/**
 * Requests held while the function scales up from zero; more are refused with 503.
 */
maxPendingRequests?: number
}
/**
 * What the agent observed and decided for a function.
 */
export interface FunctionStatus {
/**
 * Containers the agent wants.
 */
replicas?: number
/**
 * Containers ready to take inputs.
 */
readyReplicas?: number
/**
 * Inputs waiting for a container.
 */
queueDepth?: number
/**
 * Inputs running in containers.
 */
inFlight?: number
/**
 * Why the agent last changed the container count.
 */
lastScaleReason?: string
/**
 * When it did.
 */
lastScaleTime?: string
/**
 * The spec generation this status describes.
 */
observedGeneration?: number
/**
 * Ready (a container is ready, or none is wanted and none failed to start) and Degraded (container starts fail; the message is the last start's error).
 */
conditions?: {
/**
 * Ready or Degraded.
 */
type: string
/**
 * Whether the condition holds.
 */
status: ("True" | "False" | "Unknown")
/**
 * Why, in one CamelCase word: ContainersReady, ScaledToZero, Starting, StartFailed, AsExpected.
 */
reason?: string
/**
 * Why, for people; for StartFailed the start's error.
 */
message?: string
/**
 * When its status last changed.
 */
lastTransitionTime?: string
/**
 * The spec generation it describes.
 */
observedGeneration?: number
}[]
}
/**
 * Firing history of a schedule.
 */
export interface ScheduleStatus {
/**
 * When it last fired.
 */
lastRun?: string
/**
 * When it fires next.
 */
nextRun?: string
/**
 * Call of the last firing.
 */
lastCallId?: string
/**
 * Error of the last failed run.
 */
lastError?: string
/**
 * Failed runs in a row.
 */
consecutiveFailures?: number
}
/**
 * Where an endpoint is served.
 */
export interface EndpointStatus {
/**
 * URL of the route on the agent.
 */
url?: string
/**
 * A container is ready to serve.
 */
ready?: boolean
}
