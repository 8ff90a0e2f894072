// The project's own scripts: they work from a checkout path with spaces, and the static
// server used by the demo and the browser tests survives malformed requests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
