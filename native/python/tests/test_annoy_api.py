"""Annoy's Python API, method for method and default for default, for every metric."""
import os
import pickle
import signal
import stat
import threading
import time

import numpy as np
import pytest

from grove import AnnoyIndex
from conftest import brute_force

METRICS = ["angular", "euclidean", "manhattan", "dot", "hamming"]


def items_for(metric, rng, n=500, f=16):
    if metric == "hamming":
        return rng.integers(0, 2, size=(n, 64)).astype(np.float32)
    return rng.standard_normal((n, f)).astype(np.float32)


def built(metric, items, trees=10):
    index = AnnoyIndex(items.shape[1], metric)
    for i, v in enumerate(items):
        index.add_item(i, v)
    assert index.build(trees) is True
    return index


@pytest.mark.parametrize("metric", METRICS)
def test_exhaustive_search_is_exact(metric, rng):
    items = items_for(metric, rng)
    index = built(metric, items)
    for q in items_for(metric, rng, n=10):
        got = index.get_nns_by_vector(q, 10, search_k=len(items) * 10 * 2)
        want = brute_force(metric, items, q, 10)
        if metric == "hamming":  # integer distances tie often: compare the distances
            assert [int((items[i] != q).sum()) for i in got] == [int((items[i] != q).sum()) for i in want]
        else:
            assert got == want


@pytest.mark.parametrize("metric", METRICS)
def test_item_queries_distances_and_accessors(metric, rng):
    items = items_for(metric, rng)
    index = built(metric, items)
    ids, distances = index.get_nns_by_item(3, 5, include_distances=True)
    assert len(ids) == len(distances) == 5
    if metric != "dot":
        assert ids[0] == 3 and distances[0] == pytest.approx(0, abs=1e-5)
    assert distances == sorted(distances, reverse=(metric == "dot"))
    assert index.get_nns_by_item(3, 5) == ids  # defaults: search_k=-1, include_distances=False
    assert index.get_distance(3, ids[1]) == pytest.approx(distances[1], rel=1e-4, abs=1e-4)
    np.testing.assert_array_equal(np.array(index.get_item_vector(7), dtype=np.float32), items[7])
    assert index.get_n_items() == len(items) and index.get_n_trees() == 10 and index.f == items.shape[1]


@pytest.mark.parametrize("metric", METRICS)
def test_pickle_round_trip_gives_the_same_answers(metric, rng):
    items = items_for(metric, rng)
    index = built(metric, items)
    copy = pickle.loads(pickle.dumps(index))
    for i in (0, 10, 499):
        assert copy.get_nns_by_item(i, 10, include_distances=True) == index.get_nns_by_item(i, 10, include_distances=True)
    assert copy.f == index.f and copy.get_n_trees() == index.get_n_trees()


@pytest.mark.parametrize("metric", METRICS)
def test_save_load_unload_return_true_and_files_are_annoys(metric, rng, tmp_path):
    items = items_for(metric, rng)
    index = built(metric, items)
    path = str(tmp_path / "i.ann")
    assert index.save(path) is True
    other = AnnoyIndex(items.shape[1], metric)
    assert other.load(path) is True
    assert other.get_nns_by_item(1, 5) == index.get_nns_by_item(1, 5)
    assert open(path, "rb").read() == index.serialize()
    assert other.unload() is True and other.get_n_items() == 0
    assert other.verbose(False) is True


def test_numpy_lists_and_batches(rng):
    items = rng.standard_normal((300, 8))
    index = AnnoyIndex(8, "euclidean")
    for i, v in enumerate(items):
        index.add_item(i, v if i % 3 == 0 else (v.astype(np.float32) if i % 3 == 1 else list(map(float, v))))
    index.build(5)
    queries = rng.standard_normal((25, 8))
    ids, distances = index.get_nns_by_vectors(queries, 4)
    assert ids.shape == (25, 4) and ids.dtype == np.int32 and distances.dtype == np.float32
    for q in range(25):
        assert list(ids[q]) == index.get_nns_by_vector(queries[q], 4)
    ids, distances = index.get_nns_by_vectors(queries[:2], 400, search_k=100000)  # more than there are
    assert (ids[:, 300:] == -1).all() and np.isnan(distances[:, 300:]).all()


