/**
 * The contract between what the provider renders and what the agent and the worker runtimes read: the
 * agent's command-line flags and environment, its token file, ports, the worker's environment, command
 * and app directory, labels and annotations. Each name is written here once. The provider renders from
 * these constants, the agent declares its flags and reads its environment through them, and
 * agent/test/contract.test.ts parses every container command the components render with the agent's own
 * commander program and with the Python and Node worker runtimes' own config readers, so that a name
 * changed on one side only fails a test instead of crash-looping a cluster.
 */

/** Port of the agent's gateway in its pod (its /metrics there needs the token). */
export const AGENT_PORT = 8080;
/**
 * Port of the agent's metrics listener in its pod (`--metrics-port`): `GET /metrics` only, without a
 * token, for Prometheus' annotation-based scraping; the API is not served there.
 */
export const AGENT_METRICS_PORT = 9090;
/** Where the agent keeps SQLite, logs and HAProxy's files in its pod (a volume). */
export const AGENT_STATE_DIR = "/var/lib/warmpool";
/** Where the API token Secret is mounted in the agent's pod, and the Secret's key: the file is `AGENT_TOKEN_FILE`. */
export const AGENT_TOKEN_DIR = "/var/run/warmpool";
export const AGENT_TOKEN_KEY = "token";
export const AGENT_TOKEN_FILE = `${AGENT_TOKEN_DIR}/${AGENT_TOKEN_KEY}`;

/** Flags of `warmpool agent`, as commander declares them and the Runtime's Deployment passes them. */
export const AGENT_FLAGS = {
  backend: "--backend",
  host: "--host",
  port: "--port",
  stateDir: "--state-dir",
  tokenFile: "--token-file",
  maxPending: "--max-pending",
  payloadLimit: "--payload-limit",
  resultTtl: "--result-ttl",
  logLevel: "--log-level",
  metricsPort: "--metrics-port",
  dataPlane: "--data-plane",
  kubeconfig: "--kubeconfig",
  workerAddress: "--worker-address",
} as const;

/** Environment the agent reads (from its Deployment or its image). */
export const AGENT_ENV = {
  /** PostgreSQL URL (Runtime `state.kind: postgres`), from a secretKeyRef. */
  databaseUrl: "WARMPOOL_DATABASE_URL",
  /** State directory when --state-dir is not given. */
  stateDir: "WARMPOOL_STATE_DIR",
  /** Default of --data-plane (the image sets `haproxy`). */
  dataPlane: "WARMPOOL_DATA_PLANE",
  /** Directory of the worker runtimes (the image sets where its bundle put them). */
  runtimesDir: "WARMPOOL_RUNTIMES_DIR",
  /** Default of --sandbox (how local workers are isolated). */
  sandbox: "WARMPOOL_SANDBOX",
} as const;

/** Environment of the clients (the `warmpool` client commands, the TypeScript and Python clients). */
export const CLIENT_ENV = {
  url: "WARMPOOL_URL",
  token: "WARMPOOL_TOKEN",
  /** The profile of the config file to use, when no --profile names one. */
  profile: "WARMPOOL_PROFILE",
  /** The config file, instead of ~/.warmpool/config.toml. */
  config: "WARMPOOL_CONFIG",
} as const;

/** Environment of a worker process (agent/runtimes/PROTOCOL.md), set by the provider in pods and by the local backend. */
export const WORKER_ENV = {
  protocol: "WARMPOOL_PROTOCOL",
  host: "WARMPOOL_HOST",
  port: "WARMPOOL_PORT",
  handler: "WARMPOOL_HANDLER",
  appDir: "WARMPOOL_APP_DIR",
  maxInputs: "WARMPOOL_MAX_INPUTS",
  batchSize: "WARMPOOL_BATCH_SIZE",
  containerId: "WARMPOOL_CONTAINER_ID",
  /** Set only for a function behind a webServer endpoint: the port its web server listens on. */
  webPort: "WARMPOOL_WEB_PORT",
  /** The Function's `serialization`: `json`, or `pickle` (the Python runtime then reads and writes `{"$pickle": base64}` values). */
  serialization: "WARMPOOL_SERIALIZATION",
} as const;

/**
 * What the agent adds to a worker's environment so that code in it can call the agent: its URL and a
 * token scoped to the worker's App (agent/src/token.ts). They are the clients' own names, so the
 * Python client in a worker finds its agent exactly as it does anywhere else. The worker runtimes
 * require that token on their own `/invoke` and `/shutdown` (PROTOCOL.md), so no other
 * App's code can run this App's handlers through a worker's port.
 */
export const WORKER_CLIENT_ENV = { url: CLIENT_ENV.url, token: CLIENT_ENV.token } as const;

/** Annotations the agent writes. */
export const ANNOTATIONS = {
  /** On the idle pod a scale-down should remove (the ReplicaSet deletes the lowest cost first). */
  deletionCost: "controller.kubernetes.io/pod-deletion-cost",
} as const;

/**
 * The Secret in each App namespace that holds WORKER_CLIENT_ENV for the App's pods (the agent's URL and
 * the App's token, schema/src/app-token.ts): rendered by the App when given the Runtime's `apiToken`,
 * read by every worker container through `envFrom`.
 */
export const AGENT_ACCESS_SECRET = "warmpool-agent-access";

/** Headers of the agent's API that the runtimes' clients send. */
export const CALL_HEADERS = {
  /** The id of the call running the code that makes this call (set by the Python client inside a worker): the new call is its child. */
  parent: "Warmpool-Parent-Call",
} as const;

/** The worker protocol version both runtimes speak. */
export const WORKER_PROTOCOL = "1";
/**
 * Instances of a class function (one per parameter set) a worker keeps warm; past that its least
 * recently used idle one runs `@exit` and goes (the Python runtime's classes.py MAX_INSTANCES). The
 * agent remembers as many sets per container, to send each input where its instance is warm.
 */
export const CLASS_INSTANCES_PER_CONTAINER = 8;
/** Port the worker runtime listens on inside a pod. */
export const WORKER_PORT = 8000;
/** Where user code lives in a worker image (WARMPOOL_APP_DIR, the container's working directory). */
export const WORKER_APP_DIR = "/app";
/** The command of a worker container per runtime: the Python package's module, the Node package's bin. */
export const WORKER_COMMANDS: { readonly [runtime in "python" | "node"]: readonly string[] } = {
  python: ["python", "-m", "warmpool.worker"],
  node: ["node", `${WORKER_APP_DIR}/node_modules/@warmpool/worker/worker.js`],
};

/** Labels the provider puts on an App's objects and the agent selects worker pods by. */
export const LABELS = {
  app: "warmpool.dev/app",
  environment: "warmpool.dev/environment",
  function: "warmpool.dev/function",
  pool: "warmpool.dev/pool",
  gpu: "warmpool.dev/gpu",
} as const;
