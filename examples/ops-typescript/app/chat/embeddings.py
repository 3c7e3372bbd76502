"""Batched embeddings (`chat.embeddings:embed`): a list of texts in, a list as long out."""

from ._env import container


def embed(texts):
    return [{"text": t, "dims": [len(t), sum(map(ord, t)) % 97], "container": container()} for t in texts]
