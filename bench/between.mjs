// node bench/between.mjs [--quick]: queries halfway between two random items (analogy-like
// mixes, away from the items themselves), Grove's graph walk against the same index's trees at
// each search_k, on GloVe 100-d word vectors and Fashion-MNIST; one thread, the two interleaved
// (bench/drivers/between_bench.cpp). Writes the table into docs/benchmarks.md (between
// markers) and the points into docs/between.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { qpsAt } from './curves.mjs';
import { buildDrivers } from './native.mjs';

const quick = process.argv.includes('--quick');
const bin = buildDrivers('between_bench');

const queries = quick ? 50 : 300;
const rounds = quick ? 1 : 3;
const searchK = [100, 300, 1000, 3000, 10000, 30000];
const glove = prepareGlove({ items: 100000, queries: 1000 });
const fashion = prepareFashionMnist();
const sets = [
  { name: 'GloVe 100-d (100k words)', metric: 'angular', train: glove.train },
  { name: 'GloVe 100-d (100k words)', metric: 'euclidean', train: glove.train },
  { name: 'Fashion-MNIST (60k)', metric: 'euclidean', train: fashion.train },
  { name: 'Fashion-MNIST (60k)', metric: 'angular', train: fashion.train },
];

const results = [];
for (const set of sets) {
  log(`queries between items: ${set.name}, ${set.metric}`);
  const out = execFileSync(`${bin}/between_bench`, [set.metric, set.train, String(queries), '10', searchK.join(','), String(rounds)],
    { encoding: 'utf8' });
  results.push({ name: set.name, ...JSON.parse(out) });
}

const ratioAt = (r, level) => {
  const g = qpsAt(r.points.map((p) => p.graph), level), t = qpsAt(r.points.map((p) => p.trees), level);
  return g && t ? `${(g / t).toFixed(2)}×` : '—';
};
let table = `Queries halfway between two random items (${queries} of them, as mixes of two words or two images are: near no item of their own), Grove with its graph against the same index's trees alone (\`set_graph_search(false)\`), 10 trees, one thread, the two interleaved at each search_k (median q/s of ${rounds} passes), recall@10 against brute force. Each search_k cell is graph / trees recall; the last columns are the graph's q/s over the trees' at that recall (— where the trees never reach it). Made by \`node bench/between.mjs\`.\n\n`;
table += `| data, metric | ${searchK.map((k) => `search_k ${k}`).join(' | ')} | q/s at 0.80 | at 0.90 |\n`;
table += `| --- | ${searchK.map(() => '---').join(' | ')} | --- | --- |\n`;
for (const r of results)
  table += `| ${r.name}, ${r.metric} | ${r.points.map((p) => `${p.graph.recall.toFixed(3)} / ${p.trees.recall.toFixed(3)}`).join(' | ')} | ${ratioAt(r, 0.8)} | ${ratioAt(r, 0.9)} |\n`;
console.log(table);
if (!quick) {
  const docs = `${root}/docs/benchmarks.md`;
  const begin = '<!-- between:begin -->', end = '<!-- between:end -->';
  let text = readFileSync(docs, 'utf8');
  const section = `${begin}\n## Queries between the items\n\n${table}${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, text);
  writeFileSync(`${root}/docs/between.json`, JSON.stringify(results, null, 1));
}
