/**
 * Function: the Function custom resource carrying the validated spec (what the agent reads) and the
 * worker Deployment the agent scales.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { poolProblems, webPortProblems } from "../checks";
import type { FunctionArgs } from "../generated/args";
import { componentLabels } from "../labels";
import type { AppRef, FunctionRef, PoolRef, SecretRef, VolumeRef } from "../refs";
import { workerDeploymentSpec, type WorkerInputs } from "../render/worker";
import { CRD_API_VERSION } from "../render/crds";
import type { SpecOutput } from "../spec-output";
import { PENDING_REF, assertNoProblems, validated } from "../spec";

/** A serverless function: its validated spec as a Function custom resource, and the worker Deployment the agent scales. */
export class Function extends pulumi.ComponentResource {
  /** What other components (Schedule, Endpoint) use to point at this function. */
  public readonly ref: pulumi.Output<FunctionRef>;
  /** The validated spec with every default filled in, as the agent sees it. */
  public readonly spec: pulumi.Output<SpecOutput>;
  /** Name of the worker Deployment. */
  public readonly deploymentName: pulumi.Output<string>;

  constructor(name: string, args: FunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Function", name, {}, opts);
    // Plain fields are checked now, so that preview fails even while refs are unknown.
    const declared = validated("Function", name, planned(name, args, PENDING_REF), this);
    assertNoProblems("Function", name, webPortProblems(declared), this);
    // Pool refs derive from plain arguments, so this check runs during preview too.
    const pool = pulumi.output(args.pool).apply((p: PoolRef | undefined) => {
      if (p !== undefined) assertNoProblems("Function", name, poolProblems(declared, p), this);
      return p;
    });

    const resolved = pulumi.all([args.app, pool, args.secrets ?? [], volumeRefs(args), args.image]).apply(([app, pool, secrets, volumes, image]) => {
      const spec = validated(
        "Function",
        name,
        {
          ...planned(name, args, app.name, image ?? app.image),
          secrets: secrets.map((s: SecretRef) => s.name),
          volumes: Object.fromEntries(Object.entries(volumes).map(([path, v]) => [path, v.name])),
          pool: pool?.name,
        },
        this,
      );
      if (spec.image === undefined) {
        assertNoProblems("Function", name, [{ path: "image", value: undefined, message: "is required: set it on the Function or on its App" }], this);
      }
      const worker: WorkerInputs = { spec, app, pool, volumes, image: spec.image! };
      return worker;
    });
    this.spec = resolved.apply((r): SpecOutput => ({ ...r.spec }));

    const app = pulumi.output(args.app);
    const metadata = app.apply((a: AppRef) => ({ name, namespace: a.namespace, labels: componentLabels(a, "function", name) }));

    new k8s.apiextensions.CustomResource(
      `${name}-function`,
      {
        apiVersion: CRD_API_VERSION,
        kind: "Function",
        metadata,
        spec: this.spec,
      },
      { parent: this },
    );

    const deployment = new k8s.apps.v1.Deployment(
      `${name}-worker`,
      {
        metadata,
        spec: resolved.apply(workerDeploymentSpec),
      },
      {
        parent: this,
        // Replicas start at minContainers and belong to the agent afterwards: `pulumi up` must not reset them.
        ignoreChanges: ["spec.replicas"],
      },
    );

    this.deploymentName = deployment.metadata.name;
    this.ref = app.apply((a: AppRef): FunctionRef => ({
      app: a.name,
      name,
      namespace: a.namespace,
      runtimeNamespace: a.runtimeNamespace,
      ...(declared.webPort === undefined ? {} : { webPort: declared.webPort }),
    }));
    this.registerOutputs({ ref: this.ref, spec: this.spec, deploymentName: this.deploymentName });
  }
}

/** The spec as declared, with `app` given (a stand-in until the App's ref resolves). */
function planned(name: string, args: FunctionArgs, app: string, image?: string): object {
  // Every argument goes through, unknown ones included, so that the schema reports them.
  return {
    ...args,
    app,
    name,
    image: image ?? (typeof args.image === "string" ? args.image : undefined),
    secrets: (args.secrets ?? []).map(() => PENDING_REF),
    volumes: Object.fromEntries(Object.keys(args.volumes ?? {}).map((path) => [path, PENDING_REF])),
    pool: args.pool === undefined ? undefined : PENDING_REF,
  };
}

function volumeRefs(args: FunctionArgs): pulumi.Output<Record<string, VolumeRef>> {
  return pulumi.all(args.volumes ?? {}) as pulumi.Output<Record<string, VolumeRef>>;
}
