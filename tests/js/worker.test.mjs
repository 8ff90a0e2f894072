// The package works inside worker_threads, and indexes cross threads as bytes.
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AnnoyIndex } from 'grove-ann';

const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { AnnoyIndex } = require(workerData.entry);
  const index = AnnoyIndex.deserialize(workerData.bytes, 4, 'angular');
  parentPort.postMessage(index.getNnsByVector([1, 0, 0, 0], 3));
  index.dispose();
`;

test('a worker loads an index from bytes and answers as the main thread does', async () => {
  const index = new AnnoyIndex(4, 'angular');
  for (let i = 0; i < 100; i++) index.addItem(i, [Math.cos(i), Math.sin(i), i % 3, 1]);
  index.build(5);
  const expected = index.getNnsByVector([1, 0, 0, 0], 3);
  const entry = fileURLToPath(new URL('../../js/node.cjs', import.meta.url));
  const worker = new Worker(workerSource, { eval: true, workerData: { entry, bytes: index.serialize() } });
  const answer = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(answer, expected);
  index.dispose();
});
