// Filtered search ({ filter } as a query's last argument): at an exhaustive searchK the answer
// is the full ranking of the allowed items, for every metric and every form of filter (a
// Uint8Array bitset, an Array or a Set of ids, a function), by vector, by item, in a batch
// and over shards; bad filters are named errors and leave the index answering.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex, ShardedIndex } from 'grove-ann';
import { randomVectors, rng } from './helpers.mjs';

const N = 400;
const TREES = 5;

function built(metric, n = N) {
  const bits = metric === 'hamming';
  const f = bits ? 64 : 8;
  const items = randomVectors(n, f, 3, bits);
  const index = new AnnoyIndex(f, metric);
  items.forEach((v, i) => index.addItem(i, v));
  index.build(TREES);
  return { index, items };
}

function allowed(n, keep, seed) {
  const random = rng(seed);
  return Array.from({ length: n }, () => random() < keep);
}

function forms(mask) {
  const bits = new Uint8Array(Math.ceil(mask.length / 8));
  mask.forEach((on, i) => { if (on) bits[i >> 3] |= 1 << (i & 7); });
  const ids = mask.flatMap((on, i) => (on ? [i] : []));
  return { bitset: bits, array: ids, set: new Set(ids), function: (i) => mask[i] };
}

// The unfiltered exhaustive ranking of every item, kept where allowed.
function restricted(index, query, mask, n) {
  const [ids, distances] = index.getNnsByVector(query, N, N * TREES, true);
  const kept = ids.map((id, r) => [id, distances[r]]).filter(([id]) => mask[id]).slice(0, n);
  return [kept.map(([id]) => id), kept.map(([, d]) => d)];
}

for (const metric of ['angular', 'euclidean', 'manhattan', 'dot', 'hamming']) {
  test(`${metric}: every filter form gives the full ranking of the allowed items`, () => {
    const { index, items } = built(metric);
    try {
      for (const keep of [0.01, 0.1, 0.5]) {
        const mask = allowed(N, keep, 7);
        for (const [form, filter] of Object.entries(forms(mask))) {
          for (const query of items.slice(0, 4)) {
            assert.deepEqual(index.getNnsByVector(query, 10, N * TREES, true, { filter }), restricted(index, query, mask, 10), `${form} ${keep}`);
          }
          assert.deepEqual(index.getNnsByItem(9, 5, N * TREES, { filter }), restricted(index, items[9], mask, 5)[0], `${form} by item`);
          const flat = Float32Array.from(items.slice(0, 3).flat());
          const { ids } = index.getNnsByVectors(flat, 10, N * TREES, { filter });
          for (let q = 0; q < 3; q++) {
            const want = restricted(index, items[q], mask, 10)[0];
            assert.deepEqual([...ids.subarray(q * 10, q * 10 + 10)], [...want, ...new Array(10 - want.length).fill(-1)]);
          }
        }
      }
      // The options may follow any of the optional arguments.
      const filter = new Set([1, 2, 3, 4, 5]);
      assert.deepEqual(index.getNnsByVector(items[0], 3, { filter }), index.get_nns_by_vector(items[0], 3, -1, false, { filter }));
      assert.deepEqual(index.getNnsByItem(0, 3, -1, { filter }), index.getNnsByItem(0, 3, { filter }));
    } finally {
      index.dispose();
    }
  });
}

test('a selective filter still returns n', () => {
  const { index, items } = built('euclidean', 3000);
  try {
    const mask = allowed(3000, 0.01, 8);
    const got = index.getNnsByVector(items[0], 10, { filter: forms(mask).bitset });
    assert.equal(got.length, 10);
    assert.ok(got.every((id) => mask[id]));
    assert.equal(new Set(got).size, 10);
  } finally {
    index.dispose();
  }
});

test('bad filters are named errors, and the index answers on', () => {
  const { index, items } = built('euclidean');
  try {
    const q = items[0];
    const fails = (filter, type, words) => assert.throws(() => index.getNnsByVector(q, 3, { filter }), (e) => {
      assert.ok(e instanceof type, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, words);
      assert.ok(e.code);
      return true;
    });
    fails(new Uint8Array(49), RangeError, /filter bitset has 49 bytes; the index has 400 items, so it needs 50/);
    fails([1, 400], RangeError, /filter allows id 400, but the index has 400 items/);
    fails(new Set([-3]), RangeError, /filter id -3 is negative/);
    fails([1.5], TypeError, /filter id must be an integer, got 1.5/);
    fails(['7'], TypeError, /filter id must be an integer/);
    fails([2 ** 40], RangeError, /filter id 1099511627776 does not fit in 32 bits/);
    fails('abc', TypeError, /filter must be a Uint8Array bitset, an Array or Set of ids, or a function/);
    fails(new Float32Array(50), TypeError, /filter must be/);
    fails(7, TypeError, /filter must be/);
    assert.throws(() => index.getNnsByVector(q, 3, { filtre: [1] }), /unknown option 'filtre'/);
    assert.throws(() => index.getNnsByVector(q, 3, -1, false, true, { filter: [1] }), /at most 2 optional arguments/);
    assert.throws(() => index.getNnsByVector(q, 3, () => { throw new Error('mine'); }), TypeError);  // not an options object
    assert.throws(() => index.getNnsByVector(q, 3, { filter: () => { throw new Error('mine'); } }), /mine/);
    assert.deepEqual(index.getNnsByVector(q, 3, { filter: [] }), []);
    assert.deepEqual(index.getNnsByVector(q, 3, { filter: [5] }), [5]);
    assert.equal(index.getNnsByVector(q, 3, { filter: undefined }).length, 3);
  } finally {
    index.dispose();
  }
});

test('a sharded index takes a filter of global ids', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-filter-'));
  const n = 600;
  const items = randomVectors(n, 6, 9);
  const whole = new AnnoyIndex(6, 'euclidean');
  items.forEach((v, i) => whole.addItem(i, v));
  whole.build(4);
  const manifest = { format: 'grove-sharded', version: 1, f: 6, metric: 'euclidean', total_items: n, shards: [] };
  for (let s = 0; s < 3; s++) {  // windows that start mid-byte (100) and on a byte (400)
    const size = s === 0 ? 100 : s === 1 ? 300 : 200;
    const first = s === 0 ? 0 : s === 1 ? 100 : 400;
    const shard = new AnnoyIndex(6, 'euclidean');
    for (let i = 0; i < size; i++) shard.addItem(i, items[first + i]);
    shard.build(4);
    shard.save(path.join(dir, `s${s}.ann`));
    shard.dispose();
    manifest.shards.push({ file: `s${s}.ann`, items: size, first_id: first, n_trees: 4, seed: 1 });
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(manifest));
  const sharded = await ShardedIndex.open(path.join(dir, 'index.json'));
  try {
    const mask = allowed(n, 0.05, 10);
    for (const query of items.slice(0, 5)) {
      assert.deepEqual(sharded.getNnsByVector(query, 10, n * 4, { filter: forms(mask).bitset }), restricted(whole, query, mask, 10)[0]);
    }
    assert.throws(() => sharded.getNnsByVector(items[0], 3, { filter: [600] }), /filter allows id 600, but the index has 600 items/);
  } finally {
    sharded.dispose();
    whole.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
