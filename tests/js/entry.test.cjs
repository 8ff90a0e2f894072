'use strict';
// The CommonJS entry: require() returns a ready API, the same instance as the ES module entry.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const grove = require('grove-ann');

test('require() is ready synchronously', () => {
  const index = new grove.AnnoyIndex(2, 'euclidean');
  index.addItem(0, [0, 0]);
  index.addItem(1, [3, 4]);
  index.build(1);
  assert.deepEqual(index.getNnsByVector([3, 3], 1, -1, true), [[1], [1]]);
  index.dispose();
});

test('CJS and ESM entries share one module', async () => {
  const esm = await import('grove-ann');
  assert.equal(esm.AnnoyIndex, grove.AnnoyIndex);
});
