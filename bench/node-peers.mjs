// The Node side of the benchmark: Grove's wasm build, hnswlib-wasm, EdgeVec (euclidean), and
// a JS exact scan. The wasm systems are measured interleaved: each round sweeps one system's
// parameters, then the other's (the order alternates between rounds), and every point keeps
// the median q/s of its rounds, so machine noise hits both alike.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AnnoyIndex } from '../js/node.mjs';

function readNpy(path) {
  const b = readFileSync(path);
  const header = 10 + b.readUInt16LE(8);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(b.toString('latin1', 10, header));
  return { rows: Number(shape[1]), cols: Number(shape[2]), values: new Float32Array(b.buffer.slice(b.byteOffset + header, b.byteOffset + b.byteLength)) };
}

function recall10(ids, truth, q) {
  let hit = 0;
  for (let i = 0; i < 10; i++) if (ids.includes(truth[q * 100 + i])) hit++;
  return hit / 10;
}

// One timed pass over the queries: q/s.
function pass(queries, nq, search) {
  const t = performance.now();
  for (let q = 0; q < nq; q++) search(queries.values.subarray(q * queries.cols, (q + 1) * queries.cols));
  return nq / ((performance.now() - t) / 1000);
}

function recallOf(queries, nq, truth, search) {
  let recall = 0;
  for (let q = 0; q < nq; q++) recall += recall10(search(queries.values.subarray(q * queries.cols, (q + 1) * queries.cols)), truth, q);
  return recall / nq;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Sweeps: [{ points: [{ param, search }] }, ...], one per system. Recall from a warm-up pass;
// then `rounds` rounds, each sweeping every system in turn (the order reversed every other
// round). Returns, per sweep, [{ param, qps (median), recall, qps_runs }].
function interleaved(sweeps, queries, nq, truth, rounds) {
  const runs = sweeps.map((s) => s.points.map(() => []));
  const recalls = sweeps.map((s) => s.points.map((p) => {
    p.prepare?.();
    return recallOf(queries, nq, truth, p.search);
  }));
  for (let r = 0; r < rounds; r++) {
    const order = sweeps.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      sweeps[i].points.forEach((p, j) => {
        p.prepare?.();
        runs[i][j].push(pass(queries, nq, p.search));
      });
    }
  }
  return sweeps.map((s, i) => s.points.map((p, j) => ({ param: p.param, qps: median(runs[i][j]), recall: recalls[i][j], qps_runs: runs[i][j] })));
}

