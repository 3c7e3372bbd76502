import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "../src";
import { render, valueOf } from "./render";

describe("GpuPool", () => {
  it("eks: an NVIDIA node group of the catalog's instance types, labelled and tainted for its functions", async () => {
    let pool!: warmpool.GpuPool;
    const out = await render((opts) => {
      pool = new warmpool.GpuPool(
        "h100",
        {
          kind: "eks",
          gpu: "H100",
          capacityType: "spot",
          minNodes: 0,
          maxNodes: 3,
          eks: { clusterName: "prod", nodeRoleArn: "arn:aws:iam::123456789012:role/nodes", subnetIds: ["subnet-a", "subnet-b"] },
        },
        opts,
      );
    });
    const group = out.one("aws:eks/nodeGroup:NodeGroup").inputs;
    expect(group).toMatchObject({
      clusterName: "prod",
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: "SPOT",
      instanceTypes: ["p5.4xlarge", "p5.48xlarge"],
      scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 0 },
      labels: { "warmpool.dev/pool": "h100", "warmpool.dev/gpu": "H100" },
      subnetIds: ["subnet-a", "subnet-b"],
    });
    expect(group.taints).toEqual([
      { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" },
      { key: "warmpool.dev/pool", value: "h100", effect: "NO_SCHEDULE" },
    ]);
    expect(out.construction("aws:eks/nodeGroup:NodeGroup").opts.ignoreChanges).toContain("scalingConfig.desiredSize");
    expect(await valueOf(pool.ref)).toEqual({
      name: "h100",
      kind: "eks",
      gpu: "H100",
      maxGpusPerNode: 8,
      tainted: true,
      nodeSelector: { "warmpool.dev/pool": "h100", "warmpool.dev/gpu": "H100" },
    });
    // 3 nodes × the dearest instance (p5.48xlarge).
    expect(await valueOf(pool.hourlyCostCeiling)).toBe(165.12);
  });

  it("karpenter: a NodePool with a GPU limit and an EC2NodeClass found by discovery tag", async () => {
    let pool!: warmpool.GpuPool;
    const out = await render((opts) => {
      pool = new warmpool.GpuPool(
        "l40s",
        {
          kind: "karpenter",
          gpu: "L40S",
          instanceTypes: ["g6e.xlarge", "g6e.12xlarge"],
          maxGpus: 8,
          prices: { "g6e.xlarge": 2.0 },
          karpenter: { nodeRole: "KarpenterNodeRole-prod", discoveryTag: "prod", consolidateAfter: 120 },
        },
        opts,
      );
    });
    const nodePool = out.one("kubernetes:karpenter.sh/v1:NodePool").inputs;
    expect(nodePool.spec.limits).toEqual({ "nvidia.com/gpu": "8" });
    expect(nodePool.spec.disruption).toEqual({ consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: "120s" });
    expect(nodePool.spec.template.spec.requirements).toContainEqual({ key: "node.kubernetes.io/instance-type", operator: "In", values: ["g6e.xlarge", "g6e.12xlarge"] });
    expect(nodePool.spec.template.spec.requirements).toContainEqual({ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] });
    expect(nodePool.spec.template.spec.nodeClassRef).toEqual({ group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "warmpool-l40s" });
    const nodeClass = out.one("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").inputs;
    expect(nodeClass.spec).toMatchObject({ role: "KarpenterNodeRole-prod", subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": "prod" } }] });
    // 8 GPUs × the dearest price per GPU: g6e.12xlarge at $10.493 / 4 GPUs (g6e.xlarge is overridden to $2.00).
    expect(await valueOf(pool.hourlyCostCeiling)).toBe(20.99);
  });

  it("static: renders nothing and selects the existing nodes", async () => {
    let pool!: warmpool.GpuPool;
    const out = await render((opts) => {
      pool = new warmpool.GpuPool("lab", { kind: "static", gpu: "A100-80GB", nodeSelector: { "lab.example.com/gpu": "a100" } }, opts);
    });
    expect(out.types()).toEqual(["warmpool:index:GpuPool"]);
    expect(await valueOf(pool.ref)).toMatchObject({ nodeSelector: { "lab.example.com/gpu": "a100" }, tainted: false, maxGpusPerNode: 8 });
  });
});

describe("Volume", () => {
  it("pvc: a claim of the given size, class and access mode", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      new warmpool.Volume("cache", { app: app.ref, size: 50, storageClass: "gp3", accessMode: "ReadWriteOnce" }, opts);
    });
    const claim = out.one("kubernetes:core/v1:PersistentVolumeClaim").inputs;
    expect(claim.metadata).toMatchObject({ name: "cache", namespace: "chat-dev" });
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "gp3", resources: { requests: { storage: "50Gi" } } });
  });

  it("efs: an encrypted file system, a mount target per subnet, its StorageClass and a shared claim", async () => {
    let volume!: warmpool.Volume;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      volume = new warmpool.Volume(
        "weights",
        {
          app: app.ref,
          kind: "efs",
          accessMode: "ReadWriteMany",
          efs: { subnetIds: ["subnet-a", "subnet-b", "subnet-c"], securityGroupIds: ["sg-nfs"] },
        },
        opts,
      );
    });
    expect(out.one("aws:efs/fileSystem:FileSystem").inputs).toMatchObject({ encrypted: true, throughputMode: "elastic" });
    expect(
      out
        .ofType("aws:efs/mountTarget:MountTarget")
        .map((m) => m.inputs.subnetId)
        .sort(),
    ).toEqual(["subnet-a", "subnet-b", "subnet-c"]);
    const storageClass = out.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs;
    expect(storageClass).toMatchObject({ provisioner: "efs.csi.aws.com", parameters: { provisioningMode: "efs-ap" } });
    const claim = out.one("kubernetes:core/v1:PersistentVolumeClaim").inputs;
    expect(claim.spec.accessModes).toEqual(["ReadWriteMany"]);
    expect(claim.spec.storageClassName).toBe(storageClass.metadata.name);
    expect(await valueOf(volume.ref)).toMatchObject({ name: "weights", claimName: "weights", readOnly: false });
  });

  it("bucket: a new S3 bucket mounted read-only through Mountpoint unless asked", async () => {
    let volume!: warmpool.Volume;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      volume = new warmpool.Volume("datasets", { app: app.ref, kind: "bucket", bucket: { prefix: "train/" } }, opts);
    });
    expect(out.ofType("aws:s3/bucket:Bucket")).toHaveLength(1);
    const pv = out.one("kubernetes:core/v1:PersistentVolume").inputs;
    expect(pv.spec.csi.driver).toBe("s3.csi.aws.com");
    expect(pv.spec.accessModes).toEqual(["ReadOnlyMany"]);
    expect(pv.spec.mountOptions).toEqual(expect.arrayContaining(["read-only", "prefix train/"]));
    expect(pv.spec.claimRef).toEqual({ namespace: "chat-dev", name: "datasets" });
    expect(out.one("kubernetes:core/v1:PersistentVolumeClaim").inputs.spec.volumeName).toBe(pv.metadata.name);
    expect((await valueOf(volume.ref)).readOnly).toBe(true);
  });

  it("bucket: an existing bucket, writable when readOnly is false", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      new warmpool.Volume("outputs", { app: app.ref, kind: "bucket", readOnly: false, bucket: { bucketName: "team-outputs" } }, opts);
    });
    expect(out.ofType("aws:s3/bucket:Bucket")).toEqual([]);
    const pv = out.one("kubernetes:core/v1:PersistentVolume").inputs;
    expect(pv.spec.csi.volumeAttributes).toEqual({ bucketName: "team-outputs" });
    expect(pv.spec.accessModes).toEqual(["ReadWriteMany"]);
    expect(pv.spec.mountOptions).toContain("allow-delete");
  });
});

