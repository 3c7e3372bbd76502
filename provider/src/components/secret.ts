/**
 * Secret: credentials for functions, either a Kubernetes Secret made from Pulumi secret values (kept
 * secret in state and outputs) or an ExternalSecret that syncs an AWS Secrets Manager secret.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretArgs } from "../generated/args";
import { componentLabels } from "../labels";
import type { AppRef, SecretRef } from "../refs";
import { PENDING_REF, validated } from "../spec";

/** Credentials for functions, by reference only. */
export class Secret extends pulumi.ComponentResource {
  /** What Functions list in `secrets`. */
  public readonly ref: pulumi.Output<SecretRef>;
  /** Name of the Kubernetes Secret. */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: SecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Secret", name, {}, opts);
    const spec = validated(
      "Secret",
      name,
      {
        app: PENDING_REF,
        name,
        // Only the keys are checked here: values may be unknown, and must never reach an error message.
        values: args.values === undefined ? undefined : Object.fromEntries(Object.keys(args.values).map((key) => [key, ""])),
        awsSecretsManager: args.awsSecretsManager && { ...args.awsSecretsManager, secretId: PENDING_REF },
      },
      this,
    );
    const app = pulumi.output(args.app);
    const metadata = app.apply((a: AppRef) => ({ name, namespace: a.namespace, labels: componentLabels(a, "secret", name) }));

    if (spec.values !== undefined) {
      const values = args.values!;
      new k8s.core.v1.Secret(
        name,
        {
          metadata,
          type: "Opaque",
          // The Kubernetes provider marks stringData and data secret in state and outputs.
          stringData: values,
        },
        { parent: this },
      );
    } else {
      const source = spec.awsSecretsManager!;
      const secretId = args.awsSecretsManager!.secretId;
      new k8s.apiextensions.CustomResource(
        name,
        {
          apiVersion: "external-secrets.io/v1",
          kind: "ExternalSecret",
          metadata,
          spec: {
            refreshInterval: `${source.refreshInterval ?? 3600}s`,
            secretStoreRef: { kind: "ClusterSecretStore", name: source.secretStore ?? "aws-secrets-manager" },
            target: { name, creationPolicy: "Owner" },
            ...(source.keys === undefined ? { dataFrom: [{ extract: { key: secretId } }] } : { data: source.keys.map((key) => ({ secretKey: key, remoteRef: { key: secretId, property: key } })) }),
          },
        },
        { parent: this },
      );
    }

    this.secretName = pulumi.output(name);
    this.ref = app.apply((a: AppRef) => ({ name, namespace: a.namespace }));
    this.registerOutputs({ ref: this.ref, secretName: this.secretName });
  }
}