def test_errors_are_what_python_users_expect(tmp_path):
    index = AnnoyIndex(3, "angular")
    with pytest.raises(TypeError, match="must be real number, not str"):
        index.add_item(0, ["1", "2", "3"])
    with pytest.raises(TypeError):
        index.add_item(0, "abc")
    with pytest.raises(IndexError, match=r"wrong length \(expected 3, got 2\)"):  # as Annoy
        index.add_item(0, [1, 2])
    with pytest.raises(ValueError, match="non-finite"):
        index.add_item(0, [1, float("nan"), 3])
    with pytest.raises(IndexError, match="negative"):
        index.add_item(-1, [1, 2, 3])
    with pytest.raises(ValueError, match="unknown metric"):
        AnnoyIndex(3, "cosinus")
    with pytest.raises(RuntimeError, match="build"):
        index.get_nns_by_item(0, 1)
    index.add_item(0, [1, 2, 3])
    index.build(2)
    with pytest.raises(IndexError, match="out of range"):
        index.get_nns_by_item(5, 1)
    index.add_item(1, [1, 2, 3])  # after build: into the trees (test_changes.py)
    with pytest.raises(FileNotFoundError, match="No such file") as missing:  # OSError with errno, as Annoy's
        AnnoyIndex(3, "angular").load(str(tmp_path / "missing.ann"))
    assert missing.value.errno == 2
    index.save(str(tmp_path / "x.ann"))
    with pytest.raises(OSError, match="not a multiple"):
        AnnoyIndex(4, "angular").load(str(tmp_path / "x.ann"))
    with pytest.warns(FutureWarning):
        AnnoyIndex(3)
    with pytest.raises(RuntimeError, match="no trees"):
        pickle.dumps(AnnoyIndex(3, "angular"))


def test_on_disk_build_then_read_only(tmp_path):
    path = str(tmp_path / "disk.ann")
    index = AnnoyIndex(4, "euclidean")
    assert index.on_disk_build(path) is True
    for i in range(100):
        index.add_item(i, [i, 0, 0, 1])
    index.build(3)
    with pytest.raises(RuntimeError):
        index.unbuild()
    other = AnnoyIndex(4, "euclidean")
    other.load(path)
    assert other.get_nns_by_vector([50.2, 0, 0, 1], 1) == [50]


def test_concurrent_queries_from_threads_agree(rng):
    # Queries release the GIL; answers from four threads at once equal single-threaded ones.
    items = rng.standard_normal((2000, 32)).astype(np.float32)
    index = built("euclidean", items, trees=5)
    results = {}

    def work(t):
        results[t] = [index.get_nns_by_item(i, 10) for i in range(t, 2000, 4)]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        assert results[t] == [index.get_nns_by_item(i, 10) for i in range(t, 2000, 4)]


