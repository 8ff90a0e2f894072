// ShardedIndex in Node: from a manifest path (shards read beside it) and from a URL (shards
// fetched in parallel); answers at exhaustive search_k equal brute force over all items, and
// every bad manifest or shard is a named GroveError.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { GroveError, ShardedIndex } from 'grove-ann';
import { serveStatic } from '../../scripts/serve.mjs';
import { bruteForce, writeSharded } from './shards.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-sharded-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('from a path: exhaustive answers equal brute force over all shards', async () => {
  const { items, path: manifest } = writeSharded(path.join(tmp, 'a'));
  const index = await ShardedIndex.open(manifest);
  assert.equal(index.getNItems(), 2000);
  assert.equal(index.getNShards(), 4);
  for (let q = 0; q < 10; q++) {
    const query = items[q * 97].map((x) => x + 0.01);
    assert.deepEqual(index.getNnsByVector(query, 10, 100000), bruteForce(items, query, 10));
  }
  assert.deepEqual(index.getNnsByItem(1234, 1), [1234]);
  assert.deepEqual(index.getItemVector(1999).map((x) => Math.fround(x)), items[1999].map((x) => Math.fround(x)));
  const { ids } = index.getNnsByVectors(new Float32Array(items[5]), 3);
  assert.deepEqual(Array.from(ids), index.getNnsByVector(items[5], 3));
  index.dispose();
});

test('from a URL: shards fetched in parallel, the same answers', async () => {
  const { items } = writeSharded(path.join(tmp, 'b'));
  const server = await serveStatic(tmp);
  try {
    let progress = 0;
    const index = await ShardedIndex.open(`${server.url}/b/index.json`, { onProgress: (loaded) => { progress = loaded; } });
    const query = items[42];
    assert.deepEqual(index.getNnsByVector(query, 5, 100000), bruteForce(items, query, 5));
    assert.ok(progress > 0);
    index.dispose();
    await assert.rejects(ShardedIndex.open(`${server.url}/none/index.json`), (e) => e instanceof GroveError && /HTTP 404/.test(e.message));
  } finally {
    server.close();
  }
});

test('bad manifests and shards are named errors', async () => {
  const { manifest } = writeSharded(path.join(tmp, 'c'), { n: 400 });
  const dir = path.join(tmp, 'c');
  const write = (m) => writeFileSync(path.join(dir, 'index.json'), typeof m === 'string' ? m : JSON.stringify(m));
  write({ ...manifest, shards: manifest.shards.map((s, i) => (i === 1 ? { ...s, first_id: 50 } : s)) });
  await assert.rejects(ShardedIndex.open(path.join(dir, 'index.json')), (e) => e instanceof GroveError && e.code === 'BadFormat' && /overlapping ids/.test(e.message));
  write('{"format": "grove-sharded"');
  await assert.rejects(ShardedIndex.open(path.join(dir, 'index.json')), (e) => e.code === 'BadFormat' && e.message.includes('index.json'));
  write(manifest);
  unlinkSync(path.join(dir, 'shard-2.ann'));
  await assert.rejects(ShardedIndex.open(path.join(dir, 'index.json')), (e) => e.code === 'Io' && /shard-2\.ann/.test(e.message));
  await assert.rejects(ShardedIndex.open(path.join(dir, 'missing.json')), (e) => e.code === 'Io' && /missing\.json/.test(e.message));
  writeFileSync(path.join(dir, 'shard-2.ann'), new Uint8Array(28 * 5));
  await assert.rejects(ShardedIndex.open(path.join(dir, 'index.json')), (e) => e.code === 'BadFormat' && /shard-2\.ann/.test(e.message));
});

test('FIFOs, folders and symbolic links are named errors at once, never a hang', async () => {
  writeSharded(path.join(tmp, 'd'), { n: 400 });
  const dir = path.join(tmp, 'd');
  const manifest = path.join(dir, 'index.json');
  const shard = path.join(dir, 'shard-1.ann');
  renameSync(shard, path.join(dir, 'real.ann'));
  execFileSync('mkfifo', [shard]);
  await assert.rejects(ShardedIndex.open(manifest), (e) => e.code === 'Io' && /not a regular file/.test(e.message));
  execFileSync('mkfifo', [path.join(dir, 'fifo.json')]);
  await assert.rejects(ShardedIndex.open(path.join(dir, 'fifo.json')), (e) => e.code === 'Io' && /not a regular file/.test(e.message));
  await assert.rejects(ShardedIndex.open(dir), (e) => e.code === 'Io' && /Is a directory/.test(e.message));
  unlinkSync(shard);
  symlinkSync(path.join(dir, 'real.ann'), shard);
  await assert.rejects(ShardedIndex.open(manifest), (e) => e.code === 'Io' && /symbolic link/.test(e.message));
  unlinkSync(shard);
  renameSync(path.join(dir, 'real.ann'), shard);
  (await ShardedIndex.open(manifest)).dispose();
});
