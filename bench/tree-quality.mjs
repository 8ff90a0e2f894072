// node bench/tree-quality.mjs [--quick]: recall@10 of Grove's default trees against Annoy-order
// trees (Annoy's algorithm) at each search_k, on real word vectors (GloVe 100-d), Fashion-MNIST
// and a synthetic clustered set; writes the table into docs/benchmarks.md (between markers).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { buildDrivers } from './native.mjs';

const quick = process.argv.includes('--quick');
const bin = buildDrivers('tree_quality');

const queries = quick ? 200 : 1000;
// Five seeds: at small search_k a query reads a few whole leaves (784-d Fashion-MNIST leaves
// hold up to 786 items), so one seed's recall swings by about 0.01; the table shows the spread.
const seeds = quick ? 1 : 5;
const searchK = [100, 300, 1000, 3000, 10000, 30000];
const glove = prepareGlove({ items: 100000, queries: 1000 });
const fashion = prepareFashionMnist();
const sets = [
  { name: 'GloVe 100-d (100k words)', metric: 'angular', train: glove.train, test: glove.test },
  { name: 'GloVe 100-d (100k words)', metric: 'euclidean', train: glove.train, test: glove.test },
  { name: 'Fashion-MNIST (60k)', metric: 'euclidean', train: fashion.train, test: fashion.test },
  { name: 'Fashion-MNIST (60k)', metric: 'angular', train: fashion.train, test: fashion.test },
  { name: 'Clustered (100k x 64, spreads 1e-3..1)', metric: 'euclidean', train: 'clustered', test: '-' },
  { name: 'Clustered (100k x 64, spreads 1e-3..1)', metric: 'manhattan', train: 'clustered', test: '-' },
];
const results = [];
for (const set of sets) {
  log(`tree quality: ${set.name}, ${set.metric}`);
  const out = execFileSync(`${bin}/tree_quality`,
    [set.metric, set.train, set.test, String(queries), '10', searchK.join(','), String(seeds)], { encoding: 'utf8' });
  const r = { ...set, ...JSON.parse(out) };
  results.push(r);
  for (const p of r.points) console.log(`  search_k ${p.search_k}: default ${p.default.toFixed(4)}, Annoy order ${p.annoy_order.toFixed(4)}`);
}

const worstPoint = (r) => r.points.reduce((a, p) => (p.default - p.annoy_order < a.default - a.annoy_order ? p : a));
const worst = (r) => worstPoint(r).default - worstPoint(r).annoy_order;
let table = `Recall@10 of Grove's default trees and of Annoy-order trees (Annoy's algorithm and float order), 10 trees, ${queries} held-out queries, mean of ${seeds} seed(s); both ranked exactly, so only the trees differ; each cell is default / Annoy order; the last column is the most negative difference, ± its standard error over the seeds. Build times are in docs/tree-quality.json but are not compared here (this script does not interleave them). Made by \`node bench/tree-quality.mjs\`.\n\n`;
table += `| data, metric | ${searchK.map((k) => `search_k ${k}`).join(' | ')} | worst difference |\n`;
table += `| --- | ${searchK.map(() => '---').join(' | ')} | --- |\n`;
for (const r of results)
  table += `| ${r.name}, ${r.metric} | ${r.points.map((p) => `${p.default.toFixed(3)} / ${p.annoy_order.toFixed(3)}`).join(' | ')} | ${worst(r) >= 0 ? '+' : ''}${worst(r).toFixed(4)} ± ${worstPoint(r).difference_se.toFixed(4)} |\n`;
console.log(table);
if (!quick) {
  const docs = `${root}/docs/benchmarks.md`;
  const begin = '<!-- tree-quality:begin -->', end = '<!-- tree-quality:end -->';
  let text = readFileSync(docs, 'utf8');
  const section = `${begin}\n## Tree quality: default trees against Annoy's\n\n${table}${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, text);
  writeFileSync(`${root}/docs/tree-quality.json`, JSON.stringify(results, null, 1));
}
