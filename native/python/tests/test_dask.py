"""Sharded indexes built and searched on a Dask LocalCluster (2 worker processes): answers
at exhaustive search_k equal brute force over all items, the cluster's search equals the local
ShardedIndex, workers map the shards once, and a worker killed during a build is survived,
or reported with no manifest written."""
import json
import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import grove.dask  # noqa: E402
from grove import ShardedIndex, parse_manifest  # noqa: E402
from conftest import brute_force  # noqa: E402

N, F = 120_000, 16


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(11).standard_normal((N, F)).astype(np.float32)


@pytest.fixture(scope="module")
def manifest(client, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sharded")
    return grove.dask.build_sharded(client, data, "euclidean", n_shards=4, n_trees=5, out_dir=str(out), seed=3)


def test_build_writes_four_shards_and_a_valid_manifest(manifest):
    m = json.loads(parse_manifest(open(manifest).read()))
    assert m["total_items"] == N and len(m["shards"]) == 4 and m["f"] == F
    assert [s["first_id"] for s in m["shards"]] == [0, 30000, 60000, 90000]
    assert [s["seed"] for s in m["shards"]] == [3, 4, 5, 6]
    for s in m["shards"]:
        assert os.path.exists(os.path.join(os.path.dirname(manifest), s["file"]))


def test_exhaustive_answers_equal_brute_force(manifest, data):
    index = ShardedIndex(manifest)
    queries = np.random.default_rng(12).standard_normal((8, F)).astype(np.float32)
    for q in queries:
        assert index.get_nns_by_vector(q, 10, search_k=30000 * 5 * 2) == brute_force("euclidean", data, q, 10)
    assert index.get_nns_by_item(65432, 1) == [65432]
    np.testing.assert_array_equal(np.array(index.get_item_vector(65432), dtype=np.float32), data[65432])


def test_cluster_search_equals_local_and_maps_shards_once(client, manifest):
    queries = np.random.default_rng(13).standard_normal((2500, F)).astype(np.float32)
    local_ids, local_d = ShardedIndex(manifest).get_nns_by_vectors(queries, 10)
    for _ in range(2):
        ids, d = grove.dask.search(client, manifest, queries, 10, batch_size=500)
        np.testing.assert_array_equal(ids, local_ids)
        np.testing.assert_array_equal(d, local_d)
    loads = client.run(lambda: __import__("grove.dask").dask.loads)
    assert all(n <= 1 for n in loads.values()), loads  # each worker mapped the shards once


def test_cluster_search_takes_a_filter_of_global_ids(client, manifest):
    queries = np.random.default_rng(14).standard_normal((300, F)).astype(np.float32)
    allowed = np.random.default_rng(15).random(N) < 0.01
    local_ids, local_d = ShardedIndex(manifest).get_nns_by_vectors(queries, 10, filter=allowed)
    assert allowed[local_ids].all()
    for form in (allowed, set(np.flatnonzero(allowed).tolist())):
        ids, d = grove.dask.search(client, manifest, queries, 10, batch_size=100, filter=form)
        np.testing.assert_array_equal(ids, local_ids)
        np.testing.assert_array_equal(d, local_d)


def _die_once(block, marker):
    # Kills the worker that computes this block, the first time only (the marker file says so).
    # (Empty blocks are dask inferring metadata in the client: leave those alone.)
    if block.size and os.path.exists(marker):
        os.remove(marker)
        os._exit(1)
    return block


def test_a_worker_killed_during_the_build_is_survived(client, data, tmp_path):
    marker = tmp_path / "kill-once"
    marker.write_text("x")
    lazy = da.from_array(data, chunks=(N // 4, F)).map_blocks(_die_once, str(marker), dtype=np.float32, meta=np.empty((0, 0), np.float32))
    path = grove.dask.build_sharded(client, lazy, "euclidean", n_shards=4, n_trees=3, out_dir=str(tmp_path / "out"))
    assert not marker.exists()  # a worker did die
    index = ShardedIndex(path)
    q = data[777] + 0.01
    assert index.get_nns_by_vector(q, 5, search_k=30000 * 3 * 2) == brute_force("euclidean", data, q, 5)


def _always_die(block):
    if block.size:
        os._exit(1)
    return block


def test_a_build_that_keeps_failing_leaves_no_manifest(data, tmp_path):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        lazy = da.from_array(data[:1000], chunks=(250, F)).map_blocks(_always_die, dtype=np.float32, meta=np.empty((0, 0), np.float32))
        with pytest.raises(distributed.scheduler.KilledWorker):
            grove.dask.build_sharded(c, lazy, "euclidean", n_shards=4, n_trees=3, out_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "index.json").exists()
