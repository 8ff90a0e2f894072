"""Graph search from Python: on by default, so build() grows the graph; it travels in the
companion (bytes, files and pickles), and switched off the answers are the trees'."""
import pickle

import numpy as np
import pytest

from grove import AnnoyIndex


def clustered(rng, n, f=16):
    centres = 3 * rng.standard_normal((30, f))
    return (centres[rng.integers(0, 30, n)] + 0.3 * rng.standard_normal((n, f))).astype(np.float32)


def built(metric, items, graph):
    index = AnnoyIndex(items.shape[1], metric)
    index.set_graph_search(graph)
    for i, v in enumerate(items):
        index.add_item(i, v)
    index.build(6)
    return index


def test_on_by_default():
    assert AnnoyIndex(8, "angular").get_graph_search() is True
    assert AnnoyIndex(8, "euclidean").get_graph_search() is True


@pytest.mark.parametrize("metric", ["angular", "euclidean"])
def test_graph_answers_travel_and_switch_off(metric, rng, tmp_path):
    items = clustered(rng, 2100)
    data, queries = items[:2000], items[2000:]
    graph, trees = built(metric, data, True), built(metric, data, False)
    assert graph.get_graph_search() is True and trees.get_graph_search() is False
    assert graph.companion_size() > trees.companion_size()  # the graph section
    answers = [graph.get_nns_by_vector(q, 10, 200, include_distances=True) for q in queries]
    for ids, distances in answers:
        assert len(ids) == 10 and len(set(ids)) == 10 and distances == sorted(distances)

    copy = AnnoyIndex(16, metric)
    copy.set_graph_search(True)
    copy.deserialize(graph.serialize(), graph.serialize_companion())
    path = str(tmp_path / "graph.ann")
    graph.save(path)
    mapped = AnnoyIndex(16, metric)
    mapped.set_graph_search(True)
    mapped.load(path)
    unpickled = pickle.loads(pickle.dumps(graph))
    for q, want in zip(queries, answers):
        assert copy.get_nns_by_vector(q, 10, 200, include_distances=True) == want
        assert mapped.get_nns_by_vector(q, 10, 200, include_distances=True) == want
        assert unpickled.get_nns_by_vector(q, 10, 200, include_distances=True) == want

    mapped.set_graph_search(False)
    for q in queries:
        assert mapped.get_nns_by_vector(q, 10, 200, include_distances=True) == trees.get_nns_by_vector(q, 10, 200, include_distances=True)


def test_an_annoy_file_gets_a_graph_after_loading(tmp_path, annoy_data=None):
    import shutil
    from pathlib import Path

    data = Path(__file__).resolve().parents[3] / "tests" / "data" / "annoy"
    path = str(tmp_path / "annoy.ann")
    shutil.copyfile(data / "angular.ann", path)
    items = np.fromfile(data / "angular.items.f32", dtype=np.float32).reshape(-1, 16)
    index = AnnoyIndex(16, "angular")
    index.load(path)
    assert index.build_graph() is True and index.get_graph_search() is True
    index.save(path)  # its own path: just the companion
    assert open(path, "rb").read() == open(data / "angular.ann", "rb").read()
    again = AnnoyIndex(16, "angular")
    again.set_graph_search(True)
    again.load(path)
    for q in items[:50:7]:
        assert again.get_nns_by_vector(q, 10, 120, include_distances=True) == index.get_nns_by_vector(q, 10, 120, include_distances=True)
    small = AnnoyIndex(16, "angular")
    for i, v in enumerate(items[:100]):
        small.add_item(i, v)
    small.build(2)
    assert small.build_graph() is False  # too few items to need one
    with pytest.raises(Exception):
        AnnoyIndex(16, "angular").build_graph()
