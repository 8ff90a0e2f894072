"""Scale-out benchmark (npm run bench:dask; not a test): a sharded index of 1,000,000 x 128
synthetic vectors built on a Dask LocalCluster of 1 and of 2 worker processes (one thread
each), and scatter-gather query throughput on each. Runs alternate (1, 2, 1, 2, ...) and the
median of each is kept. Writes docs/benchmarks-dask.json and the "Scaling out on Dask"
section of docs/benchmarks.md (between its dask markers; bench/run.mjs keeps that section).

  --quick   100,000 vectors, one round
"""
import json
import os
import pathlib
import platform
import shutil
import statistics
import sys
import tempfile
import time

import dask
import dask.array as da
import distributed
import numpy as np

import grove
import grove.dask

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUICK = "--quick" in sys.argv
N = 100_000 if QUICK else 1_000_000
F, SHARDS, TREES, QUERIES, ROUNDS = 128, 4, 10, 10_000, 1 if QUICK else 3


def one_run(workers, out_dir):
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=50) as cluster, distributed.Client(cluster) as client:
        # The data is made on the workers (as a dask array would be read there), so the build
        # time is not the client shipping 512 MB.
        data = da.random.RandomState(1).standard_normal((N, F), chunks=(N // SHARDS, F)).astype(np.float32)
        data = client.persist(data)
        distributed.wait(data)
        started = time.perf_counter()
        manifest = grove.dask.build_sharded(client, data, "euclidean", SHARDS, TREES, out_dir, seed=1)
        build_s = time.perf_counter() - started
        queries = np.random.default_rng(2).standard_normal((QUERIES, F)).astype(np.float32)
        grove.dask.search(client, manifest, queries[:100], 10)  # every worker maps the shards once
        started = time.perf_counter()
        grove.dask.search(client, manifest, queries, 10, batch_size=500)
        search_qps = QUERIES / (time.perf_counter() - started)
    return build_s, search_qps, manifest


def main():
    runs = {1: {"build_s": [], "qps": []}, 2: {"build_s": [], "qps": []}}
    work = tempfile.mkdtemp(prefix="grove-dask-bench-")
    try:
        for r in range(ROUNDS):
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                build_s, qps, manifest = one_run(workers, os.path.join(work, f"{workers}-{r}"))
                runs[workers]["build_s"].append(build_s)
                runs[workers]["qps"].append(qps)
                print(f"round {r + 1}: {workers} worker(s): build {build_s:.1f} s, {qps:.0f} queries/s", flush=True)
        local = grove.ShardedIndex(manifest)
        queries = np.random.default_rng(2).standard_normal((2000, F)).astype(np.float32)
        started = time.perf_counter()
        local.get_nns_by_vectors(queries, 10)
        local_qps = 2000 / (time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {w: {k: statistics.median(v) for k, v in r.items()} for w, r in runs.items()}
    report = {
        "n": N, "f": F, "shards": SHARDS, "trees": TREES, "queries": QUERIES, "rounds": ROUNDS, "runs": runs,
        "median": med, "local_sharded_qps": local_qps,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "dask": dask.__version__,
                    "distributed": distributed.__version__, "date": time.strftime("%Y-%m-%d")},
    }
    b1, b2 = med[1]["build_s"], med[2]["build_s"]
    q1, q2 = med[1]["qps"], med[2]["qps"]
    section = f"""<!-- dask:begin (written by npm run bench:dask) -->
## Scaling out on Dask

`npm run bench:dask`: a sharded index of {N:,} synthetic vectors (128 dimensions, Gaussian;
{SHARDS} shards of {TREES} trees) built with `grove.dask.build_sharded` on a Dask LocalCluster of 1
and of 2 worker processes (one thread each), then {QUERIES:,} queries (k = 10, default search_k)
through `grove.dask.search` in batches of 500. Runs alternate (1, 2, 1, 2, ...); medians of
{ROUNDS}. Machine: {os.cpu_count()} cores; Python {platform.python_version()}, Dask
{dask.__version__}, {report['machine']['date']}.

| workers | build (s) | queries/s (scatter-gather) |
| --- | --- | --- |
| 1 | {b1:.1f} | {q1:,.0f} |
| 2 | {b2:.1f} | {q2:,.0f} |

2 workers build {b1 / b2:.2f}x as fast as 1 and answer {q2 / q1:.2f}x the queries per second (this
machine has {os.cpu_count()} cores, so 2 workers use all of them). For scale, the same index
searched in the client process on one thread (`ShardedIndex.get_nns_by_vectors`, no Dask):
{local_qps:,.0f} queries/s.
<!-- dask:end -->
"""
    if not QUICK:
        (ROOT / "docs" / "benchmarks-dask.json").write_text(json.dumps(report, indent=1) + "\n")
        md = ROOT / "docs" / "benchmarks.md"
        text = md.read_text()
        if "<!-- dask:begin" in text:
            text = text[:text.index("<!-- dask:begin")] + section + text[text.index("<!-- dask:end -->") + len("<!-- dask:end -->\n"):]
        else:
            text = text.rstrip("\n") + "\n\n" + section
        md.write_text(text)
        print("wrote docs/benchmarks-dask.json and the Dask section of docs/benchmarks.md")
    print(section)


if __name__ == "__main__":
    main()
