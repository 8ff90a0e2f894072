// Shared by stored.html and stored-worker.mjs: a deterministic index and its answers, and each
// step of tests/browser/stored.test.mjs, so a page and a worker run the very same code.
import { AnnoyIndex, ready } from '/dist/grove.browser.mjs';

function vectors(n, f, seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296 - 0.5;
  };
  return Array.from({ length: n }, () => Array.from({ length: f }, next));
}

export function build(n, f = 16, seed = 1) {
  const index = new AnnoyIndex(f, 'angular');
  vectors(n, f, seed).forEach((v, i) => index.addItem(i, v));
  index.build(5);
  return index;
}

export function answers(index) {
  return vectors(5, index.f, 99).map((q) => index.getNnsByVector(q, 5, -1, true));
}

function described(e) {
  return { error: String(e?.message ?? e), code: e?.code, name: e?.name };
}

// One step: { op: 'save', name, n } builds and saves; { op: 'open', name } opens and answers.
export async function step({ op, name, n, seed }) {
  await ready;
  try {
    if (op === 'save') {
      const index = build(n, 16, seed);
      const progress = [];
      await index.saveTo(name, { onProgress: (loaded, total) => progress.push([loaded, total]) });
      const out = { answers: answers(index), progress: progress.at(-1) };
      index.dispose();
      return out;
    }
    const progress = [];
    const index = await AnnoyIndex.open(name, { onProgress: (loaded, total) => progress.push([loaded, total]) });
    const out = { answers: answers(index), progress: progress.at(-1), items: index.getNItems() };
    index.dispose();
    return out;
  } catch (e) {
    return described(e);
  }
}
