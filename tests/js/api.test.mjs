// The whole AnnoyIndex API in Node (ES module entry, through the package's own name).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex, GroveError } from 'grove-ann';
import { bruteForce, distance, near, randomVectors, root } from './helpers.mjs';

const METRICS = ['angular', 'euclidean', 'manhattan', 'dot', 'hamming'];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-js-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function built(metric, items, trees = 10) {
  const index = new AnnoyIndex(items[0].length, metric);
  items.forEach((v, i) => index.addItem(i, v));
  index.build(trees);
  return index;
}

for (const metric of METRICS) {
  const bits = metric === 'hamming';
  const f = bits ? 70 : 12;

  test(`${metric}: exhaustive search is exact and distances match the oracle`, () => {
    const items = randomVectors(400, f, 1, bits);
    const index = built(metric, items, 5);
    for (const q of randomVectors(20, f, 2, bits)) {
      const [ids, dists] = index.getNnsByVector(q, 10, 400 * 5, true);
      const truth = bruteForce(metric, items, q, 10);
      assert.equal(ids.length, 10);
      dists.forEach((d, r) => {
        assert.ok(near(d, truth[r][1], 1e-4), `rank ${r}: ${d} vs ${truth[r][1]}`);
        assert.ok(near(d, distance(metric, items[ids[r]], q), 1e-4));
      });
    }
    index.dispose();
  });

  test(`${metric}: recall@10 >= 0.95 on 5000 vectors`, () => {
    const g = bits ? 128 : 16;
    const items = randomVectors(5000, g, 3, bits);
    const index = built(metric, items, 20);
    let total = 0;
    const queries = randomVectors(40, g, 4, bits);
    for (const q of queries) {
      const [ids, dists] = index.getNnsByVector(q, 10, 10000, true);
      const truth = bruteForce(metric, items, q, 10);
      if (bits) total += dists.filter((d) => d <= truth[9][1]).length / 10;  // ties at the 10th
      else total += truth.filter(([id]) => ids.includes(id)).length / 10;
    }
    assert.ok(total / queries.length >= 0.95, `recall ${total / queries.length}`);
    index.dispose();
  });

  test(`${metric}: serialize, deserialize, save and load give the same answers`, () => {
    const items = randomVectors(600, f, 5, bits);
    const index = built(metric, items);
    const bytes = index.serialize();
    assert.ok(bytes instanceof Uint8Array);
    const copy = AnnoyIndex.deserialize(bytes, f, metric);
    const file = path.join(tmp, `${metric}.ann`);
    index.save(file);
    assert.deepEqual(new Uint8Array(readFileSync(file)), bytes);
    const loaded = new AnnoyIndex(f, metric);
    loaded.load(file);
    const fromBuffer = new AnnoyIndex(f, metric);
    fromBuffer.load(bytes.buffer.slice(0));
    for (const q of randomVectors(10, f, 6, bits)) {
      const want = index.getNnsByVector(q, 10, -1, true);
      for (const other of [copy, loaded, fromBuffer]) assert.deepEqual(other.getNnsByVector(q, 10, -1, true), want);
    }
    assert.deepEqual(loaded.getItemVector(7), items[7]);
    for (const i of [index, copy, loaded, fromBuffer]) i.dispose();
  });
}

test('the README example', () => {
  const f = 40;
  const index = new AnnoyIndex(f, 'angular');
  for (let i = 0; i < 100; i++) index.addItem(i, Array.from({ length: f }, () => Math.random()));
  index.build(10);
  const ids = index.getNnsByItem(0, 10);
  assert.equal(ids[0], 0);
  const [ids2, distances] = index.getNnsByVector(new Float32Array(f).fill(0.5), 10, -1, true);
  assert.equal(ids2.length, 10);
  assert.equal(distances.length, 10);
  const copy = AnnoyIndex.deserialize(index.serialize(), f, 'angular');
  assert.deepEqual(copy.getNnsByItem(0, 10), ids);
  index.dispose();
  copy[Symbol.dispose]?.();
});

