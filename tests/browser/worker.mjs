// Runs the same checks inside a module Web Worker, and answers the message the page posts
// right after creating the worker: importing Grove has no top-level await, so the handler is
// set before that message arrives.
import { AnnoyIndex, ready } from '/dist/grove.browser.mjs';
import { run } from './checks.mjs';

self.onmessage = async ({ data }) => {
  await ready;
  const index = new AnnoyIndex(3, 'euclidean');
  index.addItem(0, [0, 0, 0]);
  index.addItem(1, [1, 1, 1]);
  index.build(2);
  postMessage({ answer: index.getNnsByVector(data.query, 2) });
  index.dispose();
};

run().then((result) => postMessage(result), (e) => postMessage({ fatal: String(e?.stack ?? e) }));
