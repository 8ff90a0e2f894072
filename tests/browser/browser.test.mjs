// Real-browser test: Debian's Chromium, driven by playwright-core, loads the package as a
// module page and in a module Worker from a local server, builds and queries an index, and
// loads an index file written by Annoy over HTTP.
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, skip } from './chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let server;
let context;
let browser;

before(async () => {
  if (skip) return;
  // A sharded index for the checks to fetch (under build/, which the server serves and git ignores).
  const { writeSharded } = await import('../js/shards.mjs');
  writeSharded(path.join(root, 'build', 'browser-sharded'));
  server = await serveStatic(root);
  browser = await launch();
  context = browser.context;
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function resultOf(page) {
  const errors = [];
  const p = await context.newPage();
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${server.url}/tests/browser/${page}`);
  await p.waitForFunction(() => window.__result !== undefined, null, { timeout: 30000 });
  const result = await p.evaluate(() => window.__result);
  if (page === 'worker.html') {
    await p.waitForFunction(() => window.__answer !== undefined, null, { timeout: 30000 });
    result.checks.message_posted_at_once_answered = JSON.stringify(await p.evaluate(() => window.__answer)) === '[1,0]';
  }
  await p.close();
  assert.deepEqual(errors, []);
  assert.equal(result.fatal, undefined, result.fatal);
  return result.checks;
}

for (const page of ['page.html', 'worker.html']) {
  test(`chromium: ${page}`, { skip }, async () => {
    const checks = await resultOf(page);
    for (const [name, ok] of Object.entries(checks)) assert.equal(ok, true, `${page}: ${name}`);
    assert.ok(Object.keys(checks).length >= 8);
  });
}
