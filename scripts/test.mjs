// npm test: builds everything and runs every suite. Installs what a fresh Debian lacks.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCheckedWasm, buildWasm } from './build-wasm.mjs';
import { buildDemo } from './demo.mjs';
import { fuzz } from './fuzz.mjs';
import { ensurePythonBinding } from './python.mjs';
import { buildPythonDist, release } from './release.mjs';
import { buildNative, capture, ensurePackages, jobs, log, root, run, startInBackground } from './lib.mjs';

// --quick (or GROVE_QUICK=1): the functional suites only, for fast local iteration.
const quick = process.argv.includes('--quick') || process.env.GROVE_QUICK === '1';

// Real Annoy for the interop test (skipped, with a message, where it cannot be installed).
ensurePackages(['r-cran-rcppannoy'], { required: false });

log('native: build and run the C++ suite');
const dir = buildNative();
run('ctest', ['--test-dir', dir, '--output-on-failure', '--parallel', jobs]);

log('native: the build configures without the CLI and without install rules (options a parent project sets)');
run('cmake', ['-S', root, '-B', `${root}/build/options`, '-DGROVE_BUILD_CLI=OFF', '-DGROVE_INSTALL=OFF', '-DGROVE_BUILD_TESTS=ON']);

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
log('python: the sdist and the wheel built from it (the release\'s), the wheel in a venv of Debian\'s python3, and the pytest suite (Dask included)');
const releaseDir = `${root}/build/release`;
runPythonSuite(buildPythonDist(releaseDir));

log('wasm: the C++ suite compiled to wasm32, run by Node');
runWasmCppSuite();

log('wasm: build the package, then the Node and browser suites');
ensurePackages(['chromium']);
await buildWasm();
await buildDemo();  // the demo page's browser test needs its site and index
run('node', ['--test', 'tests/js/', 'tests/browser/']);

log('release: every artifact (npm run release), each installed into a consumer with no compiler on PATH');
await release(releaseDir, { pythonBuilt: true });
run('node', ['--test', 'tests/release/'], { env: { ...process.env, GROVE_RELEASE_DIR: releaseDir } });

if (quick) {
  log('--quick: skipping the sanitizer, TSan, checked-wasm and fuzz runs');
  log('projects: a copied and a moved checkout (npm pack, npm run demo, the Python install), CMake subprojects');
  run('node', ['--test', 'tests/projects/']);
} else {
  log('native: the whole C++ suite under AddressSanitizer + UndefinedBehaviorSanitizer');
  const asan = sanitizedBuild('asan', 'address,undefined');
  run('ctest', ['--test-dir', asan, '--output-on-failure', '--parallel', jobs], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' } });

  log('native: the concurrency tests under ThreadSanitizer');
  const tsan = sanitizedBuild('tsan', 'thread', ['concurrency_test', 'index_test']);
  run('ctest', ['--test-dir', tsan, '--output-on-failure', '-R', 'Concurrency|SameSeedSameIndexAnyThreadCount|BatchQueries'], { env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' } });

  log('wasm: the Node suite against a build with assertions and a checked heap');
  const checked = await buildCheckedWasm();
  // The checked suite (node --test runs one file at a time) and each fuzzer run on one core:
  // the other builds and tests the outside projects meanwhile.
  const projects = startInBackground('node', ['--test', 'tests/projects/'], `${root}/build/projects.log`);
  log('projects: a copied and a moved checkout (npm pack, npm run demo, the Python install), CMake subprojects, in the background (log: build/projects.log)');
  run('node', ['--test', 'tests/js/'], { env: { ...process.env, GROVE_DIST_DIR: checked, GROVE_SKIP_BIG: '1' } });

  const seconds = Number(process.env.GROVE_FUZZ_SECONDS ?? 15);
  log(`fuzzing: ${seconds} s per target`);
  fuzz(seconds);  // logs each target's executions and corpus size
  await projects;
  log('projects: passed');
}
log('all suites passed');

function runPythonSuite(wheel) {
  const python = ensurePythonBinding({ wheel });
  run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `${root}/native/python/tests`]);
}

// The GoogleTest suite under emcc (32-bit size_t), each test binary run by node.
function runWasmCppSuite() {
  ensurePackages(['emscripten', 'cmake', 'make']);
  const env = { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
  const dir = `${root}/build/wasm-tests`;
  run('emcmake', ['cmake', '-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', '-DGROVE_WASM_TESTS=ON',
    '-DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node', `-DGROVE_WASM_OUT=${dir}/dist`], { env });
  const tests = ['golden_test', 'index_test', 'errors_test', 'kernels_test', 'compact_test', 'sharded_test', 'filter_test', 'changes_test', 'graph_test'].map((t) => `wasm_${t}`);
  run('cmake', ['--build', dir, '--parallel', jobs, '--target', ...tests], { env });
  run('ctest', ['--test-dir', dir, '--output-on-failure', '--parallel', jobs, '-R', '^wasm_'], { env });
}

// A build folder whose every target (library and tests) carries the sanitizers.
function sanitizedBuild(name, sanitizers, targets = []) {
  const dir = `${root}/build/${name}`;
  run('cmake', ['-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', `-DGROVE_SANITIZE=${sanitizers}`, '-DGROVE_BUILD_CLI=ON']);
  run('cmake', ['--build', dir, '--parallel', jobs, ...(targets.length ? ['--target', ...targets] : [])]);
  return dir;
}
