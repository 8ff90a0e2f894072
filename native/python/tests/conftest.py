import numpy as np
import pytest


def brute_force(metric, items, query, k):
    """Exact top k ids (ties: smaller id), in double precision."""
    x = np.asarray(items, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    if metric == "angular":
        norms = np.linalg.norm(x, axis=1) * np.linalg.norm(q)
        d = 2 - 2 * (x @ q) / np.where(norms > 0, norms, 1)
    elif metric == "euclidean":
        d = ((x - q) ** 2).sum(axis=1)
    elif metric == "manhattan":
        d = np.abs(x - q).sum(axis=1)
    elif metric == "dot":
        d = -(x @ q)
    else:
        d = (x != q).sum(axis=1)
    order = np.lexsort((np.arange(len(d)), d))
    return [int(i) for i in order[:k]]


@pytest.fixture
def rng():
    return np.random.default_rng(7)
