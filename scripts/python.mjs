// The Python binding in a venv of Debian's /usr/bin/python3 (not the first python3 on PATH,
// which may be another install that sees none of Debian's packages), installed as the README
// says. Used by npm test and the Dask benchmark.
import { existsSync } from 'node:fs';
import { ensurePackages, root, run } from './lib.mjs';

// What building and testing the binding needs, all from Debian.
export const pythonPackages = ['python3-dev', 'python3-venv', 'pybind11-dev', 'python3-pybind11', 'python3-numpy',
  'python3-pytest', 'python3-distributed'];

// wheel: install that (npm test's release wheel: the source is compiled once) instead of
// building the checkout's native/python, as the README's source install does.
export function ensurePythonBinding({ wheel } = {}) {
  ensurePackages(pythonPackages);
  const venv = `${root}/build/py-venv`;
  if (!existsSync(`${venv}/bin/python`)) run('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv]);
  run(`${venv}/bin/python`, ['-c', 'import numpy, distributed, pybind11, pytest']);
  const source = wheel ? ['--force-reinstall', '--no-deps', wheel] : ['--no-build-isolation', `${root}/native/python`];
  run(`${venv}/bin/pip`, ['install', '--no-index', '--disable-pip-version-check', '--quiet', ...source]);
  return `${venv}/bin/python`;
}
