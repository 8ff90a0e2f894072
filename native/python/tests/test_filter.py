"""Filtered search (filter=): at an exhaustive search_k the answer is the full ranking of the
allowed items, for every metric and every form of filter (a numpy bool array, a container of
ids, a callable), for one index, a batch and a sharded index; bad filters raise what Python
users expect."""
import numpy as np
import pytest

from grove import AnnoyIndex, ShardedIndex, save_manifest

METRICS = ["angular", "euclidean", "manhattan", "dot", "hamming"]
N, TREES = 500, 5


def built(metric, rng, n=N):
    f = 64 if metric == "hamming" else 8
    data = (rng.random((n, f)) < 0.5).astype(np.float32) if metric == "hamming" else rng.standard_normal((n, f))
    index = AnnoyIndex(f, metric)
    for i, v in enumerate(data):
        index.add_item(i, v)
    index.build(TREES)
    return index, data


def restricted(index, query, allowed, n):
    """The unfiltered exhaustive ranking of every item, kept where allowed."""
    ids, dists = index.get_nns_by_vector(query, N, N * TREES, include_distances=True)
    kept = [(i, d) for i, d in zip(ids, dists) if allowed[i]]
    return [i for i, _ in kept[:n]], [d for _, d in kept[:n]]


@pytest.mark.parametrize("metric", METRICS)
def test_every_filter_form_gives_the_full_ranking_of_the_allowed_items(metric, rng):
    index, data = built(metric, rng)
    for keep in (0.01, 0.1, 0.5):
        allowed = rng.random(N) < keep
        ids = set(np.flatnonzero(allowed).tolist())
        forms = [allowed, ids, sorted(ids), np.flatnonzero(allowed), lambda i: bool(allowed[i])]
        for query in data[:5]:
            want = restricted(index, query, allowed, 10)
            for form in forms:
                got = index.get_nns_by_vector(query, 10, N * TREES, True, filter=form)
                assert (list(got[0]), list(got[1])) == want, (keep, type(form))
        got = index.get_nns_by_item(7, 5, N * TREES, filter=ids)
        assert got == restricted(index, data[7], allowed, 5)[0]
        batch_ids, _ = index.get_nns_by_vectors(data[:5].astype(np.float32), 10, N * TREES, filter=allowed)
        for row, query in zip(batch_ids, data[:5]):
            want = restricted(index, query, allowed, 10)[0]
            assert list(row[:len(want)]) == want and all(row[len(want):] == -1)


def test_a_selective_filter_still_returns_n(rng):
    index, data = built("euclidean", rng, n=N)
    allowed = np.zeros(N, bool)
    allowed[rng.choice(N, 12, replace=False)] = True
    got = index.get_nns_by_vector(data[0], 10, filter=allowed)
    assert len(got) == 10 and all(allowed[got])


def test_bad_filters_raise(rng):
    index, data = built("euclidean", rng)
    q = data[0]
    with pytest.raises(ValueError, match="filter bitset has 499 items, the index has 500"):
        index.get_nns_by_vector(q, 3, filter=np.ones(N - 1, bool))
    with pytest.raises(IndexError, match="filter allows id 500"):
        index.get_nns_by_vector(q, 3, filter={1, 500})
    with pytest.raises(IndexError, match="filter id -2 is negative"):
        index.get_nns_by_vector(q, 3, filter=[-2])
    with pytest.raises(TypeError, match="filter ids must be integers, got a bool"):
        index.get_nns_by_vector(q, 3, filter=[True, False])
    with pytest.raises(TypeError, match="filter must be a numpy bool array, a container of ids or a callable"):
        index.get_nns_by_vector(q, 3, filter="abc")
    with pytest.raises(TypeError, match="filter must be"):
        index.get_nns_by_vector(q, 3, filter=3.5)
    with pytest.raises(TypeError):
        index.get_nns_by_vector(q, 3, filter=["a"])
    with pytest.raises(ValueError, match="1-D"):
        index.get_nns_by_vector(q, 3, filter=np.ones((N, 1), bool))
    with pytest.raises(TypeError):
        index.get_nns_by_vector(q, 3, -1, False, np.ones(N, bool))  # filter is keyword-only

    def refuses(i):
        raise KeyError(f"no {i}")
    with pytest.raises(KeyError):
        index.get_nns_by_vector(q, 3, filter=refuses)
    assert index.get_nns_by_vector(q, 3, filter={4, 5, 6}) == sorted({4, 5, 6}, key=lambda i: np.linalg.norm(data[i] - q))
    assert index.get_nns_by_vector(q, 3, filter=set()) == []


def test_sharded_filters_name_global_ids(rng, tmp_path):
    data = rng.standard_normal((900, 6)).astype(np.float32)
    shards = []
    for s in range(3):  # 300 items each
        shard = AnnoyIndex(6, "euclidean")
        for i in range(300):
            shard.add_item(i, data[s * 300 + i])
        shard.build(4)
        shard.save(str(tmp_path / f"s{s}.ann"))
        shards.append({"file": f"s{s}.ann", "items": 300, "first_id": s * 300, "n_trees": 4, "seed": 0})
    import json
    save_manifest(str(tmp_path / "index.json"), json.dumps({"format": "grove-sharded", "version": 1, "f": 6,
                                                           "metric": "euclidean", "total_items": 900, "shards": shards}))
    sharded = ShardedIndex(str(tmp_path / "index.json"))
    allowed = rng.random(900) < 0.05
    for q in data[:10]:
        got = sharded.get_nns_by_vector(q, 10, 900 * 4, filter=allowed)
        d = np.linalg.norm(data.astype(np.float64) - q, axis=1)
        want = [i for i in np.lexsort((np.arange(900), d)) if allowed[i]][:10]
        assert got == want
    with pytest.raises(IndexError, match="filter allows id 900"):
        sharded.get_nns_by_vector(data[0], 3, filter=[900])
