// Builds the WebAssembly module and the package's dist/ (run by npm test, demo and pack).
import { existsSync, renameSync, rmSync } from 'node:fs';
import { capture, ensurePackages, isMain, jobs, log, root, run } from './lib.mjs';
import { ensureNodeModules } from './node-deps.mjs';

// The wasm build with runtime checks: assertions and a checked heap (every load and store
// bounds- and alignment-checked). Only the Node loader is built; tests point GROVE_DIST_DIR at it.
export async function buildCheckedWasm() {
  ensurePackages(['emscripten', 'cmake', 'make']);
  const env = { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
  const dir = `${root}/build/wasm-checked`;
  const dist = `${dir}/dist`;
  run('emcmake', ['cmake', '-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', `-DGROVE_WASM_OUT=${dist}`,
    '-DGROVE_WASM_EXTRA_LINK=-sASSERTIONS=2;-sSAFE_HEAP=1'], { env });
  run('cmake', ['--build', dir, '--parallel', jobs, '--target', 'grove_node'], { env });
  rmSync(`${dist}/grove.wasm`, { force: true });
  renameSync(`${dist}/grove.node.wasm`, `${dist}/grove.wasm`);
  return dist;
}

export async function buildWasm() {
  ensurePackages(['emscripten', 'cmake', 'make']);
  await ensureNodeModules();
  // Debian's emcc needs its JS tools on NODE_PATH for optimised builds.
  const env = { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs' };
  const dir = `${root}/build/wasm`;
  const dist = `${root}/dist`;
  log('wasm: build with emcc');
  run('emcmake', ['cmake', '-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', `-DGROVE_WASM_OUT=${dist}`], { env });
  run('cmake', ['--build', dir, '--parallel', jobs], { env });
  // Both loaders link the same objects into the same wasm; ship it once.
  if (existsSync(`${dist}/grove.node.wasm`)) {
    capture('cmp', [`${dist}/grove.wasm`, `${dist}/grove.node.wasm`]);
    rmSync(`${dist}/grove.node.wasm`);
  }
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [`${root}/js/browser.mjs`],
    outfile: `${dist}/grove.browser.mjs`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
  });
  return dist;
}

if (isMain(import.meta.url)) await buildWasm();
