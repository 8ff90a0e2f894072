// The search runs here, off the page's thread: load the index, answer queries.
// Importing Grove is synchronous (no top-level await), so the handler is installed before
// any message can arrive; the wasm loads on the first `await ready`.
import { AnnoyIndex, ready } from './grove.browser.mjs';

let index = null;
let meta = null;

self.onmessage = async ({ data: message }) => {
  try {
    await ready;
    if (message.type === 'load') {
      meta = message.meta;
      const started = performance.now();
      // The compact companion (8-bit codes of the items) comes too, so the first query need
      // not make it; the answers are the same without it.
      index = await AnnoyIndex.fromUrl(message.url, meta.dim, meta.metric, {
        companion: message.companion,
        onProgress: (loaded, total) => postMessage({ type: 'progress', loaded, total: total ?? meta.bytes }),
      });
      const ms = performance.now() - started;
      // Warm up before any timing is shown: the first queries compile the wasm's hot paths
      // and touch the index's pages, and would read as slow as a scan (17 ms, measured).
      for (let i = 0; i < 32; i++) index.getNnsByItem((i * 7919) % index.getNItems(), 10, 1000);
      index.getNnsByItem(0, 10, index.getNItems() * index.getNTrees());
      postMessage({ type: 'loaded', ms, items: index.getNItems(), trees: index.getNTrees() });
    } else if (message.type === 'vectors') {
      postMessage({ type: 'vectors', id: message.id, vectors: message.items.map((i) => index.getItemVector(i)) });
    } else if (message.type === 'search') {
      const query = message.item !== undefined ? index.getItemVector(message.item) : message.vector;
      const started = performance.now();
      const [ids, distances] = index.getNnsByVector(query, 10, message.searchK, true);
      const ms = performance.now() - started;
      // The exact answer, also in wasm: every item of every tree is a candidate.
      const t2 = performance.now();
      const exact = index.getNnsByVector(query, 10, index.getNItems() * index.getNTrees());
      const exactMs = performance.now() - t2;
      const recall = exact.filter((id) => ids.includes(id)).length / exact.length;
      postMessage({ type: 'result', id: message.id, query, ids, distances, ms, exactMs, recall,
        vectors: ids.map((i) => index.getItemVector(i)) });
    }
  } catch (e) {
    postMessage({ type: 'error', message: String(e?.message ?? e) });
  }
};