// Faster of two passes over the queries; recall from the first.
function measure(param, queries, nq, truth, search) {
  let best = Infinity;
  let recall = 0;
  for (let pass = 0; pass < 2; pass++) {
    const t = performance.now();
    for (let q = 0; q < nq; q++) {
      const ids = search(queries.values.subarray(q * queries.cols, (q + 1) * queries.cols));
      if (pass === 0) recall += recall10(ids, truth, q);
    }
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { param, qps: nq / best, recall: recall / nq };
}

function bestOf(n, fn) {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

export async function nodePeers({ metric, train, test, truth: truthPath, nQueries, trees, searchK, ef, edgevecEf = [], groveFile, rounds = 3, graph = false }) {
  const data = readNpy(train);
  const queries = readNpy(test);
  const truthBytes = readFileSync(truthPath);
  const truth = new Int32Array(truthBytes.buffer.slice(truthBytes.byteOffset, truthBytes.byteOffset + truthBytes.byteLength));
  const out = [];

  // Grove wasm: the same index file (and compact companion) the native run wrote, loaded
  // from ArrayBuffers as a browser would.
  const fileBytes = new Uint8Array(readFileSync(groveFile));
  const companionBytes = new Uint8Array(readFileSync(`${groveFile}.sq8`));
  const copy_s = bestOf(5, () => new Uint8Array(fileBytes.length).set(fileBytes));
  let index = null;
  const load_s = bestOf(5, () => {
    index?.dispose();
    index = new AnnoyIndex(data.cols, metric);
    index.load(fileBytes, companionBytes);
  });
  const build = (n) => {
    const fresh = new AnnoyIndex(data.cols, metric);
    fresh.setGraphSearch(graph);  // as groveFile was built: trees alone, or with the graph
    for (let i = 0; i < data.rows; i++) fresh.addItem(i, data.values.subarray(i * data.cols, (i + 1) * data.cols));
    const t = performance.now();
    fresh.build(n);
    const s = (performance.now() - t) / 1000;
    fresh.dispose();
    return s;
  };
  const buildS = build(trees);
  const hnsw = await hnswlibWasm(metric, data, ef);
  const edge = edgevecEf.length ? await edgeVec(metric, data, edgevecEf) : null;
  const [grovePoints, hnswPoints, edgePoints] = interleaved([
    { points: searchK.map((k) => ({ param: k, search: (v) => index.getNnsByVector(v, 10, k) })) },
    { points: hnsw.points },
    ...(edge ? [{ points: edge.points }] : []),
  ], queries, nQueries, truth, rounds);
  out.push({
    system: 'grove-wasm', metric, trees, graph, build_1_thread_s: buildS, build_all_threads_s: buildS, index_bytes: fileBytes.length,
    companion_bytes: companionBytes.length, load_s, copy_s, param: 'search_k', interleaved: true, rounds, points: grovePoints,
  });
  index.dispose();
  out.push({ ...hnsw.result, interleaved: true, rounds, points: hnswPoints });
  if (edge) out.push({ ...edge.result, interleaved: true, rounds, points: edgePoints });

  // The floor: an exact scan in plain JS (a few queries; recall 1 by construction).
  const nScan = Math.min(20, nQueries);
  const norms = new Float32Array(data.rows);
  for (let i = 0; i < data.rows; i++) {
    let n = 0;
    for (let c = 0; c < data.cols; c++) n += data.values[i * data.cols + c] ** 2;
    norms[i] = Math.sqrt(n);
  }
  const scan = (v) => {
    const d = new Float64Array(data.rows);
    let qn = 0;
    for (let c = 0; c < data.cols; c++) qn += v[c] * v[c];
    qn = Math.sqrt(qn);
    for (let i = 0; i < data.rows; i++) {
      let s = 0;
      const o = i * data.cols;
      if (metric === 'angular') {
        for (let c = 0; c < data.cols; c++) s += v[c] * data.values[o + c];
        d[i] = -s / (norms[i] * qn || 1);
      } else {
        for (let c = 0; c < data.cols; c++) s += (v[c] - data.values[o + c]) ** 2;
        d[i] = s;
      }
    }
    const ids = Array.from(d.keys()).sort((a, b) => d[a] - d[b] || a - b);
    return ids.slice(0, 10);
  };
  out.push({ system: 'js-brute-force', metric, param: 'none', build_1_thread_s: 0, build_all_threads_s: 0, load_s: 0,
    points: [measure(0, queries, nScan, truth, scan)] });
  return out;
}

// hnswlib-wasm is compiled for browsers only; for this benchmark (not for Grove) it runs in
// Node with a window global and a fetch that reads its wasm from disk.
async function hnswlibWasm(metric, data, efList) {
  const { readFile } = await import('node:fs/promises');
  if (!globalThis.window) {
    globalThis.window = globalThis;
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (url, opts) => {
      const href = String(url?.url ?? url);
      if (href.startsWith('file:')) return new Response(await readFile(new URL(href)), { headers: { 'content-type': 'application/wasm' } });
      return realFetch(url, opts);
    };
  }
  const { loadHnswlib } = await import('../node_modules/hnswlib-wasm/dist/hnswlib.js');
  const lib = await loadHnswlib();
  const index = new lib.HierarchicalNSW(metric === 'angular' ? 'cosine' : 'l2', data.cols, '');
  index.initIndex(data.rows, 16, 200, 100);
  const t = performance.now();
  for (let i = 0; i < data.rows; i++) index.addPoint(data.values.subarray(i * data.cols, (i + 1) * data.cols), i, false);
  const buildS = (performance.now() - t) / 1000;
  const points = efList.map((ef) => ({
    param: ef,
    prepare: () => index.setEfSearch(ef),  // once per pass, not per query
    search: (v) => index.searchKnn(v, 10, undefined).neighbors,
  }));
  return { points, result: { system: 'hnswlib-wasm', metric, param: 'ef', build_1_thread_s: buildS, build_all_threads_s: buildS, load_s: null } };
}

// Each row scaled to length 1 (zero rows stay zero).
function unitRows(values, cols) {
  const out = new Float32Array(values.length);
  for (let r = 0; r < values.length / cols; r++) {
    let norm = 0;
    for (let j = 0; j < cols; j++) norm += values[r * cols + j] ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < cols; j++) out[r * cols + j] = values[r * cols + j] * scale;
  }
  return out;
}

// EdgeVec (Rust HNSW compiled to wasm, npm 'edgevec'): loaded with initSync and its wasm
// bytes. Its ef_search is fixed when the index is made, so each point is its own build (the
// build time reported is the first one's). Its ids start at 1. Its 'cosine' metric (0.9.0)
// does not find a vector's own self among its nearest (scores negative, recall 0 on GloVe),
// so angular runs its l2 on unit vectors (queries too): the same ranking as cosine.
async function edgeVec(metric, data, efList) {
  if (metric === 'angular') {
    const unit = await edgeVec('euclidean', { ...data, values: unitRows(data.values, data.cols) }, efList);
    for (const p of unit.points) {
      const search = p.search;
      p.search = (v) => search(unitRows(v, data.cols));
    }
    return { ...unit, result: { ...unit.result, metric } };
  }
  const ev = await import('edgevec/edgevec.js');
  const { createRequire } = await import('node:module');
  const wasmPath = createRequire(import.meta.url).resolve('edgevec/edgevec_bg.wasm');
  ev.initSync({ module: readFileSync(wasmPath) });
  const builds = [];
  const points = efList.map((ef) => {
    const config = new ev.EdgeVecConfig(data.cols);
    config.metric = 'l2';
    config.ef_search = ef;
    const db = new ev.EdgeVec(config);
    const t = performance.now();
    for (let i = 0; i < data.rows; i++) db.insert(data.values.subarray(i * data.cols, (i + 1) * data.cols));
    builds.push((performance.now() - t) / 1000);
    return { param: ef, search: (v) => db.search(v, 10).map((r) => r.id - 1) };
  });
  return { points, result: { system: 'edgevec', metric, param: 'ef_search', build_1_thread_s: builds[0], build_all_threads_s: builds[0], builds_s: builds, load_s: null } };
}
