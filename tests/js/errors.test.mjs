// Every bad input throws a clear error with the C++ library's words, and the index stays usable.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex, GroveError } from 'grove-ann';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-errors-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function throwsLike(fn, type, words, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof type, `${e.constructor.name}: ${e.message}`);
    assert.ok(e.message.includes(words), `"${e.message}" lacks "${words}"`);
    if (code) assert.equal(e.code, code);
    return true;
  });
}

function small() {
  const index = new AnnoyIndex(3, 'euclidean');
  for (let i = 0; i < 50; i++) index.addItem(i, [i, i % 7, i % 3]);
  index.build(3);
  return index;
}

// The argument fuzzer's seed 344000: an on-disk build of nothing (0 trees, 0 bytes) left the
// index without its storage, and serialize() then crashed the wasm.
test('an on-disk build of no items leaves a usable index', () => {
  const index = new AnnoyIndex(3, 'euclidean');
  index.onDiskBuild(path.join(tmp, 'nothing.ann'));
  index.build(-1);
  assert.equal(index.serialize().length, 0);
  assert.deepEqual(index.getNnsByVector([1, 2, 3], 3), []);
  index.dispose();
});

test('constructor', () => {
  throwsLike(() => new AnnoyIndex(3, 'cosinus'), RangeError, "unknown metric 'cosinus'", 'InvalidArgument');
  throwsLike(() => new AnnoyIndex(0, 'angular'), RangeError, 'dimension f must be between 1');
  throwsLike(() => new AnnoyIndex(2 ** 31, 'angular'), RangeError, 'dimension f must be between 1 and 16777216, got 2147483648', 'InvalidArgument');
  throwsLike(() => new AnnoyIndex(2.5, 'angular'), TypeError, 'dimension f must be an integer');
  throwsLike(() => new AnnoyIndex(3), TypeError, 'metric must be a string');
});

test('addItem', () => {
  const index = new AnnoyIndex(3, 'angular');
  throwsLike(() => index.addItem(0, [1, 2]), RangeError, 'vector has wrong length: expected 3, got 2');
  throwsLike(() => index.addItem(0, 'abc'), TypeError, 'vector must be an Array');
  throwsLike(() => index.addItem(0, [1, NaN, 3]), RangeError, 'non-finite value at index 1');
  throwsLike(() => index.addItem(0, [Infinity, 0, 3]), RangeError, 'non-finite value at index 0');
  throwsLike(() => index.addItem(-1, [1, 2, 3]), RangeError, 'item id -1 is negative', 'OutOfRange');
  throwsLike(() => index.addItem(1.5, [1, 2, 3]), TypeError, 'item id must be an integer, got 1.5');
  throwsLike(() => index.addItem('1', [1, 2, 3]), TypeError, "item id must be an integer, got '1'");
  throwsLike(() => index.addItem(2 ** 31 - 1, [1, 2, 3]), RangeError, 'too large');
  throwsLike(() => index.addItem(2 ** 40, [1, 2, 3]), RangeError, 'too large');
  assert.equal(index.getNItems(), 0);
  const bits = new AnnoyIndex(3, 'hamming');
  throwsLike(() => bits.addItem(0, [1, 0.5, 0]), RangeError, 'not 0 or 1');
  index.dispose();
  bits.dispose();
});

test('call order', () => {
  const empty = new AnnoyIndex(3, 'angular');
  throwsLike(() => empty.getNnsByVector([1, 2, 3], 1), GroveError, 'call build() or load()', 'WrongState');
  // As in Annoy: an index with no items builds, and answers nothing.
  const none = new AnnoyIndex(3, 'euclidean');
  assert.equal(none.build(5), true);
  assert.deepEqual(none.getNnsByVector([1, 2, 3], 10), []);
  assert.deepEqual(new Uint8Array(none.serialize()).length % 28, 0);
  none.dispose();
  throwsLike(() => empty.save(path.join(tmp, 'never.ann')), GroveError, 'not been built');
  const index = small();
  index.addItem(60, [1, 2, 3]);  // after build: into the trees (changes.test.mjs)
  throwsLike(() => index.build(3), GroveError, 'already built');
  throwsLike(() => index.onDiskBuild(path.join(tmp, 'x.ann')), GroveError, 'before add_item()');
  const file = path.join(tmp, 'order.ann');
  index.save(file);
  throwsLike(() => index.addItem(0, [1, 2, 3]), GroveError, 'loaded index');
  throwsLike(() => index.unbuild(), GroveError, 'loaded index');
  index.unload();
  index.addItem(0, [1, 2, 3]);  // empty and writable again
  empty.dispose();
  index.dispose();
});

