// npm run bench [-- --quick]: Grove against Annoy and hnswlib on Fashion-MNIST.
//
// Grove and Annoy run in one process, interleaved (bench/drivers/side_by_side.cpp: builds and
// query passes alternate, medians of ROUNDS), so the ratios the README quotes are not at the
// mercy of a noisy neighbour. Annoy is Debian's r-cran-rcppannoy header, built
// -O3 -march=native as its wheels are. hnswlib (libhnswlib-dev) runs in its own driver; Node:
// Grove's wasm build, hnswlib-wasm from npm, and a plain-JS exact scan as the floor. Every
// recall is measured against exact ground truth (brute force, cached). Full runs write
// docs/benchmarks.{md,json} and the plots; --quick (10,000 items, 200 queries) writes
// build/bench-data/quick.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { buildWasm } from '../scripts/build-wasm.mjs';
import { ensurePackages, jobs, log, root, run } from '../scripts/lib.mjs';
import { npyBytes, prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { svgPlot } from './plot.mjs';

const quick = process.argv.includes('--quick');
const mode = quick ? 'quick' : 'full';
const TREES = 10;
const ROUNDS = quick ? 3 : 5;
const RECALLS = [0.9, 0.95, 0.99];
const SEARCH_K = [10, 30, 100, 300, 1000, 3000, 10000];
const EF = [10, 20, 40, 80, 160, 320];
// EdgeVec fixes ef_search when an index is made: each point is a build of about a minute.
// Euclidean only, the metric its comparison is made on.
const EDGEVEC_EF = quick ? [10, 16] : [10, 16, 24];
const METRICS = ['euclidean', 'angular'];

ensurePackages(['g++', 'cmake', 'make', 'r-cran-rcppannoy', 'libhnswlib-dev']);
const buildDir = `${root}/build/bench`;
run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DGROVE_BUILD_TESTS=OFF', '-DGROVE_BUILD_BENCH=ON']);
run('cmake', ['--build', buildDir, '--parallel', jobs]);
await buildWasm();
// node-peers.mjs loads the package, whose wasm build exists only now (a fresh checkout has none).
const { nodePeers } = await import('./node-peers.mjs');
const bin = `${buildDir}/bench`;

// Data: Fashion-MNIST as float32 (the full train set, or a subset for --quick).
const data = prepareFashionMnist();
const dir = `${root}/build/bench-data`;
mkdirSync(dir, { recursive: true });
const nTrain = quick ? 10000 : 60000;
const nQueries = quick ? 200 : 1000;
const train = `${dir}/${mode}-train.npy`;
const test = `${dir}/${mode}-test.npy`;
if (!existsSync(train)) writeFileSync(train, subset(data.train, nTrain));
if (!existsSync(test)) writeFileSync(test, subset(data.test, nQueries));

function subset(path, rows) {
  const b = readFileSync(path);
  const header = 10 + b.readUInt16LE(8);
  const cols = 784;
  return npyBytes(new Float32Array(b.buffer.slice(b.byteOffset + header, b.byteOffset + header + rows * cols * 4)), rows, cols);
}

// Native systems first, for both metrics, then the Node ones: run after a Node phase (from
// this process, which then holds gigabytes of wasm heaps), Grove's angular builds were 0.49 s
// in two rounds of five instead of 0.38 s, three runs in a row, and never when run alone.
const results = [];
const truthOf = (metric) => `${dir}/${mode}-truth-${metric}.i32`;
const args = (metric, list) => [metric, train, test, truthOf(metric), String(nQueries), String(TREES), list.join(','), dir];
for (const metric of METRICS) {
  const truth = truthOf(metric);
  if (!existsSync(truth)) {
    log(`${metric}: exact top-100 by brute force (cached in ${truth})`);
    execFileSync(`${bin}/truth`, [metric, train, test, String(nQueries), truth], { stdio: 'inherit' });
  }
  log(`${metric}: Grove and Annoy, interleaved (${ROUNDS} rounds)`);
  const sbs = JSON.parse(execFileSync(`${bin}/side_by_side`, [...args(metric, SEARCH_K), String(ROUNDS)], { encoding: 'utf8' }));
  for (const system of ['grove', 'annoy']) {
    results.push({ system, metric, trees: TREES, param: 'search_k', interleaved: true, rounds: ROUNDS, ...sbs[system],
      ...(system === 'grove' ? { companion_bytes: sbs.companion.bytes, companion_make_s: sbs.companion.make_s } : {}) });
  }
  log(`${metric}: hnswlib`);
  results.push(JSON.parse(execFileSync(`${bin}/hnswlib_bench`, args(metric, EF), { encoding: 'utf8' })));
}
for (const metric of METRICS) {
  const truth = truthOf(metric);
  log(`${metric}: Node (grove wasm, hnswlib-wasm, JS brute force)`);
  results.push(...await nodePeers({ metric, train, test, truth, nQueries, trees: TREES, searchK: SEARCH_K, ef: EF, edgevecEf: metric === 'euclidean' ? EDGEVEC_EF : [], groveFile: `${dir}/grove-${metric}.ann`, rounds: ROUNDS }));
}

// Queries/second at a recall, interpolated between the two measured points around it.
function qpsAt(points, target) {
  const sorted = [...points].sort((a, b) => a.recall - b.recall);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.recall <= target && b.recall >= target) {
      if (b.recall === a.recall) return Math.max(a.qps, b.qps);
      const t = (target - a.recall) / (b.recall - a.recall);
      return Math.exp(Math.log(a.qps) + t * (Math.log(b.qps) - Math.log(a.qps)));
    }
  }
  return sorted.find((p) => p.recall >= target)?.qps ?? null;
}

