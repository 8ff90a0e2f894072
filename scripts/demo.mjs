// npm run demo [-- --no-serve] [--port N]: the main job, in a browser. Builds the package and a
// Grove index of the 60,000 Fashion-MNIST training images, writes the demo site to demo/dist/
// and serves it on 127.0.0.1. The search runs in the page (WASM, in a Web Worker).
import { cpSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { buildWasm } from './build-wasm.mjs';
import { LABELS, prepareFashionMnist } from './fashion-mnist.mjs';
import { isMain, log, root, run } from './lib.mjs';
import { serveStatic } from './serve.mjs';

const serve = !process.argv.includes('--no-serve');
const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;

export async function buildDemo() {
  // The index is built by the package's own CLI (the native one compiled to wasm, the same
  // bytes), so the demo needs no native build.
  await buildWasm();
  const cli = `${root}/dist/grove-cli.cjs`;
  const data = prepareFashionMnist();
  const out = `${root}/demo/dist`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(`${root}/demo/src`, out, { recursive: true });
  for (const file of ['grove.browser.mjs', 'grove.wasm']) cpSync(`${root}/dist/${file}`, `${out}/${file}`);

  // Euclidean on raw pixels: images that look alike are close, and an image is at distance 0
  // from itself (angular would also match a darker copy of the same shape).
  log(`building the index of ${data.trainLabels.length} ${data.generated ? 'generated' : 'Fashion-MNIST'} images`);
  run(process.execPath, [cli, 'build', '--metric', 'euclidean', '--trees', '10', '--quiet', data.train, `${out}/index.ann`]);
  const bytes = statSync(`${out}/index.ann`).size;
  // grove build also wrote index.ann.sq8, the compact companion the page fetches with it.
  const companionBytes = statSync(`${out}/index.ann.sq8`).size;
  writeFileSync(`${out}/labels.json`, JSON.stringify(data.trainLabels));
  writeFileSync(`${out}/meta.json`, JSON.stringify({
    dim: 784, metric: 'euclidean', items: data.trainLabels.length, bytes, companionBytes, generated: data.generated,
    labelNames: data.generated ? LABELS.map((_, i) => `class ${i}`) : LABELS, displayScale: 1,
  }));
  log(`demo site in demo/dist (index ${(bytes / 2 ** 20).toFixed(0)} MiB, compact companion ${(companionBytes / 2 ** 20).toFixed(0)} MiB)`);
  return out;
}

if (isMain(import.meta.url)) {
  const out = await buildDemo();
  if (serve) {
    const server = await serveStatic(`${out}/`, port);
    log(`open ${server.url}/ (Ctrl-C stops the server)`);
  }
}
