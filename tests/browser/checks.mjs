// Checks that run in the browser (page and Worker): build, query, errors, and an index file
// written by real Annoy fetched over HTTP with AnnoyIndex.fromUrl.
import { AnnoyIndex, GroveError, ShardedIndex, init, ready } from '/dist/grove.browser.mjs';
import * as inline from '/dist/grove.inline.mjs';

export async function run() {
  const checks = {};

  // Before the module loads, creating an index is a named error, not a crash.
  try {
    new AnnoyIndex(3, 'euclidean');
    checks.not_ready_error = false;
  } catch (e) {
    checks.not_ready_error = e instanceof GroveError && e.code === 'WrongState' && e.message.includes('await ready');
  }
  await ready;
  checks.init_returns_the_same_load = (await init()).AnnoyIndex === AnnoyIndex;

  // The inline entry carries its own wasm.
  await inline.ready;
  const small = new inline.AnnoyIndex(2, 'angular');
  small.addItem(0, [1, 0]);
  small.addItem(1, [0, 1]);
  small.build(2);
  checks.inline_entry = JSON.stringify(small.getNnsByVector([0.9, 0.1], 1)) === '[0]';
  small.dispose();

  const index = new AnnoyIndex(3, 'euclidean');
  index.addItem(0, [0, 0, 0]);
  index.addItem(1, [1, 1, 1]);
  index.addItem(2, new Float32Array([5, 5, 5]));
  index.build(4);
  checks.build_and_query = JSON.stringify(index.getNnsByVector([0.9, 1.1, 1], 2)) === '[1,0]';
  const copy = AnnoyIndex.deserialize(index.serialize(), 3, 'euclidean');
  checks.serialize_round_trip = JSON.stringify(copy.getNnsByItem(2, 3)) === '[2,1,0]';

  try {
    index.addItem(3, [1, 2]);
    checks.wrong_length_error = false;
  } catch (e) {
    checks.wrong_length_error = e instanceof RangeError && e.message === 'vector has wrong length: expected 3, got 2';
  }
  try {
    index.save('x.ann');
    checks.save_points_to_serialize = false;
  } catch (e) {
    checks.save_points_to_serialize = e instanceof GroveError && e.message.includes('serialize()');
  }
  index.dispose();
  copy.dispose();

  // Annoy's own file and answers, fetched over HTTP.
  const spec = await (await fetch('/tests/data/annoy/angular.json')).json();
  let progress = 0;
  const annoy = await AnnoyIndex.fromUrl('/tests/data/annoy/angular.ann', 16, 'angular', {
    onProgress: (loaded) => { progress = loaded; },
  });
  checks.fetched_with_progress = progress === spec.loaded.file_bytes;
  checks.annoy_counts = annoy.getNItems() === spec.loaded.n_items && annoy.getNTrees() === spec.loaded.n_trees;
  let same = true;
  for (const q of spec.by_item) {
    for (const [k, want] of Object.entries(q.annoy)) {
      const [ids, dists] = annoy.getNnsByItem(q.item, spec.k, Number(k), true);
      if (JSON.stringify(ids) !== JSON.stringify(want.ids)) same = false;
      dists.forEach((d, r) => { if (Math.abs(d - want.distances[r]) > 1e-5 * Math.max(1, Math.abs(d))) same = false; });
    }
  }
  checks.annoy_results = same;
  annoy.dispose();

  try {
    await AnnoyIndex.fromUrl('/tests/data/annoy/missing.ann', 16, 'angular');
    checks.http_404_error = false;
  } catch (e) {
    checks.http_404_error = e instanceof GroveError && e.message.includes('HTTP 404');
  }
  // A sharded index from URLs: the manifest, then its four shards fetched in parallel.
  const sharded = await ShardedIndex.open('/build/browser-sharded/index.json');
  checks.sharded_from_urls = sharded.getNItems() === 2000 && sharded.getNShards() === 4 &&
    JSON.stringify(sharded.getNnsByItem(1234, 1)) === '[1234]';
  sharded.dispose();
  return { checks };
}
