// Graph search in wasm: on by default, so build() grows the graph; it travels in the
// companion buffer, and switched off the answers are the trees'.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { randomVectors } from './helpers.mjs';

const F = 16;

function clustered(n, seed) {
  const centres = randomVectors(30, F, 7).map((c) => c.map((x) => 3 * x));
  return randomVectors(n, F, seed).map((v, i) => v.map((x, j) => centres[i % 30][j] + 0.3 * x));
}

function built(metric, items, graph) {
  const index = new AnnoyIndex(F, metric);
  index.setGraphSearch(graph);
  items.forEach((v, i) => index.addItem(i, v));
  index.build(6);
  return index;
}

test('graph search is on by default', () => {
  assert.equal(new AnnoyIndex(F, 'angular').getGraphSearch(), true);
  assert.equal(new AnnoyIndex(F, 'euclidean').get_graph_search(), true);
});

for (const metric of ['angular', 'euclidean']) {
  test(`${metric}: graph answers travel with the companion; off, the trees answer`, () => {
    const items = clustered(2000, 1), queries = clustered(60, 2);
    const graph = built(metric, items, true), trees = built(metric, items, false);
    assert.equal(graph.getGraphSearch(), true);
    assert.equal(trees.get_graph_search(), false);
    assert.ok(graph.companionSize() > trees.companionSize(), 'the companion holds the graph');
    const copy = new AnnoyIndex(F, metric);
    copy.setGraphSearch(true);
    copy.deserialize(graph.serialize(), graph.serializeCompanion());
    let differ = 0;
    for (const q of queries) {
      const want = graph.getNnsByVector(q, 10, 200, true);
      assert.equal(new Set(want[0]).size, 10);
      assert.deepEqual(copy.getNnsByVector(q, 10, 200, true), want);
      // A small budget, where the walk and the trees part.
      if (JSON.stringify(trees.getNnsByVector(q, 10, 30, true)) !== JSON.stringify(graph.getNnsByVector(q, 10, 30, true))) differ++;
    }
    assert.ok(differ > 0, 'the graph was used');
    copy.setGraphSearch(false);
    for (const q of queries) assert.deepEqual(copy.getNnsByVector(q, 10, 200, true), trees.getNnsByVector(q, 10, 200, true));
  });
}

test('buildGraph() grows a graph for a loaded index, which travels in its companion', () => {
  const items = clustered(2000, 3), queries = clustered(30, 4);
  const trees = built('euclidean', items, false);
  const loaded = new AnnoyIndex(F, 'euclidean');
  loaded.deserialize(trees.serialize());
  assert.equal(loaded.buildGraph(), true);
  assert.equal(loaded.getGraphSearch(), true);
  const copy = new AnnoyIndex(F, 'euclidean');
  copy.setGraphSearch(true);
  copy.deserialize(trees.serialize(), loaded.serializeCompanion());
  for (const q of queries) assert.deepEqual(copy.getNnsByVector(q, 10, 200, true), loaded.getNnsByVector(q, 10, 200, true));
  assert.equal(built('euclidean', items.slice(0, 100), false).build_graph(), false);
  assert.throws(() => new AnnoyIndex(F, 'euclidean').buildGraph(), /build\(\)/);
});
