// Strict type checks of the published declarations, as an ES module under node16/nodenext.
import grove, { AnnoyIndex, GroveError, ShardedIndex, init, ready, type Grove, type Manifest } from 'grove-ann';

async function main(): Promise<void> {
  const loaded: Grove = await ready;
  await init({ wasm: new URL('https://cdn.example/grove.wasm') });
  const index = new loaded.AnnoyIndex(3, 'euclidean');
  index.addItem(0, [1, 2, 3]);
  index.addItem(1, new Float32Array(3));
  index.build(2);

  // serialize() is a plain Uint8Array on an ArrayBuffer: Blob and Response take it.
  const bytes = index.serialize();
  const blob = new Blob([bytes]);
  const response = new Response(index.serialize());
  void blob, response;

  // includeDistances as a boolean variable, and searchK left undefined with true.
  const withDistances: boolean = Math.random() > 0.5;
  const either: number[] | [number[], number[]] = index.getNnsByItem(0, 2, -1, withDistances);
  const [ids, distances] = index.getNnsByVector([1, 2, 3], 2, undefined, true);
  const plain: number[] = index.getNnsByItem(0, 2);
  void either, ids, distances, plain;
  // A filter as the last argument, after any of the optional ones.
  const bitset: number[] = index.getNnsByVector([1, 2, 3], 2, { filter: new Uint8Array(1) });
  const some: number[] = index.getNnsByItem(0, 2, -1, { filter: new Set([1, 2]) });
  const [fids, fdist] = index.getNnsByVector([1, 2, 3], 2, -1, true, { filter: (id: number) => id > 3 });
  const batch = index.getNnsByVectors(new Float32Array(6), 2, { filter: [0, 1] });
  void bitset, some, fids, fdist, batch;

  // Changes after build, and indexes kept in the browser.
  index.addItem(2, [3, 2, 1]);
  const removed: true = index.removeItem(2) && index.removeItems([0]) && index.remove_items(new Int32Array([1]));
  await index.saveTo('opfs:products', { onProgress: (loaded: number, total: number | undefined) => void [loaded, total] });
  const reopened: AnnoyIndex = await AnnoyIndex.open('opfs:products');
  reopened.thaw();
  void removed;

  const ok: true = index.save('x.ann');
  const copy = AnnoyIndex.deserialize(bytes, 3, 'euclidean');
  copy.deserialize(bytes);
  copy.loadView(bytes.buffer);
  copy.setMemoryLimit(1 << 20);
  copy.set_memory_limit(1 << 20);
  const layout: 'released' | 'main' | null = copy.getDotLayout();
  void ok, layout;
  // The compact companion travels as a second buffer, path or URL.
  const companion = index.serializeCompanion();
  const withCompanion = AnnoyIndex.deserialize(bytes, 3, 'euclidean', companion);
  withCompanion.load(bytes, { companion });
  withCompanion.load('x.ann', true);
  const matched: boolean = withCompanion.loadCompanion(companion) && withCompanion.deserialize_companion(companion);
  const on: boolean = withCompanion.getCompactScoring();
  withCompanion.set_compact_scoring(false);
  void matched, on, withCompanion.companionSize();
  await withCompanion.loadUrl('https://example.com/i.ann', { companion: true });
  copy[Symbol.dispose]();
  index.dispose();
  const fetched = await AnnoyIndex.fromUrl('https://example.com/i.ann', 3, 'euclidean', {
    onProgress: (loaded2: number, total: number | undefined) => void [loaded2, total],
  });
  fetched.dispose();
  try {
    new AnnoyIndex(0, 'angular');
  } catch (e) {
    if (e instanceof GroveError) console.log(e.code);
  }
  console.log(grove.AnnoyIndex === AnnoyIndex);
  const sharded = await ShardedIndex.open('https://example.com/index.json', { onProgress: () => {} });
  const manifest: Manifest = sharded.manifest;
  const [sids, sdists] = sharded.getNnsByVector([1, 2, 3], 3, undefined, true);
  void manifest, sids, sdists;
  sharded.dispose();
}
void main;
