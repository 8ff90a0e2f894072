// The published tarball as its tools see it, and the README's sizes. Installing it (and the
// other release artifacts) into fresh consumers: tests/release/consumers.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { root } from './helpers.mjs';

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