test('build and query arguments', () => {
  const index = new AnnoyIndex(3, 'angular');
  index.addItem(0, [1, 2, 3]);
  throwsLike(() => index.build(0), RangeError, 'n_trees must be -1 (automatic) or at least 1, got 0');
  throwsLike(() => index.build(-2), RangeError, 'got -2');
  throwsLike(() => index.build(5, 0), RangeError, 'n_jobs must be -1');
  throwsLike(() => index.build('5'), TypeError, 'nTrees must be an integer');
  index.build(2);
  throwsLike(() => index.getNnsByItem(0, 0), RangeError, 'n must be at least 1, got 0');
  throwsLike(() => index.getNnsByItem(0, -3), RangeError, 'got -3');
  throwsLike(() => index.getNnsByItem(0, 5, 0), RangeError, 'search_k must be -1');
  throwsLike(() => index.getNnsByItem(0, 5, -2), RangeError, 'got -2');
  throwsLike(() => index.getNnsByItem(1, 5), RangeError, 'item 1 is out of range: the index has 1 items', 'OutOfRange');
  throwsLike(() => index.getNnsByItem(-1, 5), RangeError, 'item -1 is negative');
  throwsLike(() => index.getNnsByVector([1], 5), RangeError, 'query vector has wrong length: expected 3, got 1');
  throwsLike(() => index.getNnsByVector([1, NaN, 0], 5), RangeError, 'non-finite');
  throwsLike(() => index.getItemVector(5), RangeError, 'out of range');
  throwsLike(() => index.getDistance(0, 99), RangeError, 'item 99');
  assert.deepEqual(index.getNnsByItem(0, 5), [0]);  // still usable
  index.dispose();
});

test('files and bytes', () => {
  const index = new AnnoyIndex(3, 'euclidean');
  throwsLike(() => index.load(path.join(tmp, 'missing.ann')), GroveError, 'No such file or directory', 'Io');
  throwsLike(() => index.load(tmp), GroveError, 'Is a directory');
  writeFileSync(path.join(tmp, 'empty.ann'), '');
  throwsLike(() => index.load(path.join(tmp, 'empty.ann')), GroveError, 'empty', 'BadFormat');
  const bytes = small().serialize();
  throwsLike(() => index.load(bytes.subarray(0, bytes.length - 7)), GroveError, 'not a multiple of the node size 28', 'BadFormat');
  throwsLike(() => new AnnoyIndex(4, 'euclidean').load(bytes), GroveError, 'f=4, metric=euclidean');
  throwsLike(() => new AnnoyIndex(3, 'angular').load(bytes), GroveError, 'metric=angular');
  throwsLike(() => index.load(42), TypeError, 'load() takes a path');
  throwsLike(() => small().save(path.join(tmp, 'no/such/dir/x.ann')), GroveError, "cannot create");
  throwsLike(() => small().save(''), GroveError, 'path is empty');
  index.load(bytes);  // a failed load left it usable
  assert.equal(index.getNItems(), 50);
  index.dispose();
});

