// Indexes written by real Annoy give Annoy's neighbours and distances in WASM, loaded from
// bytes and from a path.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { floats, golden, goldenDir, near, words, wordsToBits } from './helpers.mjs';

const CASES = [
  { stem: 'angular', metric: 'angular' },
  { stem: 'euclidean', metric: 'euclidean' },
  { stem: 'manhattan', metric: 'manhattan' },
  { stem: 'hamming', metric: 'hamming' },
  { stem: 'dot', metric: 'dot' },  // Annoy <= 1.17.1 layout
  { stem: 'dot-main/dot', metric: 'dot' },
];

function queriesOf(stem, metric, f) {
  if (metric === 'hamming') {
    const ws = words(`${goldenDir}/${stem}.queries.u64`);
    return Array.from({ length: ws.length / f }, (_, i) => wordsToBits(ws.subarray(f * i, f * i + f)));
  }
  const q = floats(`${goldenDir}/${stem}.queries.f32`);
  return Array.from({ length: q.length / f }, (_, i) => q.subarray(f * i, f * i + f));
}

function expectAnnoy(got, want, what) {
  assert.deepEqual(got[0], want.ids, what);
  got[1].forEach((d, r) => assert.ok(near(d, want.distances[r]), `${what} rank ${r}: ${d} vs ${want.distances[r]}`));
}

for (const { stem, metric } of CASES) {
  for (const from of ['bytes', 'path']) {
    test(`${stem} from ${from}: Annoy's results`, () => {
      const spec = golden(`${stem}.json`);
      const f = metric === 'hamming' ? 64 * spec.f : spec.f;
      const index = new AnnoyIndex(f, metric);
      const file = `${goldenDir}/${stem}.ann`;
      index.load(from === 'path' ? file : new Uint8Array(readFileSync(file)));
      assert.equal(index.getNItems(), spec.loaded.n_items);
      assert.equal(index.getNTrees(), spec.loaded.n_trees);
      for (const q of spec.by_item) {
        for (const [k, want] of Object.entries(q.annoy)) {
          expectAnnoy(index.getNnsByItem(q.item, spec.k, Number(k), true), want, `item ${q.item} search_k ${k}`);
        }
      }
      const queries = queriesOf(stem, metric, spec.f);
      for (const q of spec.by_vector) {
        for (const [k, want] of Object.entries(q.annoy)) {
          expectAnnoy(index.getNnsByVector(queries[q.query], spec.k, Number(k), true), want, `vector ${q.query} search_k ${k}`);
        }
        assert.deepEqual(index.getNnsByVector(queries[q.query], spec.k, 100000), q.exact.ids);
      }
      for (const [i, j, want] of spec.get_distance) assert.ok(near(index.getDistance(i, j), want));
      index.dispose();
    });
  }
}

test('edge-case files load with Annoy counts and results', () => {
  for (const c of golden('edge-cases.json')) {
    const index = new AnnoyIndex(c.f, c.metric);
    index.load(`${goldenDir}/${c.file}`);
    assert.equal(index.getNItems(), c.loaded.n_items, c.name);
    assert.equal(index.getNTrees(), c.loaded.n_trees, c.name);
    for (const q of c.queries ?? []) {
      for (const [k, want] of Object.entries(q.annoy)) {
        expectAnnoy(index.getNnsByVector(q.vector, q.k ?? 10, Number(k), true), want, `${c.name} search_k ${k}`);
      }
    }
    index.dispose();
  }
});