def test_annoy_parity_where_annoys_tests_pin_it(tmp_path):
    empty = AnnoyIndex(4, "angular")  # no items: builds, saves, loads, answers nothing
    assert empty.build(10) is True
    empty.save(str(tmp_path / "empty.ann"))
    empty = AnnoyIndex(4, "angular")
    empty.load(str(tmp_path / "empty.ann"))
    assert empty.get_n_items() == 0
    assert empty.get_nns_by_vector([1, 2, 3, 4], 50) == []
    index = AnnoyIndex(4, "euclidean")
    with pytest.raises(OSError):  # save('') before build: OSError, as Annoy
        index.save("")
    for i in range(50):
        index.add_item(i, [i, 1, 2, 3])
    index.build(3)
    with pytest.raises(IndexError, match="wrong length"):
        index.get_nns_by_vector([1, 2], 3)
    assert index.get_nns_by_vector([1, 2, 3, 4], 0) == []  # n = 0 and search_k = 0: no results
    assert index.get_nns_by_item(3, 0, include_distances=True) == ([], [])
    assert index.get_nns_by_vector([1, 2, 3, 4], 5, search_k=0) == []
    with pytest.raises(IndexError, match="out of range"):
        index.get_nns_by_item(50, 0)  # the id is still checked
    for call in (lambda: index.get_nns_by_item(2**31, 1), lambda: index.get_item_vector(2**40),
                 lambda: index.get_distance(0, -2**31 - 1)):
        with pytest.raises(IndexError, match="32 bits"):
            call()
    with pytest.raises(IndexError, match="32 bits"):
        AnnoyIndex(4, "euclidean").add_item(2**31, [1, 2, 3, 4])


def test_vector_type_errors_are_annoys_own_words():
    # Annoy reads a vector through len() and v[i]: Python's own TypeErrors name the type.
    class NoLen:
        pass

    class NoGetItem:
        def __len__(self):
            return 3

    class Short:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            raise IndexError

    index = AnnoyIndex(3, "euclidean")
    for vector, words in ((NoLen(), "object of type 'NoLen' has no len()"),
                          (NoGetItem(), "'NoGetItem' object is not subscriptable"),
                          (["1", "2", "3"], "must be real number, not str")):
        with pytest.raises(TypeError) as error:
            index.add_item(1, vector)
        assert str(error.value) == words
    with pytest.raises(IndexError):
        index.add_item(1, Short())
    with pytest.raises(IndexError, match=r"expected 3, got 0"):
        index.add_item(2, [])
    index.add_item(3, range(3))  # any object with len() and real-number items, as in Annoy
    index.add_item(4, np.array([1, 2, 3], dtype=np.int16))
    assert index.get_item_vector(3) == [0, 1, 2]
    assert index.get_n_items() == 5


def test_save_and_load_failures_are_oserrors_and_replace_nothing(tmp_path):
    # Annoy raises IOError (OSError) for every failed save and load, an unbuilt index included.
    index = AnnoyIndex(3, "euclidean")
    index.add_item(0, [1, 2, 3])
    with pytest.raises(OSError, match="not been built"):
        index.save(str(tmp_path / "unbuilt.ann"))
    index.build(2)
    with pytest.raises(OSError, match="No space left on device"):  # Annoy's test_write_failed
        index.save("/dev/full")
    assert os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert not os.path.exists("/dev/full.sq8")
    with pytest.raises(IsADirectoryError):
        index.save(str(tmp_path))
    with pytest.raises(OSError, match="not a multiple"):
        AnnoyIndex(3, "euclidean").load(__file__)
    assert index.get_nns_by_vector([1, 2, 3], 1) == [0]  # still built


@pytest.mark.parametrize("annoy_order", [False, True])
def test_ctrl_c_stops_a_build_within_a_second_and_leaves_it_unbuilt(annoy_order):
    index = AnnoyIndex(32, "euclidean")
    index.set_annoy_float_order(annoy_order)
    items = np.random.default_rng(0).standard_normal((30000, 32)).astype(np.float32)
    for i, v in enumerate(items):
        index.add_item(i, v)
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.5, interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        index.build(400, n_jobs=2)  # about 12 s of work here, were it not stopped
    waited = time.monotonic() - sent[0]
    assert waited < 1.0, f"the build stopped {waited:.2f} s after Ctrl-C"
    assert index.get_n_trees() == 0
    with pytest.raises(RuntimeError, match="build"):
        index.get_nns_by_item(0, 1)
    assert index.build(2) is True  # the items are all there
    assert index.get_n_items() == 30000 and index.get_nns_by_item(7, 1) == [7]