// As the C++ library: only a regular file is replaced by the rename of a save; a device or
// FIFO is written into (Annoy's test saves to /dev/full), a symlink is followed and kept.
test('save writes into devices and through links, and never replaces them', () => {
  const index = small();
  throwsLike(() => index.save('/dev/full'), GroveError, 'No space left on device', 'Io');
  assert.ok(lstatSync('/dev/full').isCharacterDevice(), '/dev/full was replaced');
  assert.equal(existsSync('/dev/full.sq8'), false);
  const fifo = path.join(tmp, 'target.fifo');
  execFileSync('mkfifo', [fifo]);
  throwsLike(() => index.save(fifo), GroveError, 'target.fifo', 'Io');  // nobody reads it: at once
  assert.ok(lstatSync(fifo).isFIFO());
  throwsLike(() => new AnnoyIndex(3, 'euclidean').onDiskBuild(fifo), GroveError, 'not a regular file', 'Io');
  throwsLike(() => index.save(tmp), GroveError, 'Is a directory', 'Io');
  const link = path.join(tmp, 'target-link.ann');
  symlinkSync('target-real.ann', link);  // dangling until the first save
  for (let round = 0; round < 2; round++) {
    index.save(link);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.ok(lstatSync(path.join(tmp, 'target-real.ann')).isFile());
  }
  const loaded = new AnnoyIndex(3, 'euclidean');
  loaded.load(path.join(tmp, 'target-real.ann'));
  assert.equal(loaded.getNItems(), 50);
  index.dispose();
  loaded.dispose();
});

test('a failed load keeps the index that was loaded', () => {
  const index = small();
  const before = index.getNnsByItem(3, 5);
  assert.throws(() => index.load(path.join(tmp, 'missing.ann')));
  assert.throws(() => index.load(new Uint8Array(5)));
  assert.deepEqual(index.getNnsByItem(3, 5), before);
  index.dispose();
});

test('use after dispose', () => {
  const index = small();
  index.dispose();
  index.dispose();  // twice is fine
  assert.equal(index.disposed, true);
  throwsLike(() => index.getNItems(), GroveError, 'disposed', 'WrongState');
  throwsLike(() => index.addItem(0, [1, 2, 3]), GroveError, 'disposed');
});

test('running out of wasm memory is a catchable error, and the module keeps working', () => {
  const huge = new AnnoyIndex(1 << 20, 'euclidean');  // 4 MiB per item
  const v = new Float32Array(1 << 20);
  // id 1100 needs 4.4 GB for the items: over the default limit (the largest wasm32 block)
  throwsLike(() => huge.addItem(1100, v), GroveError, 'over the memory limit', 'OutOfMemory');
  // with no limit set, the platform's own bound answers, before any allocation
  huge.setMemoryLimit(0);
  throwsLike(() => huge.addItem(1100, v), GroveError, 'more than this platform can allocate', 'OutOfMemory');
  assert.equal(huge.getNItems(), 0);
  huge.dispose();
  const index = small();
  assert.equal(index.getNnsByItem(0, 3).length, 3);
  index.dispose();
});

// 100 cycles; 20 in the checked-heap run (GROVE_SKIP_BIG=1), where each cycle is ten times as
// slow and what it checks is the heap's accesses, not a slow leak (the plain run finds those).
const cycles = process.env.GROVE_SKIP_BIG === '1' ? 20 : 100;
test(`dispose() returns memory: ${cycles} build/dispose cycles do not grow the heap`, () => {
  const cycle = () => {
    const index = new AnnoyIndex(32, 'angular');
    for (let i = 0; i < 2000; i++) index.addItem(i, Array.from({ length: 32 }, (_, c) => Math.sin(i * 31 + c)));
    index.build(10);
    index.getNnsByItem(0, 10);
    index.dispose();
  };
  for (let i = 0; i < 5; i++) cycle();  // warm up: the heap reaches its working size
  const before = AnnoyIndex.wasmMemoryBytes();
  for (let i = 0; i < cycles; i++) cycle();
  assert.equal(AnnoyIndex.wasmMemoryBytes(), before);
});

test('running out of wasm memory while loading is a catchable error', () => {
  const index = small();
  let bytes;
  try {
    bytes = new Uint8Array(2 ** 32 + 28);  // more than wasm32 can hold; not touched, so cheap
  } catch {
    return;  // this machine cannot even make the buffer: nothing to test
  }
  throwsLike(() => index.load(bytes), GroveError, 'out of memory', 'OutOfMemory');
  assert.equal(index.getNItems(), 50);  // the loaded index is still there
  index.dispose();
});

