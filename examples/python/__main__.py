"""A small warmpool app in Python: the runtime, one app, an embedding function on the cluster's L4
nodes (a static GPU pool) and a nightly job with its schedule."""

import pulumi
import pulumi_warmpool as warmpool

config = pulumi.Config()
environment = config.get("environment") or "dev"
image = config.get("image") or "registry.example.com/search/embed:2.0.1"

runtime = warmpool.Runtime("runtime", limits={"max_pending_inputs": 500})

l4 = warmpool.GpuPool("l4", kind="static", gpu="L4", node_selector={"warmpool.dev/gpu": "L4"})

app = warmpool.App("search", environment=environment, image=image, labels={"team": "search"})

embed = warmpool.Function(
    "embed",
    app=app.ref,
    handler="search.embeddings:embed",
    gpu="L4",
    pool=l4.ref,
    memory=8192,
    batching={"max_batch_size": 32, "wait_ms": 10},
    autoscaler={"max_containers": 3, "scaledown_window": 120},
)

reindex = warmpool.Function(
    "reindex",
    app=app.ref,
    handler="search.jobs:reindex",
    cpu=2,
    memory=4096,
    timeout=1800,
)

warmpool.Schedule("hourly-reindex", function=reindex.ref, cron="0 * * * *", timezone="Europe/Berlin")

pulumi.export("namespace", app.namespace)
pulumi.export("embedDeployment", embed.deployment_name)
pulumi.export("agentUrl", runtime.url)
