// node bench/changes.mjs [--quick]: an index built on half of a data set, the other half
// added after build(), against a fresh build on all of it: recall@10 and q/s at each search_k
// (bench/drivers/changes_bench.cpp; one thread, the two alternating), on GloVe 100-d word
// vectors (angular and euclidean) and Fashion-MNIST. Writes the table into docs/benchmarks.md
// (between markers) and the points into docs/changes.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { buildDrivers } from './native.mjs';

const quick = process.argv.includes('--quick');
const bin = buildDrivers('changes_bench');

const queries = quick ? 50 : 1000;
const rounds = quick ? 1 : 3;
const searchK = [100, 300, 1000, 3000, 10000, 30000];
const glove = prepareGlove({ items: 100000, queries: 1000 });
const fashion = prepareFashionMnist();
const sets = [
  { name: 'GloVe 100-d (100k words)', metric: 'angular', ...glove },
  { name: 'GloVe 100-d (100k words)', metric: 'euclidean', ...glove },
  { name: 'Fashion-MNIST (60k)', metric: 'euclidean', train: fashion.train, test: fashion.test },
];

const results = [];
for (const set of sets) {
  log(`adding after build: ${set.name}, ${set.metric}`);
  const out = execFileSync(`${bin}/changes_bench`, [set.metric, set.train, set.test, String(queries), '10',
    searchK.join(','), String(rounds), bin], { encoding: 'utf8', maxBuffer: 1 << 24 });
  results.push({ ...set, ...JSON.parse(out) });
}

let table = `An index built (10 trees, one thread) on the first half of the items, the second half then added one by one with add_item() after build(), against a fresh build on all of them; the grown index saved and loaded by Annoy (Debian's annoylib.h), whose answers at an exhaustive search_k are compared with Grove's. Recall@10 against brute force, ${queries} held-out queries, one thread, the two alternating at each search_k (median q/s of ${rounds} passes). Made by \`node bench/changes.mjs\`.\n\n`;
table += `| data, metric | build all | build half + add half | ${searchK.map((k) => `search_k ${k}: recall fresh / grown`).join(' | ')} | worst recall difference | grown file in Annoy: same exhaustive answers |\n`;
table += `| --- | --- | --- | ${searchK.map(() => '---').join(' | ')} | --- | --- |\n`;
for (const r of results) {
  const cells = r.points.map((p) => `${p.fresh.recall.toFixed(3)} / ${p.grown.recall.toFixed(3)}`);
  const worst = Math.min(...r.points.map((p) => p.grown.recall - p.fresh.recall));
  const annoy = r.annoy.loaded ? `${r.annoy.same} of ${r.annoy.queries} queries` : 'did not load';
  table += `| ${r.name}, ${r.metric} | ${r.build_all_s.toFixed(1)} s | ${r.build_half_s.toFixed(1)} s + ${r.add_half_s.toFixed(1)} s | ${cells.join(' | ')} | ${worst >= 0 ? '+' : ''}${worst.toFixed(3)} | ${annoy} |\n`;
}
console.log(table);
if (!quick) {
  const docs = `${root}/docs/benchmarks.md`;
  const begin = '<!-- changes:begin -->', end = '<!-- changes:end -->';
  let text = readFileSync(docs, 'utf8');
  const section = `${begin}\n## Adding after build\n\n${table}${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, text);
  writeFileSync(`${root}/docs/changes.json`, JSON.stringify(results.map(({ train, test, ...rest }) => rest), null, 1));
}