test('Arrays and every numeric typed array are accepted, as Annoy takes any numeric sequence', () => {
  const index = new AnnoyIndex(3, 'euclidean');
  index.addItem(0, [1, 2, 3]);
  index.addItem(1, new Float32Array([1, 2, 4]));
  index.addItem(2, new Float64Array([9, 9, 9]));
  index.addItem(3, new Uint8Array([200, 0, 255]));  // pixels
  index.addItem(4, new Int16Array([-7, 7, 0]));
  index.build(3);
  assert.deepEqual(index.getNnsByVector(new Float64Array([1, 2, 3.9]), 2), [1, 0]);
  assert.deepEqual(index.getNnsByVector(new Uint8Array([199, 1, 254]), 1), [3]);
  assert.deepEqual(index.getItemVector(4), [-7, 7, 0]);
  assert.throws(() => index.addItem(5, new BigInt64Array(3)), TypeError);
  assert.throws(() => index.addItem(5, new DataView(new ArrayBuffer(12))), TypeError);
  index.dispose();
});

test('snake_case aliases run code written from Annoy docs', () => {
  const t = new AnnoyIndex(3, 'angular');
  t.add_item(0, [1, 0, 0]);
  t.add_item(1, [0, 1, 0]);
  t.add_item(2, [0.9, 0.1, 0]);
  t.build(10);
  assert.deepEqual(t.get_nns_by_item(0, 2), [0, 2]);
  assert.deepEqual(t.get_nns_by_vector([1, 0, 0], 1), [0]);
  assert.equal(t.get_n_items(), 3);
  assert.ok(t.get_n_trees() >= 10);
  assert.ok(near(t.get_distance(0, 1), Math.SQRT2));
  assert.deepEqual(t.get_item_vector(1), [0, 1, 0]);
  t.dispose();
});

test('batch search matches single queries, padded where fewer than n', () => {
  const items = randomVectors(300, 8, 7);
  const index = built('euclidean', items, 5);
  const queries = randomVectors(12, 8, 8);
  const { ids, distances } = index.getNnsByVectors(new Float32Array(queries.flat()), 10);
  assert.ok(ids instanceof Int32Array && distances instanceof Float32Array);
  assert.equal(ids.length, 120);
  queries.forEach((q, r) => assert.deepEqual(Array.from(ids.subarray(r * 10, r * 10 + 10)), index.getNnsByVector(q, 10)));
  const small = built('euclidean', randomVectors(3, 8, 9), 2);
  const padded = small.getNnsByVectors(new Float32Array(8), 5);
  assert.deepEqual(Array.from(padded.ids.subarray(3)), [-1, -1]);
  assert.ok(Number.isNaN(padded.distances[4]));
  index.dispose();
  small.dispose();
});

test('seeds make builds reproducible', () => {
  const items = randomVectors(500, 8, 10);
  const make = (seed) => {
    const index = new AnnoyIndex(8, 'angular');
    index.setSeed(seed);
    items.forEach((v, i) => index.addItem(i, v));
    index.build(5);
    const bytes = index.serialize();
    index.dispose();
    return bytes;
  };
  assert.deepEqual(make(42), make(42n));
  assert.notDeepEqual(make(42), make(43));
});

test('onDiskBuild writes the index at build(); the index is that file from then on, as in C++', () => {
  const file = path.join(tmp, 'ondisk.ann');
  const index = new AnnoyIndex(2, 'euclidean');
  assert.equal(index.onDiskBuild(file), true);
  index.addItem(0, [0, 0]);
  index.addItem(1, [1, 1]);
  assert.equal(index.build(2), true);
  assert.ok(existsSync(file));
  assert.deepEqual(new Uint8Array(readFileSync(file)), index.serialize());
  assert.equal(index.isLoaded(), true);
  assert.throws(() => index.unbuild(), /cannot unbuild a loaded index/);
  assert.throws(() => index.addItem(2, [0.1, 0.1]), /loaded index/);
  assert.deepEqual(index.getNnsByVector([0.9, 0.9], 1), [1]);
  index.dispose();
});

test("methods return true where Annoy's do", () => {
  const file = path.join(tmp, 'returns.ann');
  const index = new AnnoyIndex(2, 'euclidean');
  index.addItem(0, [0, 0]);
  assert.equal(index.verbose(false), true);
  assert.equal(index.build(1), true);
  assert.equal(index.unbuild(), true);
  assert.equal(index.build(1), true);
  assert.equal(index.save(file), true);
  assert.equal(index.unload(), true);
  assert.equal(index.load(file), true);
  index.dispose();
});

