/**
 * What one warmpool component hands to another. Components pass these plain records (the `ref`
 * output of each component) rather than resource references, because references to components do
 * not survive the trip through other languages' SDKs; every field here is derived from plain
 * arguments, so a ref is known during `pulumi preview`.
 */

/** The `ref` output of an App. */
export interface AppRef {
  /** App name. */
  name: string;
  /** dev, staging or prod. */
  environment: string;
  /** Namespace holding the App's objects. */
  namespace: string;
  /** Namespace of the Runtime (agent) that serves the App. */
  runtimeNamespace: string;
  /** Default image of the App's functions. */
  image?: string;
  /** Secrets every function of the App receives. */
  secrets: string[];
  /** Labels every object of the App carries. */
  labels: { [key: string]: string };
  /** Whether the App renders the Secret `warmpool-agent-access` (it was given the Runtime's `apiToken`): its pods read it. */
  agentAccess: boolean;
}

/** The `ref` output of a GpuPool. */
export interface PoolRef {
  /** Pool name. */
  name: string;
  /** eks, karpenter or static. */
  kind: string;
  /** GPU type of the pool's nodes. */
  gpu: string;
  /** Most GPUs one node of the pool carries (0 when unknown, for static pools). */
  maxGpusPerNode: number;
  /** Labels that select the pool's nodes. */
  nodeSelector: { [key: string]: string };
  /** Whether the pool's nodes carry the `warmpool.dev/pool` taint. */
  tainted: boolean;
}

/** The `ref` output of a Secret. */
export interface SecretRef {
  /** Kubernetes Secret name. */
  name: string;
  /** Namespace of the Secret. */
  namespace: string;
}

/** The `ref` output of a Volume. */
export interface VolumeRef {
  /** Volume name. */
  name: string;
  /** Namespace of the claim. */
  namespace: string;
  /** PersistentVolumeClaim that pods mount. */
  claimName: string;
  /** Mount read-only. */
  readOnly: boolean;
}

/** The `ref` output of a Function. */
export interface FunctionRef {
  /** App name. */
  app: string;
  /** Function name. */
  name: string;
  /** Namespace of the App. */
  namespace: string;
  /** Namespace of the Runtime (agent) that serves the App. */
  runtimeNamespace: string;
  /** The port the function's container serves HTTP on (its `webPort`), if it declares one. */
  webPort?: number;
}
