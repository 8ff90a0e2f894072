// Queries per second of the WASM build against the native build, on the same index and
// queries (Fashion-MNIST, euclidean, 10 trees). Run: node bench/wasm-vs-native.mjs [--queries N]
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { buildNative, log, root } from '../scripts/lib.mjs';
import { buildWasm } from '../scripts/build-wasm.mjs';
import { prepareFashionMnist } from '../scripts/fashion-mnist.mjs';

const count = Number(process.argv[process.argv.indexOf('--queries') + 1]) || 1000;
const dir = buildNative({ tests: false });
await buildWasm();
const { AnnoyIndex } = await import('../js/node.mjs');
const cli = `${dir}/native/grove`;
const data = prepareFashionMnist();
const file = `${root}/build/demo-data/bench-euclidean.ann`;
execFileSync(cli, ['build', '--metric', 'euclidean', '--trees', '10', '--no-graph', '--quiet', data.train, file]);

function npyRows(path) {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + 10 + headerLen, b.byteOffset + b.byteLength));
}
const queries = npyRows(data.test).subarray(0, count * 784);

for (const searchK of [-1, 1000, 10000]) {
  const native = JSON.parse(execFileSync(cli, ['query', file, '--metric', 'euclidean', '--dim', '784',
    '--queries', data.test, '--limit', String(count), '--search-k', String(searchK), '--json'], { maxBuffer: 1 << 28 }));
  const index = new AnnoyIndex(784, 'euclidean');
  index.load(file);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let q = 0; q < count; q++) index.getNnsByVector(queries.subarray(q * 784, q * 784 + 784), 10, searchK);
    best = Math.min(best, (performance.now() - t) / count);
  }
  index.dispose();
  console.log(`search_k ${String(searchK).padStart(6)}: native ${(1000 / native.mean_ms).toFixed(0)} q/s, ` +
    `wasm ${(1000 / best).toFixed(0)} q/s, wasm/native ${(native.mean_ms / best).toFixed(2)}`);
}

for (const name of ['grove.wasm', 'grove.browser.mjs', 'grove.node.cjs']) {
  const bytes = readFileSync(`${root}/dist/${name}`);
  console.log(`${name}: ${statSync(`${root}/dist/${name}`).size} bytes, ${gzipSync(bytes, { level: 9 }).length} gzipped`);
}
log('done');
