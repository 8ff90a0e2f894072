// The npm package in fresh apps built by the common bundlers, each with its default settings,
// from the packed tarball: the page starts a module Web Worker and posts a query at once; the
// worker imports Grove and must answer, in headless Chromium. Vite (5, and 8.3: 8.4 lists an
// optional dependency the registry does not have, which breaks npm ci) and
// webpack 5 use the default entry, whose grove.wasm they ship as an asset; esbuild and Rollup
// do not copy assets, so their apps import 'grove-ann/inline', which carries the wasm. And a
// Node program bundled by esbuild --platform=node runs on its own, in both output formats.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { launch, skip } from './chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const template = path.join(root, 'tests/bundlers/app');
const fromRoot = createRequire(path.join(root, 'package.json'));

let scratch;
let tarball;
let context;
let browser;

before(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'grove-bundlers-'));
  // --ignore-scripts: dist/ is already built; the apps get exactly what npm would publish.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' });
  tarball = path.join(scratch, JSON.parse(out)[0].filename);
  if (skip) return;
  browser = await launch();
  context = browser.context;
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// A fresh app folder: the template, with the package installed from the tarball.
function makeApp(name, entry) {
  const app = path.join(scratch, name);
  cpSync(template, app, { recursive: true });
  writeFileSync(path.join(app, 'worker.js'), readFileSync(path.join(app, 'worker.js'), 'utf8').replace('GROVE_ENTRY', entry));
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  const pkg = path.join(app, 'node_modules', 'grove-ann');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', pkg, '--strip-components=1']);
  return app;
}

async function answerOf(dir) {
  const server = await serveStatic(dir);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.__answer !== undefined, null, { timeout: 30000 });
    const answer = await page.evaluate(() => window.__answer);
    assert.deepEqual(errors, []);
    return answer;
  } finally {
    await page.close();
    server.close();
  }
}

const builds = {
  async vite5(app, out) {
    const { build } = await import('vite5');
    await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: out } });
  },
  async vite(app, out) {
    const { build } = await import('vite');
    await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: out } });
  },
  async webpack(app, out) {
    const webpack = fromRoot('webpack');
    const stats = await new Promise((resolve, reject) => {
      webpack({ mode: 'production', context: app, entry: './main.js', output: { path: out } }, (e, s) => (e ? reject(e) : resolve(s)));
    });
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    cpSync(path.join(app, 'index.html'), path.join(out, 'index.html'));
  },
  async esbuild(app, out) {
    const esbuild = fromRoot('esbuild');
    // The page as an ES module (it uses import.meta.url); the worker in esbuild's default format.
    await esbuild.build({ entryPoints: [path.join(app, 'main.js')], bundle: true, format: 'esm', outdir: out, logLevel: 'error' });
    await esbuild.build({ entryPoints: [path.join(app, 'worker.js')], bundle: true, outdir: out, logLevel: 'error' });
    cpSync(path.join(app, 'index.html'), path.join(out, 'index.html'));
  },
  async rollup(app, out) {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    const bundle = await rollup({ input: { main: path.join(app, 'main.js'), worker: path.join(app, 'worker.js') },
      plugins: [nodeResolve({ browser: true })], onwarn() {} });
    await bundle.write({ dir: out, format: 'es' });
    cpSync(path.join(app, 'index.html'), path.join(out, 'index.html'));
  },
};

const entries = { vite5: 'grove-ann', vite: 'grove-ann', webpack: 'grove-ann', esbuild: 'grove-ann/inline', rollup: 'grove-ann/inline' };

for (const [name, build] of Object.entries(builds)) {
  test(`${name}: a module worker answers a message posted at once`, { skip, timeout: 120000 }, async () => {
    const app = makeApp(name, entries[name]);
    const out = path.join(app, 'out');
    await build(app, out);
    assert.deepEqual(await answerOf(out), { ids: [1, 0] });
  });
}

// Every pairing of a CommonJS or ES module program with CommonJS or ES module output.
for (const [source, format] of [['node-main.cjs', 'cjs'], ['node-main.cjs', 'esm'], ['node-main.mjs', 'cjs'], ['node-main.mjs', 'esm']]) {
  test(`esbuild --platform=node --format=${format} of ${source}: the bundled program runs on its own`, async () => {
    const name = `node-bundle-${source.replace('.', '-')}-${format}`;
    const app = makeApp(name, 'grove-ann');
    const esbuild = fromRoot('esbuild');
    const bundle = path.join(scratch, `${name}-out`, format === 'esm' ? 'bundle.mjs' : 'bundle.cjs');
    await esbuild.build({ entryPoints: [path.join(app, source)], bundle: true, platform: 'node', format, outfile: bundle, logLevel: 'error' });
    rmSync(app, { recursive: true, force: true });  // nothing of the package is left to find
    assert.equal(execFileSync('node', [bundle], { cwd: os.tmpdir(), encoding: 'utf8' }).trim(), '[1,0]');
  });
}
