// npm run demo:cli — the main job from the command line: build a Grove index of the 60,000
// Fashion-MNIST training images and search it with test images.
import { buildNative, capture, log, root, run } from './lib.mjs';
import { LABELS, prepareFashionMnist } from './fashion-mnist.mjs';

const dir = buildNative({ tests: false });
const grove = `${dir}/native/grove`;
const data = prepareFashionMnist();
const index = `${root}/build/demo-data/fashion-euclidean.ann`;

log(`building the index (${data.generated ? 'generated data' : 'Fashion-MNIST'}, euclidean, 10 trees)`);
run(grove, ['build', '--metric', 'euclidean', '--trees', '10', data.train, index]);

const queries = 200;
log(`searching with ${queries} test images (k = 10, default search_k), recall against an exhaustive scan`);
const result = JSON.parse(capture(grove, ['query', index, '--metric', 'euclidean', '--dim', '784',
  '--queries', data.test, '--limit', String(queries), '-k', '10', '--recall', '--json']));

for (const [q, r] of result.results.slice(0, 5).entries()) {
  console.log(`\ntest image ${q} (${LABELS[data.testLabels[q]]}): ${r.ms.toFixed(3)} ms`);
  r.ids.forEach((id, rank) => {
    console.log(`  ${String(rank + 1).padStart(2)}. train #${String(id).padEnd(6)} ${LABELS[data.trainLabels[id]].padEnd(12)} distance ${r.distances[rank].toFixed(1)}`);
  });
}
const sameLabel = result.results.reduce((n, r, q) => n + (data.trainLabels[r.ids[0]] === data.testLabels[q] ? 1 : 0), 0);
console.log(`\n${result.queries} queries: ${result.mean_ms.toFixed(3)} ms per query, ` +
  `recall@10 ${result.recall.toFixed(3)}, the true nearest neighbour first in ${result.nearest_right}, nearest neighbour has the query's label ${(100 * sameLabel / result.queries).toFixed(1)}% of the time`);
