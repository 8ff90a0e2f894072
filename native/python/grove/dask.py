"""Sharded Grove indexes on a Dask cluster (Debian's python3-distributed).

A sharded index stays files: one ordinary Annoy-format file per shard and a JSON manifest
beside them (see ``grove.ShardedIndex``), on storage every worker can read. ``build_sharded``
builds one shard per task on the workers and writes the manifest only once every shard is
saved; ``search`` sends query batches to the workers, each of which maps the shards once and
keeps them, and merges the answers exactly.
"""
import json
import os
import time

import numpy as np

from . import AnnoyIndex, ShardedIndex, save_manifest

# Sharded indexes opened in this worker process, by manifest path: a worker maps each shard
# once and answers every later batch from the same mapping.
_opened = {}
loads = 0  # how many times this process opened a sharded index (for tests and monitoring)


def _bounds(n_rows, n_shards):
    """Contiguous global id ranges [start, stop), as even as possible."""
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    if n_rows < n_shards:
        raise ValueError(f"cannot make {n_shards} shards of {n_rows} rows")
    edges = np.linspace(0, n_rows, n_shards + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _build_shard(rows, metric, n_trees, seed, path, first_id):
    """One task: build a shard from its rows and save it (atomically: temp file + rename, so a
    rerun after a lost worker simply replaces it)."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    index = AnnoyIndex(rows.shape[1], metric)
    index.set_seed(seed)
    for i, row in enumerate(rows):
        index.add_item(i, row)
    index.build(n_trees, 1)
    index.save(path)
    return {"file": os.path.basename(path), "items": int(rows.shape[0]), "first_id": int(first_id),
            "n_trees": int(index.get_n_trees()), "seed": int(seed)}


def build_sharded(client, data, metric, n_shards, n_trees, out_dir, seed=1, name="index"):
    """Builds a sharded index of ``data`` (a numpy or dask array; row i is global id i) with one
    shard per Dask task, and returns the manifest's path, ``out_dir/<name>.json``.

    Shard s holds a contiguous range of rows and is built with seed ``seed + s``. The manifest
    is written (atomically) only after every shard has been saved: if a task fails for good,
    this raises and leaves no manifest. Dask reruns tasks whose worker died; a rerun
    overwrites its shard atomically.
    """
    if getattr(data, "ndim", None) != 2:
        raise ValueError("data must be a 2-D array (rows are items)")
    n_rows, f = (int(x) for x in data.shape)
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    manifest_path = os.path.join(out_dir, f"{name}.json")
    is_dask = hasattr(data, "dask")
    tag = f"{name}-{time.time_ns()}"
    futures = []
    for s, (start, stop) in enumerate(_bounds(n_rows, n_shards)):
        part = data[start:stop]
        rows = client.compute(part) if is_dask else client.scatter(np.asarray(part), hash=False)
        path = os.path.join(out_dir, f"{name}-shard-{s}.ann")
        futures.append(client.submit(_build_shard, rows, metric, n_trees, seed + s, path, start,
                                     key=f"grove-build-{tag}-{s}", pure=False))
    shards = client.gather(futures)  # raises if any shard failed for good: no manifest then
    manifest = {"format": "grove-sharded", "version": 1, "f": f, "metric": metric,
                "total_items": n_rows, "shards": shards}
    save_manifest(manifest_path, json.dumps(manifest))
    return manifest_path


def _open(manifest):
    global loads
    key = (manifest, os.stat(manifest).st_mtime_ns)
    index = _opened.get(key)
    if index is None:
        index = ShardedIndex(manifest)
        _opened.clear()  # a rewritten manifest replaces the old mapping
        _opened[key] = index
        loads += 1
    return index


def _search_batch(queries, manifest, n, search_k, filter):
    return _open(manifest).get_nns_by_vectors(queries, n, search_k, filter=filter)


def search(client, manifest, queries, n, search_k=-1, batch_size=1000, filter=None):
    """Searches a sharded index on the cluster: query batches go to the workers, each worker
    maps the shards once (and keeps them for later calls), and the answers, merged exactly by
    (distance, id) over all shards, come back as ``(ids, distances)`` arrays of shape
    ``(len(queries), n)``, padded with -1 and nan where fewer than n items exist. ``filter``
    (global ids, as ``ShardedIndex.get_nns_by_vectors`` takes it) is sent to every worker
    once: a numpy bool array, ids (sent as one int array) or a callable Dask can pickle."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim != 2:
        raise ValueError("queries must be a 2-D array")
    manifest = os.path.abspath(manifest)
    batches = [queries[i:i + batch_size] for i in range(0, len(queries), batch_size)]
    if filter is not None and not isinstance(filter, np.ndarray) and not callable(filter):
        filter = np.fromiter(filter, dtype=np.int64)  # ids: one compact array to ship
    shipped = client.scatter(filter, broadcast=True) if filter is not None else None
    futures = [client.submit(_search_batch, client.scatter(b, hash=False), manifest, n, search_k, shipped, pure=False)
               for b in batches]
    parts = client.gather(futures)
    if not parts:
        return np.empty((0, n), np.int32), np.empty((0, n), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
