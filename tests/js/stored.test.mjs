// saveTo('opfs:<name>') and AnnoyIndex.open() outside a browser: named errors (the browser
// itself is tested in tests/browser/stored.test.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnoyIndex, GroveError } from 'grove-ann';

test('saveTo and open say what they need in Node, and check their names first', async () => {
  const index = new AnnoyIndex(3, 'euclidean');
  try {
    await assert.rejects(index.saveTo('opfs:x'), (e) => e instanceof GroveError && e.code === 'WrongState');
    index.addItem(0, [1, 2, 3]);
    index.build(2);
    await assert.rejects(index.saveTo('opfs:x'), (e) => e instanceof GroveError && e.code === 'Io' && /neither the Origin Private File System nor IndexedDB/.test(e.message));
    await assert.rejects(AnnoyIndex.open('opfs:x'), (e) => e instanceof GroveError && e.code === 'Io');
    for (const bad of ['x', 'opfs:', 'opfs:a b', `opfs:${'a'.repeat(201)}`]) {
      await assert.rejects(index.saveTo(bad), RangeError, bad);
      await assert.rejects(AnnoyIndex.open(bad), RangeError, bad);
    }
    await assert.rejects(index.saveTo(7), TypeError);
  } finally {
    index.dispose();
  }
});
