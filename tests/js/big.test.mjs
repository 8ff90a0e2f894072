// A large index in wasm: add, build, save, load and query an index of 1.6 GB, close to the
// largest block wasm32's allocator gives (2 GiB). Files move in 1 GiB chunks (one fs call
// takes at most 2^31 - 1 bytes), and save() keeps one copy of the index in memory, not two.
// About 30 s and 2 GB of memory; GROVE_SKIP_BIG=1 skips it (the checked-heap wasm run does,
// where it would take many minutes).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';

const skip = process.env.GROVE_SKIP_BIG === '1' && 'GROVE_SKIP_BIG=1';

test('a 1.6 GB index: add, build, save, load, query', { skip, timeout: 600_000 }, () => {
  const f = 256;  // 1040-byte euclidean nodes
  const n = 1_550_000;  // 1.61 GB of items, more with the tree
  const row = new Float32Array(f);
  const fill = (i) => {
    let x = (i * 2654435761) >>> 0;
    for (let c = 0; c < f; c++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      row[c] = x / 4294967296;
    }
    return row;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-big-'));
  const file = path.join(dir, 'big.ann');
  const probes = [0, 1, 777_777, n - 1];
  try {
    const index = new AnnoyIndex(f, 'euclidean');
    index.addItem(n - 1, fill(n - 1));  // the largest id first: one block of the final size
    for (let i = 0; i < n - 1; i++) index.addItem(i, fill(i));
    index.build(1);
    const bytes = index.serialize().byteLength;
    assert.ok(bytes > 1.6e9, `${bytes} bytes`);
    const before = probes.map((i) => index.getNnsByItem(i, 3, 2000));
    for (const [k, i] of probes.entries()) assert.equal(before[k][0], i);
    const heap = AnnoyIndex.wasmMemoryBytes();
    index.save(file);  // written in chunks; the index stays in memory once, now read-only
    assert.equal(AnnoyIndex.wasmMemoryBytes(), heap, 'save() read a second copy into wasm memory');
    assert.equal(statSync(file).size, bytes);
    assert.equal(index.isLoaded(), true);
    index.dispose();

    const loaded = new AnnoyIndex(f, 'euclidean');
    loaded.load(file);  // read in chunks
    assert.equal(loaded.getNItems(), n);
    assert.deepEqual(probes.map((i) => loaded.getNnsByItem(i, 3, 2000)), before);
    assert.deepEqual(loaded.getNnsByVector(fill(777_777), 1, 2000), [777_777]);
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
