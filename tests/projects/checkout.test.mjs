// A checkout copied elsewhere, then moved, with the build folders it had: npm pack, npm run
// demo and the Python install work in each (they used to die on CMake's "CMakeCache.txt
// directory ... is different", and pip followed absolute links into the original tree).
// Run by npm test after the other suites, which leave the build folders this copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { root } from '../../scripts/lib.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-relocated-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sh(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} in ${cwd}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return `${r.stdout}${r.stderr}`;
}

// What a user's copy holds: the tracked files and what the builds left (node_modules, dist/,
// the Python build's links, build folders configured here).
function copyCheckout(to) {
  const tracked = sh('git', ['ls-files'], root).split('\n').filter(Boolean);
  const left = ['node_modules', 'dist', 'native/python/_sources', 'build/wasm', 'build/demo-data']
    .filter((p) => existsSync(path.join(root, p)));
  assert.ok(left.includes('build/wasm'), 'no build folder to copy (npm test makes them first)');
  mkdirSync(to);
  const list = path.join(tmp, 'files');
  sh('/bin/sh', ['-c', `printf '%s\\n' "$@" > ${list}`, 'sh', ...tracked, ...left], root);
  sh('/bin/sh', ['-c', `tar -C '${root}' -cf - -T '${list}' | tar -C '${to}' -xf -`], root);
}

function worksIn(checkout) {
  const started = Date.now();
  const packed = sh('npm', ['pack', '--pack-destination', tmp], checkout);
  assert.match(packed, /was configured for another checkout/, 'build/wasm was not stale: the case is not exercised');
  assert.ok(readdirSync(tmp).some((f) => f.endsWith('.tgz')), 'npm pack made no tarball');
  rmSync(path.join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))));

  sh('npm', ['run', 'demo', '--', '--no-serve'], checkout);
  assert.ok(statSync(path.join(checkout, 'demo', 'dist', 'index.ann')).mtimeMs >= started - 1000, 'the demo index was not made anew');

  const venv = path.join(tmp, `venv-${path.basename(checkout)}`);
  sh('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv], tmp);
  sh(path.join(venv, 'bin', 'pip'), ['install', '--no-build-isolation', '--no-index', '--disable-pip-version-check', '--quiet', './native/python'], checkout);
  const sources = path.join(checkout, 'native', 'python', '_sources');
  for (const part of ['core/include', 'core/src', 'native/include', 'native/src', 'native/tools']) {
    const link = path.join(sources, part);
    assert.ok(lstatSync(link).isSymbolicLink() && !path.isAbsolute(readlinkSync(link)), `${part}: not a relative link`);
  }
  const out = sh(path.join(venv, 'bin', 'python'), ['-c', [
    'from grove import AnnoyIndex',
    "t = AnnoyIndex(3, 'euclidean')",
    '[t.add_item(i, [i, 0, 0]) for i in range(50)]',
    't.build(4)',
    'print(t.get_nns_by_vector([7.2, 0, 0], 2))',
  ].join('\n')], tmp);
  assert.equal(out.trim(), '[7, 8]');
}

test('a copied checkout, then the same checkout moved: npm pack, npm run demo and the Python install work', () => {
  const copied = path.join(tmp, 'copied');
  copyCheckout(copied);
  worksIn(copied);
  const moved = path.join(tmp, 'moved');
  renameSync(copied, moved);
  worksIn(moved);
});