test('load over a loaded index replaces it once the new one is valid', () => {
  const a = small();
  const b = new AnnoyIndex(3, 'euclidean');
  b.addItem(0, [1, 1, 1]);
  b.build(1);
  a.load(b.serialize());
  assert.equal(a.getNItems(), 1);
  a.dispose();
  b.dispose();
});

test('every setter reports errors as GroveError, never a bare wasm exception', () => {
  const index = new AnnoyIndex(3, 'euclidean');
  index.addItem(0, [1, 2, 3]);
  throwsLike(() => index.setAnnoyFloatOrder(true), GroveError, 'before add_item()', 'WrongState');
  index.addItem(1, [3, 2, 1]);  // and the index still works
  index.build(1);
  assert.deepEqual(index.getNnsByItem(0, 1), [0]);
  index.dispose();
});

test('nTrees beyond int32 is a RangeError, not a wrapped tree count', () => {
  const index = new AnnoyIndex(3, 'euclidean');
  index.addItem(0, [1, 2, 3]);
  throwsLike(() => index.build(2 ** 32 + 3), RangeError, 'n_trees must be -1 (automatic) or at least 1, got 4294967299');
  throwsLike(() => index.build(0), RangeError, 'n_trees');
  index.build(3);
  assert.ok(index.getNTrees() >= 1);
  index.dispose();
});

test('a null or non-numeric query vector is a TypeError, never the previous answer', () => {
  const index = small();
  index.getNnsByVector([1, 2, 3], 3);
  throwsLike(() => index.getNnsByVector(null, 3), TypeError, 'query vector must be an Array', 'InvalidArgument');
  throwsLike(() => index.getNnsByVector(undefined, 3), TypeError, 'query vector must be an Array');
  for (const bad of [['1', '2', '3'], [true, null, false], [[1], [2], [3]], ['', ' 7 ', '0x10'], new BigInt64Array(3),
    new DataView(new ArrayBuffer(12)), { length: 3, 0: 1, 1: 2, 2: 3 }]) {
    throwsLike(() => index.getNnsByVector(bad, 3), TypeError, 'query vector', 'InvalidArgument');
    throwsLike(() => index.addItem(0, bad), TypeError, 'vector', 'InvalidArgument');
  }
  throwsLike(() => index.getNnsByVectors(['1', '2', '3'], 3), TypeError, 'queries', 'InvalidArgument');
  assert.deepEqual(index.getNnsByItem(0, 1), [0]);
  index.dispose();
});

test('dispose() while loadUrl is in flight: a GroveError, and the download block is freed', async () => {
  const bytes = small().serialize();
  const index = new AnnoyIndex(3, 'euclidean');
  let release;
  const body = new ReadableStream({
    start(controller) {
      release = () => {
        controller.enqueue(bytes);
        controller.close();
      };
    },
  });
  const loading = index.loadUrl(new Response(body));
  index.dispose();
  release();
  await assert.rejects(loading, (e) => e instanceof GroveError && e.code === 'WrongState' && /disposed/.test(e.message));
  const other = small();
  assert.equal(other.getNnsByItem(0, 1)[0], 0);
  other.dispose();
});

test('sizes too large for wasm are OutOfMemory before any allocation, and the scratch block survives', () => {
  const index = small();
  index.getNnsByVector([1, 2, 3], 3);  // the scratch block exists
  throwsLike(() => index.getNnsByVectors(new Float32Array([1, 2, 3]), 2 ** 31), GroveError, 'more than wasm32 can allocate', 'OutOfMemory');
  throwsLike(() => index.getNnsByVectors(new Float32Array([1, 2, 3]), 2 ** 29 + 1), GroveError, 'out of memory', 'OutOfMemory');
  for (let i = 0; i < 100; i++) assert.deepEqual(index.getNnsByVector([i % 50, (i % 50) % 7, (i % 50) % 3], 1), [i % 50]);
  const other = small();
  assert.deepEqual(other.getNnsByItem(3, 1), [3]);
  other.dispose();
  index.dispose();
});
