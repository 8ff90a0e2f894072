// Compact scoring in wasm: the same answers as the full float ranking for every float metric,
// and the companion travels as a second buffer, file or URL, checked before it is used.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { randomVectors } from './helpers.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-compact-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const F = 21;

function built(metric, seed = 1, options = {}) {
  const index = new AnnoyIndex(F, metric, options);
  const items = randomVectors(700, F, seed);
  items.forEach((v, i) => index.addItem(i, v.map((x, j) => (j % 5 === 0 ? 50 * x : x))));
  index.build(5);
  return index;
}

function sameAnswers(a, b, label) {
  const queries = randomVectors(25, F, 99);
  for (const q of queries) {
    for (const [n, k] of [[1, -1], [10, 200], [40, 100000]]) {
      assert.deepEqual(a.getNnsByVector(q, n, k, true), b.getNnsByVector(q, n, k, true), `${label} n=${n} k=${k}`);
    }
  }
  for (let i = 0; i < 10; i++) assert.deepEqual(a.getNnsByItem(i, 10, -1, true), b.getNnsByItem(i, 10, -1, true), `${label} item ${i}`);
}

for (const [metric, options] of [['angular', {}], ['euclidean', {}], ['manhattan', {}], ['dot', {}], ['dot', { dotLayout: 'main' }]]) {
  test(`${metric}${options.dotLayout ? ' (main layout)' : ''}: compact scoring gives the full ranking's answers`, () => {
    const index = built(metric, 1, options);
    const exact = built(metric, 1, options);
    assert.equal(index.getCompactScoring(), true);
    exact.setCompactScoring(false);
    assert.equal(exact.get_compact_scoring(), false);
    sameAnswers(index, exact, metric);
    // Loaded with its companion as a second buffer, and without it (made on the first query).
    const bytes = index.serialize();
    const companion = index.serializeCompanion();
    assert.ok(companion.byteLength > 0 && companion.byteLength < bytes.byteLength);
    const withCompanion = AnnoyIndex.deserialize(bytes, F, metric, companion);
    const without = AnnoyIndex.deserialize(bytes, F, metric);
    sameAnswers(withCompanion, exact, `${metric} with companion`);
    sameAnswers(without, exact, `${metric} lazy`);
    assert.deepEqual(without.serializeCompanion(), companion);
    index.dispose();
    exact.dispose();
  });
}

test('a companion that does not belong to the index is refused, and answers stay exact', () => {
  const index = built('euclidean', 1);
  const other = built('euclidean', 2);
  const exact = built('euclidean', 1);
  exact.setCompactScoring(false);
  const bytes = index.serialize();
  const loaded = new AnnoyIndex(F, 'euclidean');
  loaded.deserialize(bytes);
  assert.equal(loaded.loadCompanion(other.serializeCompanion()), false);
  assert.equal(loaded.loadCompanion(index.serializeCompanion().subarray(0, 100)), false);
  assert.equal(loaded.deserializeCompanion(new Uint8Array(0)), false);
  assert.equal(loaded.loadCompanion(index.serializeCompanion()), true);
  const damaged = index.serializeCompanion();
  damaged[damaged.length - 5] ^= 0xff;
  assert.equal(loaded.loadCompanion(damaged), true);  // O(1) checks pass; the checksum fails on first use
  sameAnswers(loaded, exact, 'damaged companion');
  assert.throws(() => loaded.loadCompanion(42), TypeError);
  assert.throws(() => loaded.load(bytes, 'no-such-file.sq8'), /cannot open/);
});

test('save() writes <path>.sq8 and load(path) reads it; the off switch writes none', () => {
  const file = path.join(tmp, 'index.ann');
  const index = built('angular', 3);
  const companion = index.serializeCompanion();
  index.save(file);
  assert.deepEqual(new Uint8Array(readFileSync(`${file}.sq8`)), companion);
  const loaded = new AnnoyIndex(F, 'angular');
  loaded.load(file);
  sameAnswers(loaded, index, 'loaded from file');

  const plain = path.join(tmp, 'plain.ann');
  const off = built('angular', 3);
  off.setCompactScoring(false);
  off.save(plain);
  assert.equal(existsSync(`${plain}.sq8`), false);
  // An earlier save's companion is removed when the index saved over it has none.
  built('angular', 4).save(plain);
  assert.ok(existsSync(`${plain}.sq8`));
  const later = built('angular', 5);
  later.setCompactScoring(false);
  later.save(plain);
  assert.equal(existsSync(`${plain}.sq8`), false);

  const onDisk = path.join(tmp, 'ondisk.ann');
  const built2 = new AnnoyIndex(F, 'angular');
  built2.onDiskBuild(onDisk);
  randomVectors(700, F, 3).forEach((v, i) => built2.addItem(i, v.map((x, j) => (j % 5 === 0 ? 50 * x : x))));
  built2.build(5);
  assert.ok(existsSync(`${onDisk}.sq8`));
});

test('hamming has no companion', () => {
  const index = new AnnoyIndex(64, 'hamming');
  randomVectors(100, 64, 4, true).forEach((v, i) => index.addItem(i, v));
  index.build(2);
  assert.equal(index.companionSize(), 0);
  assert.equal(index.serializeCompanion().byteLength, 0);
});

test('fromUrl fetches the companion: an explicit URL, or true for <url>.sq8 (optional then)', async () => {
  const index = built('euclidean', 5);
  const files = { '/i.ann': index.serialize(), '/i.ann.sq8': index.serializeCompanion(), '/bare.ann': index.serialize() };
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const body = files[req.url];
    res.writeHead(body ? 200 : 404, { 'content-length': body ? body.byteLength : 0 });
    res.end(body ? Buffer.from(body) : undefined);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const a = await AnnoyIndex.fromUrl(`${base}/i.ann`, F, 'euclidean', { companion: true });
    const b = await AnnoyIndex.fromUrl(`${base}/i.ann`, F, 'euclidean', { companion: `${base}/i.ann.sq8` });
    const c = await AnnoyIndex.fromUrl(`${base}/bare.ann`, F, 'euclidean', { companion: true });  // 404: made lazily
    await assert.rejects(AnnoyIndex.fromUrl(`${base}/bare.ann`, F, 'euclidean', { companion: `${base}/nothing.sq8` }), /HTTP 404/);
    for (const loaded of [a, b, c]) sameAnswers(loaded, index, 'fetched');
    assert.ok(requests.includes('/i.ann.sq8') && requests.includes('/bare.ann.sq8'));
  } finally {
    server.close();
  }
});

test('load(path, companionPath) takes the companion from another file', () => {
  const index = built('manhattan', 6);
  const file = path.join(tmp, 'm.ann');
  index.save(file);
  writeFileSync(`${file}.copy`, readFileSync(`${file}.sq8`));
  rmSync(`${file}.sq8`);
  const loaded = new AnnoyIndex(F, 'manhattan');
  loaded.load(file, `${file}.copy`);
  sameAnswers(loaded, index, 'companion from a path');
});
