// The release artifacts (scripts/release.mjs), each installed as a user installs it into a
// fresh consumer whose PATH holds no compiler (only node, npm, npx, Debian's python3, sh and
// script): a Node app (ES module and CommonJS), a plain browser page, a venv of Debian's
// python3. Each runs the README's quick start as pasted, and the CLI each package brings
// (`npx grove-ann`, pip's `grove`) writes the same bytes as the native one.
// npm test passes the artifacts in GROVE_RELEASE_DIR; run alone, this builds them first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { release } from '../../scripts/release.mjs';
import { root } from '../../scripts/lib.mjs';
import { serveStatic } from '../../scripts/serve.mjs';
import { launch, skip as noChromium } from '../browser/chromium.mjs';
import { randomVectors } from '../js/helpers.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-consumers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const nativeCli = path.join(root, 'build', 'native', 'native', 'grove');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const block = (start) => {
  const found = [...readme.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((b) => b.startsWith(start));
  assert.ok(found, `the README has no block starting with ${start}`);
  return found;
};

let artifacts;
const bin = path.join(tmp, 'bin');
const env = { ...process.env, PATH: bin, CC: '/bin/false', CXX: '/bin/false' };
const app = path.join(tmp, 'app');

before(async () => {
  const dir = process.env.GROVE_RELEASE_DIR ?? (await release(path.join(tmp, 'release')), path.join(tmp, 'release'));
  const files = readdirSync(dir);
  const pick = (ending) => path.join(dir, files.find((f) => f.endsWith(ending)));
  artifacts = { tarball: pick('.tgz'), wheel: pick('.whl') };
  // A PATH with the runtimes and nothing that compiles.
  mkdirSync(bin);
  const which = (name) => spawnSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  for (const name of ['sh', 'npm', 'npx', 'script']) symlinkSync(which(name), path.join(bin, name));
  symlinkSync(process.execPath, path.join(bin, 'node'));
  symlinkSync('/usr/bin/python3', path.join(bin, 'python3'));
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
});

function sh(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: app, env, encoding: 'utf8', ...options });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('the consumers\' PATH has no compiler', () => {
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'emcc', 'cmake', 'make', 'ld']) {
    const r = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env });
    assert.notEqual(r.status, 0, `${tool} is on the consumers' PATH`);
  }
});

