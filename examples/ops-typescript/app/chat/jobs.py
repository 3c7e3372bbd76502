"""The reindex job (`chat.jobs:reindex`), run by the nightly-reindex Schedule."""

from ._env import container, fingerprint, record


def reindex(full=False):
    record("reindex.log", "full" if full else "incremental")
    return {"full": full, "container": container(), "hfToken": fingerprint("HF_TOKEN")}
