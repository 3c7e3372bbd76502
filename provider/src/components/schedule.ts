/**
 * Schedule: calls a function on a timetable. Rendered as a Schedule custom resource that the agent
 * runs; cron expressions and timezones are checked here so that a typo fails `pulumi preview`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ScheduleArgs } from "../generated/args";
import type { FunctionRef } from "../refs";
import { CRD_API_VERSION } from "../render/crds";
import type { SpecOutput } from "../spec-output";
import { PENDING_REF, validated } from "../spec";

/** Runs a function on a cron timetable in an IANA timezone, or every fixed period. */
export class Schedule extends pulumi.ComponentResource {
  /** The validated spec as the agent sees it. */
  public readonly spec: pulumi.Output<SpecOutput>;

  constructor(name: string, args: ScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Schedule", name, {}, opts);
    const declared = (fn: string, app: string): object => ({ ...args, app, name, function: fn });
    validated("Schedule", name, declared(PENDING_REF, PENDING_REF), this);

    const target = pulumi.output(args.function);
    this.spec = target.apply((fn: FunctionRef): SpecOutput => ({ ...validated("Schedule", name, declared(fn.name, fn.app), this) }));
    new k8s.apiextensions.CustomResource(
      `${name}-schedule`,
      {
        apiVersion: CRD_API_VERSION,
        kind: "Schedule",
        metadata: target.apply((fn: FunctionRef) => ({
          name,
          namespace: fn.namespace,
          labels: { "warmpool.dev/app": fn.app, "warmpool.dev/function": fn.name, "app.kubernetes.io/component": "schedule" },
        })),
        spec: this.spec,
      },
      { parent: this },
    );
    this.registerOutputs({ spec: this.spec });
  }
}
