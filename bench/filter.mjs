// node bench/filter.mjs [--quick]: filtered search ({ filter }) against the unfiltered way
// (ask for m x n / selectivity neighbours, m = 1, 2, 4, with search_k scaled alike, and discard
// the rejected ones; the best of those at each recall),
// at 1%, 10% and 50% selectivity, on GloVe 100-d word vectors and Fashion-MNIST; one thread,
// the two interleaved at each search_k (bench/drivers/filter_bench.cpp). Writes the table into
// docs/benchmarks.md (between markers) and the points into docs/filter.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';
import { prepareGlove } from '../scripts/glove.mjs';
import { log, root } from '../scripts/lib.mjs';
import { qpsAt } from './curves.mjs';
import { buildDrivers } from './native.mjs';

const quick = process.argv.includes('--quick');
const bin = buildDrivers('filter_bench');

const queries = quick ? 50 : 200;
const rounds = quick ? 1 : 3;
const selectivities = [0.01, 0.1, 0.5];
const searchK = [100, 300, 1000, 3000, 10000, 30000, 100000];
const glove = prepareGlove({ items: 100000, queries: 1000 });
const fashion = prepareFashionMnist();
const sets = [
  { name: 'GloVe 100-d (100k words)', metric: 'angular', ...glove },
  { name: 'Fashion-MNIST (60k)', metric: 'euclidean', train: fashion.train, test: fashion.test },
];

const results = [];
for (const set of sets) {
  log(`filtered search: ${set.name}, ${set.metric}`);
  const out = execFileSync(`${bin}/filter_bench`, [set.metric, set.train, set.test, String(queries), '10',
    selectivities.join(','), searchK.join(','), String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  results.push({ ...set, ...JSON.parse(out) });
}

const levels = [0.9, 0.95, 0.99];
let table = `Filtered search (a bitset filter) against the unfiltered way of getting the same answer: ask for m × n / selectivity neighbours (m = 1, 2 or 4, whichever is fastest at that recall) with search_k scaled alike, then drop the rejected items. Recall@10 against brute force over the allowed items, ${queries} held-out queries, one thread, 10 trees, the two interleaved at each search_k (median q/s of ${rounds} passes). Each cell: filtered q/s / unfiltered-and-discard q/s at that recall (interpolated along each method's best points; — where a method never reached it). Made by \`node bench/filter.mjs\`.\n\n`;
table += `| data, metric | selectivity | ${levels.map((r) => `recall ${r}`).join(' | ')} | filtered / discard, worst |\n`;
table += `| --- | --- | ${levels.map(() => '---').join(' | ')} | --- |\n`;
for (const r of results) {
  for (const s of r.selectivities) {
    const filtered = s.points.map((p) => p.filtered);
    const post = s.points.flatMap((p) => p.post_filter);
    const cells = levels.map((level) => {
      const a = qpsAt(filtered, level), b = qpsAt(post, level);
      return { text: `${a ? a.toFixed(0) : '—'} / ${b ? b.toFixed(0) : '—'}`, ratio: a && b ? a / b : undefined };
    });
    const ratios = cells.map((c) => c.ratio).filter((x) => x !== undefined);
    table += `| ${r.name}, ${r.metric} | ${(s.selectivity * 100).toFixed(0)}% | ${cells.map((c) => c.text).join(' | ')} | ${ratios.length ? `${Math.min(...ratios).toFixed(2)}×` : '—'} |\n`;
  }
}
console.log(table);
if (!quick) {
  const docs = `${root}/docs/benchmarks.md`;
  const begin = '<!-- filter:begin -->', end = '<!-- filter:end -->';
  let text = readFileSync(docs, 'utf8');
  const section = `${begin}\n## Filtered search\n\n${table}${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, text);
  writeFileSync(`${root}/docs/filter.json`, JSON.stringify(results.map(({ train, test, ...rest }) => rest), null, 1));
}
