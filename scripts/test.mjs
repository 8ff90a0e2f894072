// npm test: builds everything and runs every suite. Installs what a fresh Debian lacks.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWasm } from './build-wasm.mjs';
import { buildNative, capture, ensurePackages, jobs, log, root, run } from './lib.mjs';

// Real Annoy for the interop test (skipped, with a message, where it cannot be installed).
ensurePackages(['r-cran-rcppannoy'], { required: false });

log('native: build and run the C++ suite');
const dir = buildNative();
run('ctest', ['--test-dir', dir, '--output-on-failure', '--parallel', jobs]);

log('native: install, then link the installed grove::grove from a separate CMake project');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'grove-install-'));
try {
  const prefix = path.join(scratch, 'prefix');
  run('cmake', ['--install', dir, '--prefix', prefix]);
  const consumer = path.join(scratch, 'consumer');
  run('cmake', ['-S', `${root}/tests/consumer`, '-B', consumer, `-DCMAKE_PREFIX_PATH=${prefix}`]);
  run('cmake', ['--build', consumer]);
  run(path.join(consumer, 'consumer'), []);
  // The same program built through the pkg-config file.
  const env = { ...process.env, PKG_CONFIG_PATH: path.join(prefix, 'lib', 'pkgconfig') };
  const flags = capture('pkg-config', ['--cflags', '--libs', 'grove'], { env }).trim().split(/\s+/);
  const exe = path.join(scratch, 'pc-consumer');
  run('g++', ['-std=c++14', `${root}/tests/consumer/main.cpp`, ...flags, '-o', exe]);
  run(exe, []);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
log('wasm: build the package, then the Node and browser suites');
ensurePackages(['chromium']);
await buildWasm();
run('node', ['--test', 'tests/js/', 'tests/browser/']);
log('all suites passed');