const find = (system, metric) => results.find((r) => r.system === system && r.metric === metric);
const ratio = (x, y) => (x && y ? x / y : null);
const summary = {};
for (const metric of METRICS) {
  const g = find('grove', metric), a = find('annoy', metric), w = find('grove-wasm', metric), h = find('hnswlib-wasm', metric);
  const e = find('edgevec', metric);
  // Grove / Annoy at the same search_k (interleaved medians), and the worst of them.
  const perSearchK = g.points.map((p, i) => ({ search_k: p.param, grove_recall: p.recall, annoy_recall: a.points[i].recall,
    qps_ratio: ratio(p.qps, a.points[i].qps) }));
  summary[metric] = {
    grove_over_annoy_qps_at_recall: Object.fromEntries(RECALLS.map((t) => [t, ratio(qpsAt(g.points, t), qpsAt(a.points, t))])),
    grove_over_annoy_qps_per_search_k: perSearchK,
    grove_over_annoy_qps_worst_search_k: Math.min(...perSearchK.map((p) => p.qps_ratio)),
    grove_over_annoy_build_1_thread: ratio(g.build_1_thread_s, a.build_1_thread_s),
    qps_at_0_9: Object.fromEntries(results.filter((r) => r.metric === metric).map((r) => [r.system, qpsAt(r.points, 0.9)])),
    wasm_over_hnswlib_wasm_qps_at_recall: h ? Object.fromEntries(RECALLS.map((t) => [t, ratio(qpsAt(w.points, t), qpsAt(h.points, t))])) : null,
    // At each EdgeVec point's own recall (its ef_search is fixed per build).
    wasm_over_edgevec_qps_at_its_points: e ? e.points.map((p) => ({ ef_search: p.param, recall: p.recall, edgevec_qps: p.qps,
      grove_wasm_qps: qpsAt(w.points, p.recall), ratio: ratio(qpsAt(w.points, p.recall), p.qps) })) : null,
    wasm_build_over_hnswlib_wasm: h ? ratio(w.build_1_thread_s, h.build_1_thread_s) : null,
    wasm_build_over_edgevec: e ? ratio(w.build_1_thread_s, e.build_1_thread_s) : null,
    companion_bytes: g.companion_bytes,
    companion_over_index: ratio(g.companion_bytes, g.index_bytes),
    companion_make_s: g.companion_make_s,
    wasm_over_native_qps_at_0_9: ratio(qpsAt(w.points, 0.9), qpsAt(g.points, 0.9)),
    wasm_load_over_copy: w.load_s / w.copy_s,
    index_bytes_grove: g.index_bytes,
    index_bytes_annoy: a.index_bytes,
  };
}

