// Indexes kept in the browser (saveTo('opfs:<name>') and AnnoyIndex.open()), in Debian's
// Chromium: saved in one page load and opened after a reload, from the main thread and from a
// worker, in the Origin Private File System and in IndexedDB where there is none; a full quota
// is a named error that leaves the index saved before; missing and damaged indexes are named
// errors too.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { launch, skip } from './chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let server;
let browser;

before(async () => {
  if (skip) return;
  server = await serveStatic(root);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function page(query = '') {
  const p = await browser.context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  const url = `${server.url}/tests/browser/stored.html${query}`;
  await p.goto(url);
  await p.waitForFunction(() => window.__ready === true);
  return {
    p,
    errors,
    step: (message) => p.evaluate((m) => window.step(m), message),
    inWorker: (message) => p.evaluate((m) => window.inWorker(m), message),
    async reload() {
      await p.reload();
      await p.waitForFunction(() => window.__ready === true);
    },
  };
}

test('chromium: an index saved to OPFS opens after a reload, from the page and from a worker', { skip }, async () => {
  const tab = await page();
  const saved = await tab.step({ op: 'save', name: 'opfs:main', n: 400 });
  assert.equal(saved.error, undefined, saved.error);
  assert.equal(saved.progress[0], saved.progress[1], 'progress reaches the total');
  const fromWorker = await tab.inWorker({ op: 'save', name: 'opfs:from-worker', n: 300, seed: 2 });
  assert.equal(fromWorker.error, undefined, fromWorker.error);
  await tab.reload();
  const opened = await tab.step({ op: 'open', name: 'opfs:main' });
  assert.deepEqual(opened.answers, saved.answers);
  assert.equal(opened.items, 400);
  assert.equal(opened.progress[0], opened.progress[1]);
  assert.deepEqual((await tab.inWorker({ op: 'open', name: 'opfs:main' })).answers, saved.answers);
  assert.deepEqual((await tab.step({ op: 'open', name: 'opfs:from-worker' })).answers, fromWorker.answers);
  assert.deepEqual((await tab.inWorker({ op: 'open', name: 'opfs:from-worker' })).answers, fromWorker.answers);
  // Saved again under the same name: the new index replaces the old one.
  const again = await tab.step({ op: 'save', name: 'opfs:main', n: 500, seed: 3 });
  await tab.reload();
  assert.deepEqual((await tab.step({ op: 'open', name: 'opfs:main' })).answers, again.answers);
  assert.deepEqual(tab.errors, []);
  await tab.p.close();
});

test('chromium: without OPFS the index is kept in IndexedDB, from the page and from a worker', { skip }, async () => {
  const tab = await page('?no-opfs');
  const saved = await tab.step({ op: 'save', name: 'opfs:idb', n: 300, seed: 4 });
  assert.equal(saved.error, undefined, saved.error);
  const fromWorker = await tab.inWorker({ op: 'save', name: 'opfs:idb-worker', n: 200, seed: 5, noOpfs: true });
  assert.equal(fromWorker.error, undefined, fromWorker.error);
  await tab.reload();
  assert.deepEqual((await tab.step({ op: 'open', name: 'opfs:idb' })).answers, saved.answers);
  assert.deepEqual((await tab.inWorker({ op: 'open', name: 'opfs:idb', noOpfs: true })).answers, saved.answers);
  assert.deepEqual((await tab.step({ op: 'open', name: 'opfs:idb-worker' })).answers, fromWorker.answers);
  // Not in OPFS: a page that has it finds the IndexedDB copy too.
  const withOpfs = await page();
  assert.deepEqual((await withOpfs.step({ op: 'open', name: 'opfs:idb' })).answers, saved.answers);
  const inOpfs = await withOpfs.p.evaluate(async () => {
    const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('grove-indexes', { create: true });
    return folder.getFileHandle('idb.json').then(() => true, () => false);
  });
  assert.equal(inOpfs, false);
  await withOpfs.p.close();
  await tab.p.close();
});

test('chromium: a full quota is a QuotaExceeded error and keeps the index saved before', { skip }, async () => {
  const tab = await page();
  const small = await tab.step({ op: 'save', name: 'opfs:quota', n: 200, seed: 6 });
  assert.equal(small.error, undefined, small.error);
  const cdp = await browser.context.newCDPSession(tab.p);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: 2 << 20 });
  // The override limits writes but not what navigator.storage.estimate() reports (10 GiB here):
  // the page is told the same quota, as a browser that is really full tells it. Chromium
  // reports a write past the quota as QuotaExceededError, or at times as an AbortError or
  // NotReadableError, which saveTo() then names from the estimate.
  await tab.p.evaluate((quota) => {
    const real = navigator.storage.estimate.bind(navigator.storage);
    navigator.storage.estimate = async () => ({ ...(await real()), quota });
  }, 2 << 20);
  const big = await tab.step({ op: 'save', name: 'opfs:quota', n: 40000, seed: 7 });
  assert.equal(big.code, 'QuotaExceeded', JSON.stringify(big));
  assert.match(big.error, /quota is exceeded/);
  assert.equal(big.name, 'GroveError');
  await tab.reload();
  assert.deepEqual((await tab.step({ op: 'open', name: 'opfs:quota' })).answers, small.answers);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url });
  await tab.p.close();
});

test('chromium: missing, damaged and badly named stored indexes are named errors', { skip }, async () => {
  const tab = await page();
  const missing = await tab.step({ op: 'open', name: 'opfs:never-saved' });
  assert.equal(missing.code, 'Io');
  assert.match(missing.error, /no index is saved as 'opfs:never-saved'/);
  await tab.step({ op: 'save', name: 'opfs:damaged', n: 300 });
  await tab.p.evaluate(async () => {
    const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('grove-indexes');
    const meta = JSON.parse(await (await (await folder.getFileHandle('damaged.json')).getFile()).text());
    const handle = await folder.getFileHandle(meta.index.file);
    const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
    bytes[bytes.length >> 1] ^= 0x40;  // one bit flipped
    const out = await handle.createWritable();
    await out.write(bytes);
    await out.close();
  });
  const damaged = await tab.step({ op: 'open', name: 'opfs:damaged' });
  assert.equal(damaged.code, 'BadFormat', JSON.stringify(damaged));
  assert.match(damaged.error, /'opfs:damaged' is corrupt \(its checksum does not match\)/);
  for (const name of ['products', 'opfs:', 'opfs:a/b', 'opfs:.hidden']) {
    const bad = await tab.step({ op: 'open', name });
    assert.equal(bad.name, 'RangeError', `${name}: ${JSON.stringify(bad)}`);
  }
  await tab.p.close();
});
