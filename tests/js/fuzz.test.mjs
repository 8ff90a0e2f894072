// The wrapper's argument handling under random JS values: every method, every parameter.
// Each call either works or throws an Error with a code (RangeError, TypeError or
// GroveError), never a bare engine or Embind error, a wasm trap or a hang; and after each
// one the module and an existing index still give their old answers. Bounded in time
// (GROVE_FUZZ_JS_MS, default 3000 ms); the seed is printed so a failure can be replayed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { AnnoyIndex, GroveError } from 'grove-ann';

// onDiskBuild and load take random strings as paths: keep whatever they write in a scratch folder.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'grove-fuzz-'));
process.chdir(scratch);
after(() => rmSync(scratch, { recursive: true, force: true }));

const budget = Number(process.env.GROVE_FUZZ_JS_MS ?? 3000);
const seed = Number(process.env.GROVE_FUZZ_JS_SEED ?? Date.now() % 1_000_000);

function rng(s) {
  let x = s >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const METHODS = {
  addItem: 2, build: 2, unbuild: 0, unload: 0, getNnsByItem: 4, getNnsByVector: 4,
  getNnsByVectors: 3, getItemVector: 1, getDistance: 2, getNItems: 0, getNTrees: 0, getF: 0,
  isBuilt: 0, isLoaded: 0, verbose: 1, setSeed: 1, setAnnoyFloatOrder: 1, setMemoryLimit: 1,
  setDotLayout: 1, getDotLayout: 0, serialize: 0, load: 2, onDiskBuild: 1, removeItem: 1, removeItems: 1, thaw: 0,
  setGraphSearch: 1, getGraphSearch: 0, buildGraph: 0,
};

function value(random, f) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const number = () => pick([0, 1, 2, 3, -1, -2, 7, 49, 50, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32 + 3,
    -(2 ** 31) - 1, 2 ** 53, 1e300, Number.MIN_VALUE]);
  const vector = () => pick([
    () => Array.from({ length: f }, () => random() * 4 - 2),
    () => new Float32Array(f).map(() => random()),
    () => new Float64Array(f).fill(0.5),
    () => new Float32Array(f + 1),
    () => [1, 2],
    () => ['1', '2', '3'],
    () => [true, null, false],
    () => [[1], [2], [3]],
    () => [1, NaN, 3],
    () => new BigInt64Array(f),
    () => new Int32Array(f),
    () => ({ length: f, 0: 1, 1: 2, 2: 3 }),
    () => new Float32Array(f * 3),
  ])();
  return pick([
    number, number, number, vector, vector,
    () => pick(['', 'angular', 'released', 'main', '/nonexistent/x.ann', 'x'.repeat(1000)]),
    () => pick([true, false, null, undefined]),
    () => pick([{}, [], () => 1, Symbol('s'), 1n, -1n, 2n ** 64n, new Uint8Array(10), new ArrayBuffer(28)]),
  ])();
}

function small() {
  const index = new AnnoyIndex(3, 'euclidean');
  for (let i = 0; i < 50; i++) index.addItem(i, [i, i % 7, i % 3]);
  index.build(3);
  return index;
}

test(`random arguments to every method (seed ${seed}, ${budget} ms)`, () => {
  const random = rng(seed);
  const witness = small();
  const answer = () => JSON.stringify([witness.getNnsByItem(5, 5, -1, true), witness.getNnsByVector([1, 2, 3], 5)]);
  const expected = answer();
  let victim = small();
  let calls = 0;
  let errors = 0;
  const end = Date.now() + budget;
  while (Date.now() < end) {
    if (victim.disposed || random() < 0.01) {
      victim.dispose();
      victim = random() < 0.5 ? small() : new AnnoyIndex(3, random() < 0.5 ? 'euclidean' : 'dot');
    }
    const name = Object.keys(METHODS)[Math.floor(random() * Object.keys(METHODS).length)];
    const args = Array.from({ length: Math.floor(random() * (METHODS[name] + 2)) }, () => value(random, 3));
    calls += 1;
    try {
      victim[name](...args);
    } catch (e) {
      errors += 1;
      const what = `${name}(${args.map((a) => typeof a).join(', ')}) threw ${e?.constructor?.name}: ${e?.message}`;
      assert.ok(e instanceof RangeError || e instanceof TypeError || e instanceof GroveError, what);
      assert.ok(typeof e.code === 'string' && e.code.length > 0, `no code: ${what}`);
    }
    assert.equal(answer(), expected, `after ${name}: the witness index changed its answers`);
  }
  victim.dispose();
  witness.dispose();
  assert.ok(calls > 100, `${calls} calls`);
  console.log(`# ${calls} calls, ${errors} errors, seed ${seed}`);
});
