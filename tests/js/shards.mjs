// Test helper: writes a small sharded index (4 shards of random vectors) and its manifest into
// `dir`, and returns the items for brute-force checks.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AnnoyIndex } from 'grove-ann';

export function writeSharded(dir, { metric = 'euclidean', n = 2000, f = 8, shards = 4, trees = 5 } = {}) {
  mkdirSync(dir, { recursive: true });
  let x = 12345;
  const random = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296 - 0.5;
  };
  const items = Array.from({ length: n }, () => Array.from({ length: f }, random));
  const per = Math.ceil(n / shards);
  const manifest = { format: 'grove-sharded', version: 1, f, metric, total_items: n, shards: [] };
  for (let s = 0; s < shards; s++) {
    const first = s * per;
    const count = Math.min(per, n - first);
    const index = new AnnoyIndex(f, metric);
    index.setSeed(s + 1);
    for (let i = 0; i < count; i++) index.addItem(i, items[first + i]);
    index.build(trees);
    const file = `shard-${s}.ann`;
    writeFileSync(path.join(dir, file), index.serialize());
    index.dispose();
    manifest.shards.push({ file, items: count, first_id: first, n_trees: trees, seed: s + 1 });
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(manifest, null, 1));
  return { items, manifest, path: path.join(dir, 'index.json') };
}

export function bruteForce(items, query, k) {
  const d = items.map((v, i) => [v.reduce((s, x, c) => s + (x - query[c]) ** 2, 0), i]);
  d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return d.slice(0, k).map(([, i]) => i);
}