test('npm: the tarball installs and the README\'s Node quick start runs, as an ES module and as CommonJS', () => {
  sh('npm', ['install', '--no-audit', '--no-fund', '--offline', artifacts.tarball]);
  const code = block("import { AnnoyIndex } from 'grove-ann'");
  writeFileSync(path.join(app, 'quick-start.mjs'), code);
  const required = code.replace(/^import \{ AnnoyIndex \} from 'grove-ann';.*$/m, "const { AnnoyIndex } = require('grove-ann');");
  assert.notEqual(required, code);
  writeFileSync(path.join(app, 'quick-start.cjs'), required);
  for (const file of ['quick-start.mjs', 'quick-start.cjs']) {
    rmSync(path.join(app, 'test.ann'), { force: true });
    const out = sh('node', [file]);
    assert.match(out, /^\[\s*0,/, `${file}: the first answer is not item 0 itself:\n${out}`);
    assert.ok(existsSync(path.join(app, 'test.ann')), `${file} wrote no index`);
  }
});

test('browser: a plain page next to node_modules runs the README\'s browser quick start', { skip: noChromium }, async () => {
  const site = path.join(tmp, 'site');
  mkdirSync(site);
  symlinkSync(path.join(app, 'node_modules'), path.join(site, 'node_modules'));
  // The Node quick start above wrote test.ann (40-d, angular), as the block expects.
  copyFileSync(path.join(app, 'test.ann'), path.join(site, 'index.ann'));
  copyFileSync(path.join(app, 'test.ann.sq8'), path.join(site, 'index.ann.sq8'));
  writeFileSync(path.join(site, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n${block('<script type="module">')}`);
  const server = await serveStatic(site);
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const answer = new Promise((resolve) => page.on('console', async (m) => {
      const value = await m.args()[0]?.jsonValue().catch(() => undefined);
      if (Array.isArray(value)) resolve(value);
    }));
    await page.goto(`${server.url}/`);
    const ids = await Promise.race([answer, new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer: ${errors}`)), 30000))]);
    assert.equal(ids.length, 10);
    assert.equal(ids[0], 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test('Python: the wheel installs into a venv of Debian\'s python3 and the README\'s quick start runs', () => {
  const venv = path.join(tmp, 'venv');
  sh('python3', ['-m', 'venv', '--system-site-packages', venv]);  // numpy: Debian's python3-numpy
  sh(path.join(venv, 'bin', 'pip'), ['install', '--no-index', '--disable-pip-version-check', '--quiet', artifacts.wheel]);
  const dir = path.join(tmp, 'py');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'quick_start.py'), block('from grove import AnnoyIndex'));
  const out = sh(path.join(venv, 'bin', 'python'), ['quick_start.py'], { cwd: dir });
  assert.match(out, /^\(\[0, /, out);
});

test('the CLIs: npx grove-ann and pip\'s grove write the native CLI\'s bytes, answer and fail alike', () => {
  writeFileSync(path.join(app, 'items.csv'), randomVectors(700, 12, 5).map((v) => v.join(',')).join('\n'));
  const build = ['build', '--metric', 'euclidean', '--trees', '6', '--seed', '9'];
  const npx = (args) => spawnSync('npx', ['--offline', '--no-install', 'grove-ann', ...args], { cwd: app, env, encoding: 'utf8' });
  const grove = path.join(tmp, 'venv', 'bin', 'grove');
  const made = npx([...build, 'items.csv', 'npx.ann']);
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, /^built npx\.ann: 700 items, 6 trees/);
  sh(grove, [...build, '--quiet', 'items.csv', 'pip.ann']);
  const query = ['--metric', 'euclidean', '--dim', '12', '--item', '4', '-k', '3', '--json'];
  assert.equal(JSON.parse(npx(['query', 'npx.ann', ...query]).stdout).results[0].ids[0], 4);
  assert.deepEqual(readFileSync(path.join(app, 'npx.ann')), readFileSync(path.join(app, 'pip.ann')), 'npx and pip files differ');
  assert.deepEqual(readFileSync(path.join(app, 'npx.ann.sq8')), readFileSync(path.join(app, 'pip.ann.sq8')));
  if (!existsSync(nativeCli)) return;  // npm test builds it before this suite
  sh(nativeCli, [...build, '--quiet', 'items.csv', 'native.ann']);
  assert.deepEqual(readFileSync(path.join(app, 'npx.ann')), readFileSync(path.join(app, 'native.ann')), 'npx and native files differ');
  for (const bad of [['build', '--bogus', 'a', 'b'], ['query', 'missing.ann', '--metric', 'angular', '--dim', '3', '--item', '0'], ['bogus']]) {
    const native = spawnSync(nativeCli, bad, { cwd: app, encoding: 'utf8' });
    const expected = [native.status, native.stdout, native.stderr];
    assert.deepEqual((({ status, stdout, stderr }) => [status, stdout, stderr])(npx(bad)), expected, `npx ${bad.join(' ')}`);
    const py = spawnSync(grove, bad, { cwd: app, env, encoding: 'utf8' });
    assert.deepEqual([py.status, py.stdout, py.stderr], expected, `grove ${bad.join(' ')}`);
  }
  // Progress is drawn only on a terminal: script(1) gives each one (npx itself would draw a
  // spinner there, so the installed bin runs directly).
  const onTerminal = (command) => spawnSync('script', ['-qec', command, '/dev/null'], { cwd: app, env, encoding: 'utf8' }).stdout
    .replace(/\d+ ms/g, 'N ms').replace(/p\d\.ann/g, 'OUT');
  const shown = onTerminal('node_modules/.bin/grove-ann build --trees 2 items.csv p1.ann');
  assert.match(shown, /adding items: 700 of 700 \(100%\)/);
  assert.equal(shown, onTerminal(`${nativeCli} build --trees 2 items.csv p2.ann`));
});
