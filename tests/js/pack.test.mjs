// The published tarball: npm pack, install into an empty folder, use it from CJS and ESM.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { randomVectors, root } from './helpers.mjs';

const nativeCli = path.join(root, 'build', 'native', 'native', 'grove');

// `npx grove-ann` in an app that installed the tarball: the CLI compiled to wasm. Same file
// as the native CLI for the same seed, same answers, same errors and (on a terminal) the
// same progress lines.
function cliFromTheTarball(app) {
  writeFileSync(path.join(app, 'items.csv'), randomVectors(700, 12, 5).map((v) => v.join(',')).join('\n'));
  const npx = (args, options = {}) => spawnSync('npx', ['--offline', '--no-install', 'grove-ann', ...args], { cwd: app, encoding: 'utf8', ...options });
  const build = ['build', '--metric', 'euclidean', '--trees', '6', '--seed', '9'];
  const made = npx([...build, 'items.csv', 'npx.ann']);
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, /^built npx\.ann: 700 items, 6 trees/);
  const query = npx(['query', 'npx.ann', '--metric', 'euclidean', '--dim', '12', '--item', '4', '-k', '3', '--json']);
  assert.equal(query.status, 0, query.stderr);
  assert.equal(JSON.parse(query.stdout).results[0].ids[0], 4);
  if (!existsSync(nativeCli)) return;  // npm test builds it before this suite
  execFileSync(nativeCli, [...build, '--quiet', 'items.csv', 'native.ann'], { cwd: app });
  assert.deepEqual(readFileSync(path.join(app, 'npx.ann')), readFileSync(path.join(app, 'native.ann')), 'npx and native files differ');
  assert.deepEqual(readFileSync(path.join(app, 'npx.ann.sq8')), readFileSync(path.join(app, 'native.ann.sq8')));
  for (const bad of [['build', '--bogus', 'a', 'b'], ['query', 'missing.ann', '--metric', 'angular', '--dim', '3', '--item', '0'], ['bogus']]) {
    const wasm = npx(bad);
    const native = spawnSync(nativeCli, bad, { cwd: app, encoding: 'utf8' });
    assert.deepEqual([wasm.status, wasm.stdout, wasm.stderr], [native.status, native.stdout, native.stderr], bad.join(' '));
  }
  // Progress is drawn only on a terminal: run both under script(1), which gives them one.
  const onTerminal = (command) => spawnSync('script', ['-qec', command, '/dev/null'], { cwd: app, encoding: 'utf8' }).stdout
    .replace(/\d+ ms/g, 'N ms').replace(/p\d\.ann/g, 'OUT');
  const shown = onTerminal('node_modules/.bin/grove-ann build --trees 2 items.csv p1.ann');  // npx draws a spinner
  assert.match(shown, /adding items: 700 of 700 \(100%\)/);
  assert.equal(shown, onTerminal(`${nativeCli} build --trees 2 items.csv p2.ann`));
}

test('npm pack, install and use', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-pack-'));
  try {
    // --ignore-scripts: dist/ is already built; the pack must contain it as it is.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    const [info] = JSON.parse(out);
    const files = info.files.map((f) => f.path).sort();
    for (const needed of ['dist/grove-cli.cjs', 'dist/grove-cli.wasm', 'js/cli.cjs', 'dist/grove.wasm', 'dist/grove.browser.mjs', 'dist/grove.node.cjs', 'js/api.cjs', 'js/index.d.ts', 'js/node.cjs', 'js/node.mjs', 'package.json']) {
      assert.ok(files.includes(needed), `tarball lacks ${needed}`);
    }
    assert.ok(!files.some((f) => f.startsWith('core/') || f.startsWith('tests/')), 'tarball has sources or tests');
    const app = path.join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(dir, info.filename)], { cwd: app, stdio: 'pipe' });
    writeFileSync(path.join(app, 'cjs.cjs'), `
      const { AnnoyIndex } = require('grove-ann');
      const index = new AnnoyIndex(2, 'euclidean');
      index.addItem(0, [0, 0]); index.addItem(1, [1, 1]); index.build(2);
      console.log(JSON.stringify(index.getNnsByVector([0.9, 0.9], 2)));`);
    writeFileSync(path.join(app, 'esm.mjs'), `
      import { AnnoyIndex } from 'grove-ann';
      const index = new AnnoyIndex(2, 'dot');
      index.add_item(0, [1, 0]); index.add_item(1, [0, 2]); index.build(2);
      console.log(JSON.stringify(index.get_nns_by_vector([0, 1], 2)));`);
    assert.equal(execFileSync('node', ['cjs.cjs'], { cwd: app, encoding: 'utf8' }).trim(), '[1,0]');
    assert.equal(execFileSync('node', ['esm.mjs'], { cwd: app, encoding: 'utf8' }).trim(), '[1,0]');
    cliFromTheTarball(app);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The published package as its tools see it: arethetypeswrong (every module resolution),
// publint, and strict TypeScript checks of the declarations (tests/types: ESM, CJS .cts, no
// DOM lib, bundler resolution with `using`).
test('the tarball passes attw, publint and strict type checks', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-pack-'));
  const bin = (name) => path.join(root, 'node_modules', '.bin', name);
  try {
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    const tarball = path.join(dir, JSON.parse(out)[0].filename);
    // grove.wasm is an asset entry (for bundlers), not a module: nothing for attw to type.
    execFileSync(bin('attw'), ['--pack', tarball, '--exclude-entrypoints', './grove.wasm', '--format', 'ascii'], { encoding: 'utf8' });

    const app = path.join(dir, 'types');
    const pkg = path.join(app, 'node_modules', 'grove-ann');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', pkg, '--strip-components=1']);
    const { publint } = await import('publint');
    const { messages } = await publint({ pkgDir: pkg, level: 'suggestion', strict: true, pack: false });
    assert.deepEqual(messages, []);

    cpSync(path.join(root, 'tests', 'types'), app, { recursive: true });
    writeFileSync(path.join(app, 'package.json'), '{"name":"types","private":true}');
    for (const config of ['node', 'bare', 'bundler']) {
      try {
        execFileSync(bin('tsc'), ['-p', path.join(app, `tsconfig.${config}.json`)], { encoding: 'utf8' });
      } catch (e) {
        assert.fail(`tsconfig.${config}.json:\n${e.stdout}${e.stderr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The README quotes the inline build's size against the module and its wasm: keep it true
// (within 10%), as the build grows.
test("the README's sizes of the inline and the default build are today's", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /\((\d+) KB instead of (\d+) KB \+ (\d+) KB, before compression/.exec(readme);
  assert.ok(m, 'the README no longer quotes the sizes');
  const kb = (file) => statSync(path.join(root, 'dist', file)).size / 1000;
  for (const [quoted, file] of [[m[1], 'grove.inline.mjs'], [m[2], 'grove.browser.mjs'], [m[3], 'grove.wasm']]) {
    assert.ok(Math.abs(Number(quoted) - kb(file)) <= 0.1 * kb(file), `README says ${quoted} KB for ${file}, it is ${kb(file).toFixed(0)} KB`);
  }
});