describe("Secret", () => {
  it("keeps values secret: in the Secret's inputs and never in its ref", async () => {
    let secret!: warmpool.Secret;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      secret = new warmpool.Secret("hf", { app: app.ref, values: { HF_TOKEN: "hf_abc", WANDB_KEY: pulumi.secret("wb_def") } }, opts);
    });
    const constructed = out.construction("kubernetes:core/v1:Secret");
    expect(await pulumi.isSecret(constructed.props.stringData as pulumi.Output<unknown>)).toBe(true);
    expect(constructed.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["data", "stringData"]));
    expect(out.one("kubernetes:core/v1:Secret").inputs.metadata).toMatchObject({ name: "hf", namespace: "chat-dev" });
    expect(JSON.stringify(await valueOf(secret.ref))).not.toMatch(/hf_abc|wb_def/);
  });

  it("references AWS Secrets Manager through an ExternalSecret", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", {}, opts);
      new warmpool.Secret("openai", { app: app.ref, awsSecretsManager: { secretId: "prod/openai", keys: ["OPENAI_API_KEY"], refreshInterval: 600 } }, opts);
    });
    const external = out.one("kubernetes:external-secrets.io/v1:ExternalSecret").inputs;
    expect(external.spec).toEqual({
      refreshInterval: "600s",
      secretStoreRef: { kind: "ClusterSecretStore", name: "aws-secrets-manager" },
      target: { name: "openai", creationPolicy: "Owner" },
      data: [{ secretKey: "OPENAI_API_KEY", remoteRef: { key: "prod/openai", property: "OPENAI_API_KEY" } }],
    });
    expect(out.ofType("kubernetes:core/v1:Secret")).toEqual([]);
  });
});

