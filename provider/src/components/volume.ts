/**
 * Volume: storage functions mount — a PersistentVolumeClaim, an EFS file system with one mount target
 * per subnet and its StorageClass, or an S3 bucket mounted through the Mountpoint CSI driver.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { VolumeSpec } from "@warmpool/schema";
import type { VolumeArgs } from "../generated/args";
import { componentLabels } from "../labels";
import type { AppRef, VolumeRef } from "../refs";
import { PENDING_REF, validated } from "../spec";

/** Storage that functions mount. */
export class Volume extends pulumi.ComponentResource {
  /** What Functions mount (`volumes: {"/path": volume.ref}`). */
  public readonly ref: pulumi.Output<VolumeRef>;
  /** Name of the PersistentVolumeClaim. */
  public readonly claimName: pulumi.Output<string>;

  constructor(name: string, args: VolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Volume", name, {}, opts);
    const spec = validated(
      "Volume",
      name,
      {
        ...args,
        app: PENDING_REF,
        name,
        efs: args.efs && { ...args.efs, subnetIds: args.efs.subnetIds.map(() => PENDING_REF), securityGroupIds: args.efs.securityGroupIds.map(() => PENDING_REF) },
        bucket: args.bucket && { ...args.bucket, bucketName: args.bucket.bucketName === undefined ? undefined : PENDING_REF },
      },
      this,
    );
    const app = pulumi.output(args.app);
    const metadata = app.apply((a: AppRef) => ({ name, namespace: a.namespace, labels: componentLabels(a, "volume", name) }));
    const child = { parent: this };
    const kind = spec.kind ?? "pvc";
    const size = `${spec.size ?? 10}Gi`;
    const readOnly = spec.readOnly ?? (kind === "bucket" || spec.accessMode === "ReadOnlyMany");

    let claim: k8s.core.v1.PersistentVolumeClaim;
    if (kind === "efs") {
      claim = this.efsClaim(name, spec, args, metadata, size);
    } else if (kind === "bucket") {
      claim = this.bucketClaim(
        name,
        spec,
        args,
        metadata,
        app.apply((a: AppRef) => a.namespace),
        size,
        readOnly,
      );
    } else {
      claim = new k8s.core.v1.PersistentVolumeClaim(
        name,
        {
          metadata,
          spec: { accessModes: [spec.accessMode ?? "ReadWriteOnce"], storageClassName: spec.storageClass, resources: { requests: { storage: size } } },
        },
        child,
      );
    }

    this.claimName = claim.metadata.name;
    this.ref = pulumi.all([app, this.claimName]).apply(([a, claimName]) => ({ name, namespace: a.namespace, claimName, readOnly }));
    this.registerOutputs({ ref: this.ref, claimName: this.claimName });
  }

  private efsClaim(name: string, spec: VolumeSpec, args: VolumeArgs, metadata: pulumi.Input<k8s.types.input.meta.v1.ObjectMeta>, size: string): k8s.core.v1.PersistentVolumeClaim {
    const child = { parent: this };
    const efs = args.efs!;
    const fileSystem = new aws.efs.FileSystem(
      name,
      {
        encrypted: spec.efs?.encrypted ?? true,
        throughputMode: spec.efs?.throughputMode ?? "elastic",
        tags: { Name: `warmpool-${name}`, "warmpool.dev/volume": name },
      },
      child,
    );
    efs.subnetIds.forEach((subnetId, index) => {
      new aws.efs.MountTarget(`${name}-${index}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: efs.securityGroupIds }, child);
    });
    const storageClass = new k8s.storage.v1.StorageClass(
      name,
      {
        metadata: { name: pulumi.interpolate`warmpool-efs-${fileSystem.id}` },
        provisioner: "efs.csi.aws.com",
        parameters: { provisioningMode: "efs-ap", fileSystemId: fileSystem.id, directoryPerms: "700", uid: "1000", gid: "1000" },
        reclaimPolicy: "Retain",
      },
      child,
    );
    return new k8s.core.v1.PersistentVolumeClaim(
      name,
      {
        metadata,
        spec: { accessModes: [spec.accessMode === "ReadOnlyMany" ? "ReadOnlyMany" : "ReadWriteMany"], storageClassName: storageClass.metadata.name, resources: { requests: { storage: size } } },
      },
      child,
    );
  }

  private bucketClaim(
    name: string,
    spec: VolumeSpec,
    args: VolumeArgs,
    metadata: pulumi.Input<k8s.types.input.meta.v1.ObjectMeta>,
    namespace: pulumi.Output<string>,
    size: string,
    readOnly: boolean,
  ): k8s.core.v1.PersistentVolumeClaim {
    const child = { parent: this };
    const existing = args.bucket?.bucketName;
    const bucketName = existing !== undefined ? pulumi.output(existing) : new aws.s3.Bucket(name, { forceDestroy: false, tags: { "warmpool.dev/volume": name } }, child).bucket;
    const mountOptions = [readOnly ? "read-only" : "allow-delete", "uid=1000", "gid=1000", "allow-other"];
    if (spec.bucket?.region !== undefined) mountOptions.push(`region ${spec.bucket.region}`);
    if (spec.bucket?.prefix !== undefined) mountOptions.push(`prefix ${spec.bucket.prefix}`);
    const accessMode = readOnly ? "ReadOnlyMany" : "ReadWriteMany";
    // Mountpoint is statically provisioned: a PersistentVolume names the bucket, the claim binds to it.
    const volume = new k8s.core.v1.PersistentVolume(
      name,
      {
        metadata: { name: pulumi.interpolate`warmpool-${namespace}-${name}` },
        spec: {
          capacity: { storage: size },
          accessModes: [accessMode],
          storageClassName: "",
          claimRef: { namespace, name },
          mountOptions,
          csi: { driver: "s3.csi.aws.com", volumeHandle: pulumi.interpolate`warmpool-${bucketName}`, volumeAttributes: { bucketName } },
        },
      },
      child,
    );
    return new k8s.core.v1.PersistentVolumeClaim(
      name,
      {
        metadata,
        spec: { accessModes: [accessMode], storageClassName: "", volumeName: volume.metadata.name, resources: { requests: { storage: size } } },
      },
      child,
    );
  }
}
