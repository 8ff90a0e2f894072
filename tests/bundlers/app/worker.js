// The worker: imports Grove and answers with the nearest neighbours. The handler is set as
// the module runs, so the page's first message is not lost.
import { AnnoyIndex, ready } from 'GROVE_ENTRY';

self.onmessage = async ({ data }) => {
  try {
    await ready;
    const index = new AnnoyIndex(3, 'euclidean');
    index.addItem(0, [0, 0, 0]);
    index.addItem(1, [1, 1, 1]);
    index.addItem(2, [5, 5, 5]);
    index.build(2);
    postMessage({ ids: index.getNnsByVector(data.query, 2) });
    index.dispose();
  } catch (e) {
    postMessage({ error: String(e?.message ?? e) });
  }
};
