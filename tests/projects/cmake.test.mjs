// A CMake project that takes Grove as a subproject, as the README shows: through
// add_subdirectory on the source tree, and through FetchContent from its git repository.
// Either way it builds only the library (no tests, CLI or install rules of Grove's) and
// links grove::grove. (The installed package, find_package, is npm test's install stage.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { root } from '../../scripts/lib.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-subproject-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sh(command, args) {
  const r = spawnSync(command, args, { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

for (const how of ['add_subdirectory', 'FetchContent']) {
  test(`a project takes Grove through ${how}`, { skip: how === 'FetchContent' && !existsSync(path.join(root, '.git')) && 'not a git checkout' }, () => {
    const build = path.join(tmp, how);
    const options = [`-DGROVE_CONSUME=${how}`, `-DGROVE_SOURCE_DIR=${root}`];
    // FetchContent clones the committed tree at this commit (what a user's project pins).
    if (how === 'FetchContent') options.push(`-DGROVE_GIT_TAG=${sh('git', ['-C', root, 'rev-parse', 'HEAD']).trim()}`);
    sh('cmake', ['-S', path.join(root, 'tests', 'consumer'), '-B', build, '-DCMAKE_BUILD_TYPE=Release', ...options]);
    sh('cmake', ['--build', build, '--parallel', '2']);
    assert.match(sh(path.join(build, 'consumer'), []), /nearest to \(0\.9, 1\.1, 1\) is item 1/);
    const grove = how === 'FetchContent' ? path.join(build, '_deps', 'grove-build') : path.join(build, 'grove');
    for (const leftOut of ['native/grove', 'tests']) assert.ok(!existsSync(path.join(grove, leftOut)), `a subproject built Grove's ${leftOut}`);
  });
}
