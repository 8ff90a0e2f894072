"""Changes after build: add_item on a built index, remove_item / remove_items, thaw. At an
exhaustive search_k the answer is brute force over the items in the index at that moment, for
every metric, in memory and after save and load; bad changes raise and change nothing."""
import pickle

import numpy as np
import pytest

from conftest import brute_force
from grove import AnnoyIndex

METRICS = ["angular", "euclidean", "manhattan", "dot", "hamming"]
N, TREES = 600, 5


def data_for(metric, rng, n):
    f = 64 if metric == "hamming" else 8
    if metric == "hamming":
        return (rng.random((n, f)) < 0.5).astype(np.float32)
    return rng.standard_normal((n, f)).astype(np.float32)


def exhaustive(index, query, n=10):
    return index.get_nns_by_vector(query, n, index.get_n_items() * TREES * 2 + 100)


def expect_brute_force(index, metric, live, data, queries):
    ids = sorted(live)
    for q in queries:
        got = exhaustive(index, q)
        want = [ids[i] for i in brute_force(metric, data[ids], q, 10)]
        assert set(got) <= live
        # Ties may come in another order: compare the distances the two rankings reach.
        got_d = sorted(brute_force_distance(metric, data[i], q) for i in got)
        want_d = sorted(brute_force_distance(metric, data[i], q) for i in want)
        assert np.allclose(got_d, want_d, rtol=1e-4, atol=1e-4)


def brute_force_distance(metric, x, q):
    x, q = np.asarray(x, np.float64), np.asarray(q, np.float64)
    if metric == "angular":
        return 2 - 2 * (x @ q) / (np.linalg.norm(x) * np.linalg.norm(q))
    if metric == "euclidean":
        return ((x - q) ** 2).sum()
    if metric == "manhattan":
        return np.abs(x - q).sum()
    if metric == "dot":
        return -(x @ q)
    return (x != q).sum()


@pytest.mark.parametrize("metric", METRICS)
def test_adds_and_removes_after_build_answer_as_brute_force(metric, rng, tmp_path):
    data = data_for(metric, rng, N)
    queries = data_for(metric, rng, 8)
    index = AnnoyIndex(data.shape[1], metric)
    for i in range(N // 2):
        index.add_item(i, data[i])
    index.build(TREES)
    for i in range(N // 2, N):
        index.add_item(i, data[i])
    removed = rng.choice(N, N // 3, replace=False)
    index.remove_items(removed)
    live = set(range(N)) - set(removed.tolist())
    expect_brute_force(index, metric, live, data, queries)
    path = str(tmp_path / "changed.ann")
    index.save(path)
    loaded = AnnoyIndex(data.shape[1], metric)
    loaded.load(path)
    expect_brute_force(loaded, metric, live, data, queries)
    copy = pickle.loads(pickle.dumps(index))
    expect_brute_force(copy, metric, live, data, queries)
    # Back again, after thaw(): a loaded index is read-only until then.
    loaded.thaw()
    for i in removed[:20]:
        loaded.add_item(int(i), data[i])
    live |= set(int(i) for i in removed[:20])
    expect_brute_force(loaded, metric, live, data, queries)


def test_removed_items_are_never_returned_and_raise(rng):
    data = data_for("euclidean", rng, 2000)
    index = AnnoyIndex(8, "euclidean")
    for i, v in enumerate(data):
        index.add_item(i, v)
    index.build(10)
    removed = set(rng.choice(2000, 700, replace=False).tolist())
    for i in removed:
        index.remove_item(i)
    for q in data[::50]:
        for search_k in (-1, 50, 5000):
            got = index.get_nns_by_vector(q, 10, search_k)
            assert len(got) == 10 and not removed & set(got)
    gone = next(iter(removed))
    for call in (lambda: index.get_item_vector(gone), lambda: index.get_distance(gone, 0),
                 lambda: index.get_nns_by_item(gone, 3)):
        with pytest.raises(IndexError, match="was removed"):
            call()
    assert index.get_n_items() == 2000


def test_bad_changes_raise_and_change_nothing(rng, tmp_path):
    data = data_for("angular", rng, 300)
    index = AnnoyIndex(8, "angular")
    for i, v in enumerate(data):
        index.add_item(i, v)
    index.build(4)
    index.remove_item(5)
    before = index.serialize()
    with pytest.raises(ValueError, match="removed already"):
        index.remove_item(5)
    with pytest.raises(IndexError, match="out of range"):
        index.remove_item(300)
    with pytest.raises(ValueError, match="listed twice"):
        index.remove_items([1, 2, 1])
    with pytest.raises(ValueError, match="removed already"):
        index.remove_items([1, 2, 5])
    with pytest.raises(TypeError):
        index.remove_items(3)
    with pytest.raises(TypeError):
        index.remove_items(["a"])
    with pytest.raises(IndexError):
        index.add_item(301, [1.0] * 3)
    assert index.serialize() == before
    path = str(tmp_path / "ro.ann")
    index.save(path)
    with pytest.raises(RuntimeError, match="thaw"):
        index.add_item(1, data[1])
    with pytest.raises(RuntimeError, match="thaw"):
        index.remove_item(1)
