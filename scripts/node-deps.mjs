// Installs the package's devDependencies (esbuild, playwright-core) when they are missing.
import { existsSync } from 'node:fs';
import { log, root, run } from './lib.mjs';

export async function ensureNodeModules() {
  const needed = ['esbuild', 'playwright-core', 'typescript', '@arethetypeswrong/cli', 'publint', 'vite', 'vite5', 'webpack',
    'rollup', '@rollup/plugin-node-resolve', 'hnswlib-wasm'];
  if (needed.every((name) => existsSync(`${root}/node_modules/${name}/package.json`))) return;
  log('installing npm devDependencies');
  run('npm', [existsSync(`${root}/package-lock.json`) ? 'ci' : 'install', '--no-audit', '--no-fund']);
}
