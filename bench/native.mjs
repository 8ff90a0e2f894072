// The benchmark drivers (bench/CMakeLists.txt), built in build/bench with the peers they need.
import { ensurePackages, jobs, root, run } from '../scripts/lib.mjs';

// Builds the given driver targets; returns the folder their executables are in.
export function buildDrivers(...targets) {
  ensurePackages(['g++', 'cmake', 'make', 'r-cran-rcppannoy', 'libhnswlib-dev']);
  const buildDir = `${root}/build/bench`;
  run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DGROVE_BUILD_TESTS=OFF', '-DGROVE_BUILD_BENCH=ON']);
  run('cmake', ['--build', buildDir, '--parallel', jobs, '--target', ...targets]);
  return `${buildDir}/bench`;
}
