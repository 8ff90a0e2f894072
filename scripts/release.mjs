// npm run release [-- --out DIR]: every release artifact, built from this checkout into
// release/ (or DIR): the npm tarball (with the wasm CLI), the Python sdist and the wheel built
// from that sdist, and SHA256SUMS. It checks that every version number agrees with the
// CHANGELOG, and that `npm publish --dry-run` is clean. Publishing is the maintainer's step
// (RELEASING.md): it needs credentials this script never asks for.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildWasm } from './build-wasm.mjs';
import { ensurePackages, isMain, log, root, run } from './lib.mjs';
import { pythonPackages } from './python.mjs';

// The version every manifest states, which must be the CHANGELOG's newest entry.
export function releaseVersion() {
  const read = (file) => readFileSync(path.join(root, file), 'utf8');
  const found = {
    'package.json': JSON.parse(read('package.json')).version,
    'native/python/pyproject.toml': /^version = "([^"]+)"/m.exec(read('native/python/pyproject.toml'))?.[1],
    'CMakeLists.txt': /project\(grove VERSION ([0-9.]+)/.exec(read('CMakeLists.txt'))?.[1],
    'CHANGELOG.md': /^## ([0-9][^ \n]*)/m.exec(read('CHANGELOG.md'))?.[1],
  };
  const versions = new Set(Object.values(found));
  if (versions.size !== 1 || versions.has(undefined)) {
    throw new Error(`the version numbers disagree: ${Object.entries(found).map(([f, v]) => `${f} ${v}`).join(', ')}`);
  }
  return found['package.json'];
}

// The Python sdist, then the wheel built from it (python -m build's default), so the sdist is
// proven to build: Debian's python3 and packages, no package index (--no-isolation). Into a
// fresh `out`; returns the wheel's path.
export function buildPythonDist(out) {
  releaseVersion();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  ensurePackages([...pythonPackages, 'python3-build']);
  run('/usr/bin/python3', ['-m', 'build', '--no-isolation', '--outdir', out, path.join(root, 'native', 'python')]);
  const wheel = readdirSync(out).find((f) => f.endsWith('.whl'));
  if (!wheel || !readdirSync(out).some((f) => f.endsWith('.tar.gz'))) throw new Error(`python -m build left no wheel or sdist in ${out}`);
  return path.join(out, wheel);
}

// pythonBuilt: `out` already holds this checkout's sdist and wheel (npm test builds them
// first, for its Python stage); otherwise they are built here.
export async function release(out = path.join(root, 'release'), { pythonBuilt = false } = {}) {
  const version = releaseVersion();
  log(`release ${version}: artifacts into ${out}`);
  await buildWasm();
  if (!pythonBuilt) buildPythonDist(out);

  // dist/ is built above: pack it as it is (--ignore-scripts skips prepack's second build).
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', out]);
  const tarball = path.join(out, `grove-ann-${version}.tgz`);
  // Clean: no warning but the one about not being logged in (publishing is not done here).
  const dryRun = spawnSync('npm', ['publish', '--dry-run', '--ignore-scripts', tarball], { cwd: out, encoding: 'utf8' });
  const warnings = `${dryRun.stdout}${dryRun.stderr}`.split('\n').filter((l) => /^npm (warn|error)/i.test(l) && !/logged in/.test(l));
  if (dryRun.status !== 0 || warnings.length) throw new Error(`npm publish --dry-run is not clean:\n${dryRun.stderr}`);

  const files = readdirSync(out).sort();
  const wheel = files.find((f) => f.endsWith('.whl'));
  const sdist = files.find((f) => f.endsWith('.tar.gz'));
  if (!wheel || !sdist) throw new Error(`python -m build left no wheel or sdist in ${out}: ${files.join(', ')}`);
  writeFileSync(path.join(out, 'SHA256SUMS'), files.map((f) =>
    `${createHash('sha256').update(readFileSync(path.join(out, f))).digest('hex')}  ${f}\n`).join(''));
  log(`release ${version}: ${files.join(', ')}, SHA256SUMS`);
  return { version, tarball, wheel: path.join(out, wheel), sdist: path.join(out, sdist) };
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  await release(at > 0 ? path.resolve(process.argv[at + 1]) : undefined);
}