describe("Schedule and Endpoint", () => {
  it("render custom resources for the agent, and an Ingress with TLS for custom domains", async () => {
    let endpoint!: warmpool.Endpoint;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: "registry.example.com/chat:1" }, opts);
      const fn = new warmpool.Function("report", { app: app.ref, handler: "jobs:report" }, opts);
      new warmpool.Schedule("nightly", { function: fn.ref, cron: "0 2 * * *", timezone: "Europe/Paris", args: [{ day: "yesterday" }] }, opts);
      endpoint = new warmpool.Endpoint("api", { function: fn.ref, path: "/v1/report", methods: ["POST"], domains: ["api.example.com"] }, opts);
    });
    const schedule = out.one("kubernetes:warmpool.dev/v1alpha1:Schedule").inputs;
    expect(schedule.metadata).toMatchObject({ name: "nightly", namespace: "chat-dev" });
    expect(schedule.spec).toEqual({
      app: "chat",
      name: "nightly",
      function: "report",
      cron: "0 2 * * *",
      timezone: "Europe/Paris",
      args: [{ day: "yesterday" }],
      kwargs: {},
      missed: "runOnce",
      overlap: "skip",
      suspended: false,
    });
    const route = out.one("kubernetes:warmpool.dev/v1alpha1:Endpoint").inputs;
    expect(route.spec).toMatchObject({ function: "report", kind: "function", path: "/v1/report", methods: ["POST"], public: false, syncTimeout: 150 });
    const ingress = out.one("kubernetes:networking.k8s.io/v1:Ingress").inputs;
    expect(ingress.metadata).toMatchObject({ namespace: "warmpool-system", annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" } });
    expect(ingress.spec.tls).toEqual([{ hosts: ["api.example.com"], secretName: "chat-api-tls" }]);
    expect(ingress.spec.rules[0]).toMatchObject({ host: "api.example.com", http: { paths: [{ path: "/v1/report", backend: { service: { name: "warmpool-agent" } } }] } });
    expect(await valueOf(endpoint.gatewayPath)).toBe("/web/chat/v1/report");
  });
});
