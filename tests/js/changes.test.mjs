// Changes after build: addItem() on a built index, removeItem()/removeItems(), thaw(). At an
// exhaustive searchK the answer is the full ranking of the items in the index at that moment,
// for every metric, before and after serialize()/deserialize(); bad changes are named errors
// and change nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { randomVectors, rng } from './helpers.mjs';

const N = 500;
const TREES = 5;

// Exact distances from the query to every live item, the nearest n.
function bruteForce(index, live, query, n) {
  const probe = new AnnoyIndex(index.f, index.metric);
  try {
    for (const id of live) probe.addItem(id, index.getItemVector(id));
    probe.build(1);
    const [ids, distances] = probe.getNnsByVector(query, n, live.size * 4 + 100, true);
    return { ids, distances };
  } finally {
    probe.dispose();
  }
}

function expectExact(index, live, queries, where) {
  for (const q of queries) {
    const [ids, distances] = index.getNnsByVector(q, 10, index.getNItems() * TREES * 2 + 100, true);
    for (const id of ids) assert.ok(live.has(id), `${where}: returned ${id}, not in the index`);
    const want = bruteForce(index, live, q, 10);
    assert.equal(ids.length, want.ids.length, where);
    distances.forEach((d, r) => assert.ok(Math.abs(d - want.distances[r]) <= 1e-4 * Math.max(1, Math.abs(d)), `${where}: rank ${r}`));
  }
}

for (const metric of ['angular', 'euclidean', 'manhattan', 'dot', 'hamming']) {
  test(`${metric}: adds and removes after build answer as brute force, and survive serialize()`, () => {
    const bits = metric === 'hamming';
    const f = bits ? 64 : 8;
    const items = randomVectors(N, f, 5, bits);
    const queries = randomVectors(6, f, 6, bits);
    const index = new AnnoyIndex(f, metric);
    try {
      for (let i = 0; i < N / 2; i++) index.addItem(i, items[i]);
      index.build(TREES);
      for (let i = N / 2; i < N; i++) index.add_item(i, items[i]);
      const random = rng(9);
      const removed = [...Array(N).keys()].filter(() => random() < 1 / 3);
      index.removeItems(removed);
      const live = new Set([...Array(N).keys()].filter((i) => !removed.includes(i)));
      expectExact(index, live, queries, `${metric} in memory`);
      const copy = AnnoyIndex.deserialize(index.serialize(), f, metric);
      try {
        expectExact(copy, live, queries, `${metric} deserialized`);
        assert.throws(() => copy.removeItem(1), /thaw\(\)/);
        copy.thaw();
        copy.remove_item([...live][0]);
        live.delete([...live][0]);
        for (const id of removed.slice(0, 10)) {
          copy.addItem(id, items[id]);
          live.add(id);
        }
        expectExact(copy, live, queries, `${metric} thawed and changed`);
      } finally {
        copy.dispose();
      }
    } finally {
      index.dispose();
    }
  });
}

test('removed items are never returned, and say so', () => {
  const items = randomVectors(1500, 8, 11);
  const index = new AnnoyIndex(8, 'euclidean');
  try {
    items.forEach((v, i) => index.addItem(i, v));
    index.build(10);
    const gone = new Set([...Array(1500).keys()].filter((i) => i % 3 === 1));
    for (const id of gone) index.removeItem(id);
    for (let q = 0; q < 1500; q += 61) {
      for (const searchK of [-1, 50, 5000]) {
        const ids = index.getNnsByVector(items[q], 10, searchK);
        assert.equal(ids.length, 10);
        assert.ok(ids.every((id) => !gone.has(id)));
      }
    }
    assert.throws(() => index.getItemVector(1), (e) => e instanceof RangeError && /was removed/.test(e.message));
    assert.throws(() => index.getDistance(1, 0), (e) => e instanceof RangeError && /was removed/.test(e.message));
    assert.throws(() => index.getNnsByItem(1, 3), (e) => e instanceof RangeError && /was removed/.test(e.message));
    assert.equal(index.getNItems(), 1500);
  } finally {
    index.dispose();
  }
});

test('bad changes are named errors and change nothing', () => {
  const items = randomVectors(200, 8, 12);
  const index = new AnnoyIndex(8, 'angular');
  try {
    items.forEach((v, i) => index.addItem(i, v));
    index.build(4);
    index.removeItem(5);
    const before = index.serialize();
    assert.throws(() => index.removeItem(5), (e) => e instanceof RangeError && /removed already/.test(e.message));
    assert.throws(() => index.removeItem(200), (e) => e instanceof RangeError && /out of range/.test(e.message));
    assert.throws(() => index.removeItem(-1), RangeError);
    assert.throws(() => index.removeItem(1.5), TypeError);
    assert.throws(() => index.removeItems([1, 2, 1]), /listed twice/);
    assert.throws(() => index.removeItems([1, 2, 5]), /removed already/);
    assert.throws(() => index.removeItems(3), TypeError);
    assert.throws(() => index.removeItems(['a']), TypeError);
    assert.throws(() => index.addItem(300, [1, 2]), RangeError);
    assert.deepEqual(index.serialize(), before);
    const empty = new AnnoyIndex(8, 'angular');
    assert.throws(() => empty.thaw(), /no trees/);
    empty.dispose();
  } finally {
    index.dispose();
  }
});