test('verbose(true) reports build progress on stderr', async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `const { AnnoyIndex } = require('grove-ann');
    const index = new AnnoyIndex(2, 'euclidean');
    for (let i = 0; i < 20; i++) index.addItem(i, [i, i % 3]);
    index.verbose(true);
    index.build(2);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /tree 1 of 2 built/);
  assert.match(r.stderr, /index has \d+ nodes in 2 trees/);
});

test('liveIndexes() counts indexes not yet disposed', () => {
  const before = AnnoyIndex.liveIndexes();
  const a = new AnnoyIndex(2, 'euclidean');
  const b = new AnnoyIndex(2, 'euclidean');
  assert.equal(AnnoyIndex.liveIndexes(), before + 2);
  a.dispose();
  a.dispose();  // twice: counted once
  assert.equal(AnnoyIndex.liveIndexes(), before + 1);
  b.dispose();
  assert.equal(AnnoyIndex.liveIndexes(), before);
});

test("in Annoy's float order, wasm writes Annoy's file byte for byte (angular, released dot)", async () => {
  // The golden rebuild test checks the native side against Annoy; here the wasm side.
  const { goldenDir, floats } = await import('./helpers.mjs');
  for (const metric of ['angular', 'dot']) {
    const items = floats(`${goldenDir}/${metric}.items.f32`);
    const index = new AnnoyIndex(16, metric);
    index.setAnnoyFloatOrder(true);
    for (let i = 0; i < 1000; i++) index.addItem(i, items.subarray(16 * i, 16 * i + 16));
    index.build(10);
    assert.deepEqual(index.serialize(), new Uint8Array(readFileSync(`${goldenDir}/${metric}.ann`)), metric);
    index.dispose();
  }
});

test('dot indexes build in the released layout by default, the main layout on request', () => {
  const make = (options) => {
    const index = new AnnoyIndex(4, 'dot', options);
    for (let i = 0; i < 100; i++) index.addItem(i, [Math.sin(i), Math.cos(i), i % 5, 1]);
    index.build(3);
    return index;
  };
  const released = make();
  const main = make({ dotLayout: 'main' });
  assert.equal(released.getDotLayout(), 'released');
  assert.equal(main.getDotLayout(), 'main');
  assert.equal(released.serialize().byteLength % (16 + 4 * 4), 0);
  assert.equal(main.serialize().byteLength % (24 + 4 * 4), 0);
  const reread = AnnoyIndex.deserialize(main.serialize(), 4, 'dot');  // detected on load
  assert.equal(reread.getDotLayout(), 'main');
  assert.deepEqual(reread.getNnsByItem(3, 5, 100000), main.getNnsByItem(3, 5, 100000));
  const set = new AnnoyIndex(4, 'dot');
  set.set_dot_layout('main');
  assert.equal(set.getDotLayout(), 'main');
  assert.throws(() => set.setDotLayout('1.17.3'), (e) => e instanceof RangeError && /'released'/.test(e.message));
  set.addItem(0, [1, 2, 3, 4]);
  assert.throws(() => set.setDotLayout('released'), /before add_item\(\)/);
  assert.equal(new AnnoyIndex(4, 'angular').getDotLayout(), null);
  for (const index of [released, main, reread, set]) index.dispose();
});

test('errors are GroveError, RangeError or TypeError with a code', () => {
  const index = new AnnoyIndex(2, 'euclidean');
  assert.throws(() => index.getNnsByItem(0, 1), (e) => e instanceof GroveError && e.code === 'WrongState');
  index.dispose();
});

// Editors show the types' JSDoc: every method and property of AnnoyIndex and ShardedIndex in
// js/index.d.ts has one (an overload's first declaration carries it; snake_case aliases point
// at their camelCase method).
test('every AnnoyIndex and ShardedIndex member is documented in index.d.ts', () => {
  const lines = readFileSync(path.join(root, 'js', 'index.d.ts'), 'utf8').split('\n');
  let inClass = null;
  const missing = [];
  lines.forEach((line, i) => {
    const opening = /^export (?:declare )?class (\w+)/.exec(line);
    if (opening) inClass = ['AnnoyIndex', 'ShardedIndex'].includes(opening[1]) ? opening[1] : null;
    else if (line.startsWith('}')) inClass = null;
    const member = inClass && /^ {2}(?:static |readonly )?(\[Symbol\.dispose\]|[A-Za-z]\w*)[(:?]/.exec(line);
    if (!member || member[1].includes('_')) return;
    let j = i - 1;
    while (j >= 0 && lines[j].startsWith(`  ${line.trim().startsWith('static') ? 'static ' : ''}${member[1]}(`)) j--;
    if (!lines[j].trim().endsWith('*/')) missing.push(`${inClass}.${member[1]}`);
  });
  assert.deepEqual([...new Set(missing)], []);
});