// The table.
const fmt = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
const lines = [];
for (const metric of METRICS) {
  lines.push(`\n${metric} (${nTrain} items, ${nQueries} queries, k = 10, ${TREES} trees)`);
  lines.push('system        build 1T (s)  build all (s)  index bytes   load (ms)  q/s @ recall 0.90');
  for (const r of results.filter((x) => x.metric === metric)) {
    lines.push(`${r.system.padEnd(13)} ${fmt(r.build_1_thread_s, 2).padStart(12)} ${fmt(r.build_all_threads_s, 2).padStart(14)} ${String(r.index_bytes ?? '–').padStart(12)} ${(r.load_s == null ? '–' : fmt(r.load_s * 1000, 3)).padStart(11)}  ${fmt(qpsAt(r.points, 0.9)).padStart(8)}`);
  }
  lines.push(`${'param'.padEnd(13)} ${'system'.padEnd(12)} recall@10 / q/s`);
  for (const r of results.filter((x) => x.metric === metric && x.points.length > 1)) {
    lines.push(`${r.param.padEnd(13)} ${r.system.padEnd(12)} ${r.points.map((p) => `${p.param}: ${p.recall.toFixed(3)}/${fmt(p.qps)}`).join('  ')}`);
  }
  const s = summary[metric];
  const atRecall = (o) => RECALLS.map((t) => `${t.toFixed(2)}: ${fmt(o?.[t], 2)}×`).join(', ');
  lines.push(`Grove/Annoy q/s (interleaved, median of ${ROUNDS}) at recall ${atRecall(s.grove_over_annoy_qps_at_recall)}; ` +
    `worst search_k ${fmt(s.grove_over_annoy_qps_worst_search_k, 2)}×; build 1 thread ${fmt(s.grove_over_annoy_build_1_thread, 2)}× Annoy's time`);
  lines.push(`Grove/Annoy q/s per search_k: ${s.grove_over_annoy_qps_per_search_k.map((p) => `${p.search_k}: ${fmt(p.qps_ratio, 2)}×`).join(', ')}`);
  lines.push(`Grove wasm / hnswlib-wasm q/s (interleaved, median of ${ROUNDS}) at recall ${atRecall(s.wasm_over_hnswlib_wasm_qps_at_recall)}; ` +
    `Grove wasm/native q/s @0.90 ${fmt(s.wasm_over_native_qps_at_0_9, 2)}; build ${fmt(s.wasm_build_over_hnswlib_wasm, 3)}× hnswlib-wasm's time`);
  if (s.wasm_over_edgevec_qps_at_its_points) {
    lines.push(`Grove wasm / EdgeVec q/s (interleaved) at EdgeVec's points: ${s.wasm_over_edgevec_qps_at_its_points.map((p) =>
      `ef_search ${p.ef_search} (recall ${p.recall.toFixed(3)}): ${fmt(p.ratio, 2)}×`).join(', ')}; build ${fmt(s.wasm_build_over_edgevec, 3)}× EdgeVec's time`);
  }
  lines.push(`Compact companion: ${fmt(s.companion_bytes / 2 ** 20, 1)} MiB, ${fmt(100 * s.companion_over_index, 1)}% of the index; ` +
    `made in ${fmt(s.companion_make_s * 1000)} ms when a load has none (native, first query)`);
}
console.log(lines.join('\n'));

