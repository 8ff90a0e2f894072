"""Compact scoring from Python: the same answers on or off, and the companion file."""
import os

import numpy as np
import pytest

from grove import AnnoyIndex

FLOAT_METRICS = ["angular", "euclidean", "manhattan", "dot"]


def built(metric, items, compact=True):
    index = AnnoyIndex(items.shape[1], metric)
    index.set_compact_scoring(compact)
    for i, v in enumerate(items):
        index.add_item(i, v)
    index.build(6)
    return index


@pytest.mark.parametrize("metric", FLOAT_METRICS)
def test_answers_are_the_same_on_and_off(metric, rng):
    items = rng.standard_normal((600, 24)).astype(np.float32)
    on, off = built(metric, items), built(metric, items, compact=False)
    assert on.get_compact_scoring() is True and off.get_compact_scoring() is False
    for q in rng.standard_normal((30, 24)).astype(np.float32):
        for n, k in [(1, -1), (10, 300), (50, 100000)]:
            assert on.get_nns_by_vector(q, n, k, include_distances=True) == off.get_nns_by_vector(q, n, k, include_distances=True)


def test_save_writes_the_companion_and_load_reads_it(tmp_path, rng):
    items = rng.standard_normal((400, 12)).astype(np.float32)
    index = built("euclidean", items)
    path = str(tmp_path / "i.ann")
    index.save(path)
    assert os.path.exists(path + ".sq8")
    with open(path + ".sq8", "rb") as f:
        assert f.read() == index.serialize_companion()
    loaded = AnnoyIndex(12, "euclidean")
    loaded.load(path)
    assert loaded.get_nns_by_item(3, 10) == index.get_nns_by_item(3, 10)
    # bytes travel with their companion too
    copy = AnnoyIndex(12, "euclidean")
    copy.deserialize(index.serialize(), index.serialize_companion())
    assert copy.get_nns_by_item(3, 10) == index.get_nns_by_item(3, 10)
    assert copy.deserialize_companion(b"not a companion") is False
