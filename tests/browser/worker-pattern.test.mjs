// The README's module-worker pattern, run as the README shows it (only its bare import of
// 'grove-ann' pointed at the built file, as a bundler would): it answers a query, and when
// the wasm cannot be loaded it posts the error back instead of leaving the page waiting.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { launch, skip } from './chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let browser;

before(async () => {
  if (!skip) browser = await launch();
});
after(async () => browser?.close());

function readmeWorker() {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /```js\n(\/\/ search\.mjs[\s\S]*?)```/.exec(readme);
  assert.ok(block, "the README's worker block is gone");
  return block[1].replace("from 'grove-ann'", "from './grove.browser.mjs'");
}

// Serves the README's worker next to grove.browser.mjs (and grove.wasm unless left out), and
// returns the first message it posts for one query.
async function firstMessage({ withWasm }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-worker-pattern-'));
  const server = await serveStatic(dir);
  try {
    copyFileSync(path.join(root, 'dist/grove.browser.mjs'), path.join(dir, 'grove.browser.mjs'));
    if (withWasm) copyFileSync(path.join(root, 'dist/grove.wasm'), path.join(dir, 'grove.wasm'));
    writeFileSync(path.join(dir, 'search.mjs'), readmeWorker());
    const { AnnoyIndex } = await import('grove-ann');
    const index = new AnnoyIndex(3, 'euclidean');
    for (let i = 0; i < 20; i++) index.addItem(i, [i, 0, 0]);
    index.build(3);
    writeFileSync(path.join(dir, 'index.ann'), index.serialize());
    index.dispose();
    writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
  const worker = new Worker(new URL('./search.mjs', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => { window.__message = data; };
  worker.onerror = (e) => { window.__message = { fatal: e.message || 'the worker failed to start' }; };
  worker.postMessage({ url: 'index.ann', f: 3, metric: 'euclidean', query: [4.2, 0, 0] });
</script>`);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.__message !== undefined, null, { timeout: 30000 });
    const message = await page.evaluate(() => window.__message);
    await page.close();
    return message;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("chromium: the README's worker answers a query", { skip }, async () => {
  const message = await firstMessage({ withWasm: true });
  assert.deepEqual(message.ids?.slice(0, 3), [4, 5, 3], JSON.stringify(message));
});

test("chromium: the README's worker posts a load failure back", { skip }, async () => {
  const message = await firstMessage({ withWasm: false });
  assert.match(message.error ?? JSON.stringify(message), /cannot load Grove's WebAssembly module from '.*grove\.wasm': HTTP 404/);
});
