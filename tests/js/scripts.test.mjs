// The project's own scripts: they work from a checkout path with spaces, and the static
// server used by the demo and the browser tests survives malformed requests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { root } from './helpers.mjs';
import { serveStatic } from '../../scripts/serve.mjs';

test('isMain() recognises a script run from a path with spaces and non-ASCII letters', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove scripts é '));
  try {
    const script = path.join(dir, 'main check.mjs');
    const lib = pathToFileURL(path.join(root, 'scripts', 'lib.mjs')).href;
    writeFileSync(script, `import { isMain } from ${JSON.stringify(lib)};\nconsole.log(isMain(import.meta.url));\n`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function get(url, pathname) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { path: pathname }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the static server answers 400 to a malformed URL and keeps serving', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-serve-'));
  writeFileSync(path.join(dir, 'index.html'), '<p>ok</p>');
  const server = await serveStatic(dir);
  try {
    assert.equal(await get(server.url, '/%E0%A4%A'), 400);
    assert.equal(await get(server.url, '/'), 200);
    assert.equal(await get(server.url, '/../etc/passwd'), 404);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A checkout copied or moved elsewhere: build folders configured for the old path are
// configured afresh (CMake would refuse their caches), and a real configure then works.
test('a build folder configured for another checkout is configured afresh', async () => {
  const { forgetStaleBuild, run } = await import('../../scripts/lib.mjs');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove stale '));
  try {
    const source = path.join(dir, 'src'), build = path.join(dir, 'build');
    mkdirSync(source);
    writeFileSync(path.join(source, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.16)\nproject(probe NONE)\n');
    run('cmake', ['-S', source, '-B', build], { stdio: 'ignore' });
    forgetStaleBuild(source, build);  // the same checkout: kept
    assert.ok(existsSync(path.join(build, 'CMakeCache.txt')));
    const moved = path.join(dir, 'moved');
    renameSync(source, moved);  // the folder's cache names the old source
    run('cmake', ['-S', moved, '-B', build], { stdio: 'ignore' });  // would fail without the check
    assert.match(readFileSync(path.join(build, 'CMakeCache.txt'), 'utf8'), new RegExp(`CMAKE_HOME_DIRECTORY:INTERNAL=${moved}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// pip in a copied checkout compiles the copy's sources: native/python/_sources links are
// relative, and a link left pointing elsewhere (an old absolute one, of the layout that linked
// whole folders) is made again. (tests/projects/checkout.test.mjs does it end to end.)
test('the Python build links the checkout it is in', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove links '));
  try {
    const copy = path.join(dir, 'checkout');
    const parts = ['core/include', 'core/src', 'native/include', 'native/src', 'native/tools'];
    for (const part of parts) mkdirSync(path.join(copy, part), { recursive: true });
    mkdirSync(path.join(copy, 'native/python/_sources'), { recursive: true });
    copyFileSync(path.join(root, 'native/python/setup.py'), path.join(copy, 'native/python/setup.py'));
    symlinkSync('/nonexistent/old-checkout/core', path.join(copy, 'native/python/_sources/core'));
    // Run only the link-making part of setup.py (everything before its first function), without
    // pybind11 and setuptools, which this python3 may lack.
    const setup = readFileSync(path.join(copy, 'native/python/setup.py'), 'utf8');
    const prefix = setup.slice(0, setup.indexOf('\ndef ')).replace(/^from (pybind11|setuptools).*$/gm, '').replace(/^ParallelCompile.*$/m, '');
    writeFileSync(path.join(copy, 'native/python/links.py'), `__file__ = ${JSON.stringify(path.join(copy, 'native/python/setup.py'))}\n${prefix}`);
    const r = spawnSync('python3', [path.join(copy, 'native/python/links.py')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const part of parts) {
      const link = path.join(copy, 'native/python/_sources', part);
      assert.ok(!path.isAbsolute(readlinkSync(link)), readlinkSync(link));
      assert.equal(realpathSync(link), realpathSync(path.join(copy, part)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