def test_error_messages_keep_bytes_that_are_not_utf8(tmp_path):
    from grove import ShardedIndex
    manifest = tmp_path / "bom.json"
    manifest.write_bytes(b"\xef\xbb\xbf{}")
    with pytest.raises(OSError) as error:
        ShardedIndex(str(manifest))
    assert "UTF-8 byte order mark" in str(error.value)


def test_queries_on_threads_while_another_loads_and_unloads(tmp_path):
    # Annoy (and Grove before it) freed the mapping under queries still reading it.
    rng = np.random.default_rng(3)
    items = rng.normal(size=(2000, 16)).astype(np.float32)
    paths = []
    for k in range(2):
        built = AnnoyIndex(16, "angular")
        for i, v in enumerate(items * (k + 1) + k):
            built.add_item(i, v)
        built.build(5)
        paths.append(str(tmp_path / f"{k}.ann"))
        built.save(paths[-1])
    answers = []
    for p in paths:
        one = AnnoyIndex(16, "angular")
        one.load(p)
        answers.append([one.get_nns_by_vector(items[q], 10, search_k=2000) for q in range(20)])
    index = AnnoyIndex(16, "angular")
    index.load(paths[0])
    stop, wrong = threading.Event(), []

    def query():
        q = 0
        while not stop.is_set():
            try:
                ids = index.get_nns_by_vector(items[q], 10, search_k=2000)
                if ids != answers[0][q] and ids != answers[1][q]:
                    wrong.append(ids)
            except RuntimeError:  # between unload() and load(): the index is empty
                pass
            q = (q + 1) % 20

    threads = [threading.Thread(target=query) for _ in range(3)]
    for t in threads:
        t.start()
    for round in range(100):
        index.unload()
        index.load(paths[round % 2])
    stop.set()
    for t in threads:
        t.join()
    assert wrong == []


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("n", [1, 10])
def test_annoys_precision_test_with_defaults(metric, n):
    # Annoy's test_precision_1/_10: point j on a random ray at distance j from the origin
    # (f = 10, 10 trees), the origin as the query, default search_k: precision >= 0.98.
    rng = np.random.default_rng(5)
    found = 0
    for round in range(3):
        index = AnnoyIndex(10, metric)
        for j in range(10000):
            p = rng.normal(size=10)
            p *= j / (np.abs(p).sum() if metric == "manhattan" else np.linalg.norm(p))
            index.add_item(j, p)
        index.build(10)
        found += sum(1 for i in index.get_nns_by_vector([0] * 10, n) if i < n)
    assert found / (3 * n) >= 0.98


def test_every_method_is_documented():
    # help(AnnoyIndex) shows what each method does, as Annoy's does, not only its signature.
    from grove import ShardedIndex
    for cls in (AnnoyIndex, ShardedIndex):
        for name in dir(cls):
            method = getattr(cls, name)
            if name.startswith("_") or not callable(method):
                continue
            text = (method.__doc__ or "").split("\n")
            described = [line for line in text[1:] if line.strip()]  # pybind's first line is the signature
            assert described, f"{cls.__name__}.{name} has no docstring"


def test_a_call_waiting_for_a_build_lets_other_python_threads_run():
    # get_n_items() during a build on another thread waits for the index, with the GIL
    # released: a third thread keeps running meanwhile (it used to stall with the GIL held).
    index = AnnoyIndex(32, "euclidean")
    for i, v in enumerate(np.random.default_rng(1).standard_normal((20000, 32)).astype(np.float32)):
        index.add_item(i, v)
    building = threading.Thread(target=index.build, args=(150, 1))
    building.start()
    time.sleep(0.2)  # the build holds the index now
    ticks, stop = [0], threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    before = ticks[0]
    assert index.get_n_items() == 20000  # waits for the build
    during = ticks[0] - before
    stop.set()
    counter.join()
    building.join()
    assert index.get_n_trees() == 150
    assert during > 1000, f"the other thread ran {during} steps while get_n_items() waited"
