// The demo page in headless Chromium: it loads the index over HTTP, a click on an image shows
// its 10 nearest neighbours (the image itself first, at distance 0), the search_k slider
// searches again, and a screenshot is taken (saved to demo/screenshot.png with GROVE_UPDATE_SCREENSHOT=1).
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { launch } from './chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const site = `${root}demo/dist/`;
const skip = (!existsSync('/usr/bin/chromium') && 'Chromium is not installed (npm test installs it)') ||
  (!existsSync(`${site}index.ann`) && 'the demo is not built: npm run demo -- --no-serve');

test('demo: click an image, see its neighbours, move the slider', { skip, timeout: 180000 }, async () => {
  const server = await serveStatic(site);
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1100, height: 860 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const fetched = [];
    page.on('response', (r) => fetched.push(`${new URL(r.url()).pathname} ${r.status()}`));
    const opened = Date.now();
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120000 });

    // Click the first sample: its label says which item it is.
    await page.locator('#samples canvas').first().click();
    await page.waitForFunction(() => document.querySelectorAll('#results canvas').length === 10);
    const firstResultMs = Date.now() - opened;
    const defaultQueryMs = Number(await page.getAttribute('body', 'data-last-ms'));
    const ids = JSON.parse(await page.getAttribute('#results', 'data-ids'));
    const distances = JSON.parse(await page.getAttribute('#results', 'data-distances'));
    const clicked = Number((await page.textContent('#query span')).match(/#(\d+)/)[1]);
    assert.equal(ids.length, 10);
    assert.equal(ids[0], clicked, 'the image itself comes first');
    assert.equal(distances[0], 0);
    for (let i = 1; i < 10; i++) assert.ok(distances[i] >= distances[i - 1] && Number.isFinite(distances[i]));
    assert.match(await page.textContent('#timing'), /ms with search_k/);

    // Move the slider: the same query runs again with another search_k.
    const before = Number(await page.getAttribute('body', 'data-searches'));
    await page.locator('#search-k').fill('6');
    await page.waitForFunction((n) => Number(document.body.dataset.searches) > n, before);
    assert.match(await page.textContent('#search-k-value'), /30000/);
    assert.match(await page.textContent('#recall'), /recall@10 against the exact scan: \d+%/);

    // The checked-in screenshot changes only on request (GROVE_UPDATE_SCREENSHOT=1), so a test
    // run never modifies the work tree.
    const shot = process.env.GROVE_UPDATE_SCREENSHOT === '1' ? `${root}demo/screenshot.png` : path.join(os.tmpdir(), 'grove-demo.png');
    await page.screenshot({ path: shot });
    const loadedMs = Number(await page.getAttribute('body', 'data-loaded-ms'));
    const queryMs = Number(await page.getAttribute('body', 'data-last-ms'));
    console.log(`demo timings: index loaded in ${loadedMs.toFixed(0)} ms, first result ${firstResultMs} ms after opening, ` +
      `query ${defaultQueryMs.toFixed(2)} ms at search_k 1000, ${queryMs.toFixed(2)} ms at search_k 30000`);
    assert.deepEqual(errors, []);
    assert.ok(fetched.includes('/index.ann 200') && fetched.includes('/index.ann.sq8 200'), `the index and its companion: ${fetched.join(', ')}`);
  } finally {
    await browser.close();
    server.close();
  }
});