const machine = {
  cpu: os.cpus()[0]?.model, cores: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30),
  node: process.version, gxx: firstLine('g++', ['--version']), emcc: firstLine('emcc', ['--version']),
  annoy: 'annoylib.h from r-cran-rcppannoy ' + firstLine('dpkg-query', ['-W', '-f=${Version}', 'r-cran-rcppannoy']) + ' (Annoy 1.17.1)',
  hnswlib: 'libhnswlib-dev ' + firstLine('dpkg-query', ['-W', '-f=${Version}', 'libhnswlib-dev']),
  hnswlib_wasm: JSON.parse(readFileSync(`${root}/node_modules/hnswlib-wasm/package.json`, 'utf8')).version,
  edgevec: JSON.parse(readFileSync(`${root}/node_modules/edgevec/package.json`, 'utf8')).version,
  date: new Date().toISOString().slice(0, 10),
};
const report = { mode, n_train: nTrain, n_queries: nQueries, trees: TREES, machine, summary, results };
if (quick) {
  writeFileSync(`${dir}/quick.json`, JSON.stringify(report, null, 1));
  log(`wrote ${dir}/quick.json`);
} else {
  mkdirSync(`${root}/docs`, { recursive: true });
  writeFileSync(`${root}/docs/benchmarks.json`, JSON.stringify(report, null, 1));
  for (const metric of METRICS) {
    writeFileSync(`${root}/docs/benchmarks-${metric}.svg`, svgPlot(`Fashion-MNIST ${metric}: recall@10 vs queries/second (single thread)`, results.filter((r) => r.metric === metric)));
  }
  // Keep the sections the other benchmarks write (npm run bench:dask, bench/tree-quality.mjs,
  // filter.mjs, changes.mjs; the graph's, from graph_bench and wasm-graph.mjs), between their markers.
  const old = existsSync(`${root}/docs/benchmarks.md`) ? readFileSync(`${root}/docs/benchmarks.md`, 'utf8') : '';
  const kept = ['dask', 'tree-quality', 'filter', 'changes', 'graph'].map((name) => new RegExp(`<!-- ${name}:begin[\\s\\S]*<!-- ${name}:end -->\\n?`).exec(old)?.[0] ?? '')
    .filter(Boolean).map((section) => `\n${section.trimEnd()}\n`).join('');
  writeFileSync(`${root}/docs/benchmarks.md`, markdown(report, lines.join('\n')) + kept);
  log('wrote docs/benchmarks.md, docs/benchmarks.json and the plots');
}

function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

function markdown(r, table) {
  const m = r.machine;
  return `# Benchmarks

Made by \`npm run bench\` (this file is written by the full run; \`npm run bench -- --quick\` runs a
small subset in a few minutes) on a shared VM. Absolute queries/second move by ±15% between runs
here; the Grove/Annoy ratios are measured so that noise hits both alike (below), and they are
what the README quotes.

- **Data**: Fashion-MNIST from Debian's \`dataset-fashion-mnist\` (${r.n_train} training images
  of 784 pixels as float32; the first ${r.n_queries} test images as queries), k = 10, recall@10
  against exact ground truth (brute force in double precision).
- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB; ${m.gxx}; ${m.emcc}; Node ${m.node}; ${m.date}.
- **Peers**: ${m.annoy}, compiled -O3 -march=native -ffast-math -fno-associative-math with its
  multi-threaded build policy (as pip builds it); ${m.hnswlib} (M = 16, ef_construction = 200,
  -O3 -march=native); hnswlib-wasm ${m.hnswlib_wasm} from npm (same M and ef_construction);
  EdgeVec ${m.edgevec} from npm (Rust HNSW in wasm, its defaults; euclidean only, one build per
  ef_search, as it fixes ef_search per index); a plain-JS exact scan. Grove is built as shipped: no -march flags (SIMD chosen at run time).
- **Grove vs Annoy** run in one process (\`bench/drivers/side_by_side.cpp\`), interleaved:
  single-thread builds alternate (median of ${ROUNDS}), and at every search_k the query passes
  alternate, Annoy first in even rounds and Grove first in odd ones (median of ${ROUNDS} passes
  of all ${r.n_queries} queries, after one warm-up pass each). Both use ${r.trees} trees.
  Ratios at a recall interpolate each system's curve (log q/s, linear in recall); "per
  search_k" compares the two at the same search_k, and the worst of those is reported too.
- **Grove wasm vs hnswlib-wasm and EdgeVec** run in one Node process, interleaved the same way:
  each round sweeps each system's parameters in turn, the order alternating; medians of
  ${ROUNDS}. Grove wasm loads the native run's index and its compact companion from bytes.
- **Grove's defaults**: compact scoring on (exact results: see the README); the companion's
  size and the time to make it when a load has none are reported per metric.
- **Other systems** run in their own drivers, each point the faster of two passes: hnswlib
  (sweeping ef) natively, and a plain-JS exact scan in Node.
  Queries run one at a time on one thread. "build all" uses every core. "load" is mmap for the
  native indexes, and for Grove wasm the copy of the file's bytes into wasm memory.

![euclidean](benchmarks-euclidean.svg)

![angular](benchmarks-angular.svg)

\`\`\`
${table.trim()}
\`\`\`
`;
}
