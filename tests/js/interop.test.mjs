// Indexes written natively (the grove CLI) load in WASM, and the reverse, with the same answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { randomVectors, root } from './helpers.mjs';

const cli = `${root}build/native/native/grove`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-interop-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function query(file, metric, f, vector) {
  const out = execFileSync(cli, ['query', file, '--metric', metric, '--dim', String(f), '--vector', vector.join(','), '-k', '10', '--json']);
  const { results } = JSON.parse(out);
  return results[0].ids;
}

test('native <-> wasm, every metric', { skip: !existsSync(cli) && 'build the native CLI first (npm test does)' }, () => {
  for (const metric of ['angular', 'euclidean', 'manhattan', 'dot', 'hamming']) {
    const bits = metric === 'hamming';
    const f = bits ? 64 : 10;
    const items = randomVectors(800, f, 11, bits);
    const csv = path.join(tmp, `${metric}.csv`);
    writeFileSync(csv, items.map((v) => v.join(',')).join('\n'));
    const nativeFile = path.join(tmp, `${metric}-native.ann`);
    execFileSync(cli, ['build', '--metric', metric, '--trees', '8', '--quiet', csv, nativeFile]);

    const wasm = new AnnoyIndex(f, metric);
    items.forEach((v, i) => wasm.addItem(i, v));
    wasm.build(8);
    const wasmFile = path.join(tmp, `${metric}-wasm.ann`);
    wasm.save(wasmFile);

    // Grove's float order is the same on every machine: native (AVX-512, AVX or SSE2, any
    // thread count) and wasm (SIMD128) write the same bytes.
    assert.deepEqual(readFileSync(wasmFile), readFileSync(nativeFile), `${metric}: native and wasm files differ`);
    // And so are their compact companions (integer codes, computed in double on both).
    if (!bits) assert.deepEqual(readFileSync(`${wasmFile}.sq8`), readFileSync(`${nativeFile}.sq8`), `${metric}: companions differ`);

    const fromNative = new AnnoyIndex(f, metric);
    fromNative.load(nativeFile);
    for (const q of randomVectors(10, f, 12, bits)) {
      const want = query(nativeFile, metric, f, q);
      assert.deepEqual(fromNative.getNnsByVector(q, 10), want, `${metric}: native file in wasm`);
      assert.deepEqual(query(wasmFile, metric, f, q), wasm.getNnsByVector(q, 10), `${metric}: wasm file natively`);
    }
    wasm.dispose();
    fromNative.dispose();
  }
});
