// Every code block of the README runs as pasted, or is named here with the test that runs it
// (a block that needs something from outside gets a local stand-in: data files, a Dask
// cluster on this machine). A new block with neither fails this test, so none goes untried.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { root } from './helpers.mjs';

const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1], code: m[2], line: readme.slice(0, m.index).split('\n').length,
}));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'grove-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const nativeBuild = path.join(root, 'build', 'native');
const venvPython = path.join(root, 'build', 'py-venv', 'bin', 'python');
const fashion = path.join(root, 'build', 'demo-data');

function sh(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// Each runner says whether it takes a block, and runs it (or names what runs it elsewhere).
const runners = [
  {
    name: 'the two commands: npm test is this suite, and it builds the demo (tests/browser/demo.test.mjs)',
    takes: (b) => b.lang === 'sh' && b.code.includes('npm run demo') && b.code.includes('npm test'),
  },
  {
    name: 'C++ quick start, compiled against the built library with `vec` and `q` defined',
    takes: (b) => b.lang === 'cpp' && b.code.includes('#include <grove/grove.h>'),
    run(b) {
      if (!existsSync(path.join(nativeBuild, 'native', 'libgrove.a'))) return 'skip: no native build (npm test makes it)';
      const dir = path.join(tmp, 'cpp');
      mkdirSync(dir, { recursive: true });
      const [include, ...body] = b.code.split('\n');
      writeFileSync(path.join(dir, 'main.cpp'), `${include}\n#include <vector>\nint main() {\n  std::vector<float> vec(40, 0.5f), q(40, 0.25f);\n${body.join('\n')}\n  return ids.empty() ? 1 : 0;\n}\n`);
      sh('g++', ['-std=c++14', '-O1', `-I${root}/core/include`, `-I${root}/native/include`, 'main.cpp',
        path.join(nativeBuild, 'native', 'libgrove.a'), '-lpthread', '-o', 'main'], { cwd: dir });
      sh(path.join(dir, 'main'), [], { cwd: dir });
    },
  },
  {
    name: 'CMake build and install: the native stage of npm test runs these steps (scripts/test.mjs)',
    takes: (b) => b.lang === 'sh' && b.code.includes('cmake --install build'),
  },
  {
    name: 'CMake: tests/consumer/CMakeLists.txt makes these calls (npm test builds it with find_package, add_subdirectory and FetchContent)',
    takes: (b) => b.lang === 'cmake',
    run(b) {
      const consumer = readFileSync(path.join(root, 'tests', 'consumer', 'CMakeLists.txt'), 'utf8');
      assert.ok(consumer.includes('find_package(grove') && consumer.includes('grove::grove'));
      for (const line of b.code.trim().split('\n').filter((l) => l && !l.startsWith('#'))) {
        const call = line.split('(')[0];
        assert.ok(consumer.includes(call), `tests/consumer lacks ${call}`);
      }
    },
  },
  {
    name: 'npm install from the tarball: tests/release/consumers.test.mjs installs the release tarball',
    takes: (b) => b.lang === 'sh' && b.code.startsWith('npm install grove-ann'),
  },
  {
    name: 'Python install from the wheel: tests/release/consumers.test.mjs installs the release wheel so',
    takes: (b) => b.lang === 'sh' && b.code.includes('.whl'),
    run(b) {
      const consumers = readFileSync(path.join(root, 'tests', 'release', 'consumers.test.mjs'), 'utf8');
      assert.ok(consumers.includes("'--system-site-packages'") && consumers.includes("'--no-index'"));
      const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
      assert.ok(b.code.includes(`grove_ann-${version}-`), 'the wheel named is not this version');
    },
  },
  {
    name: 'Node quick start, run as an ES module that imports the package by its name',
    takes: (b) => b.lang === 'js' && b.code.startsWith("import { AnnoyIndex } from 'grove-ann'"),
    run(b) {
      const dir = path.join(root, 'build', 'readme-node');  // inside the package: 'grove-ann' resolves to it
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'quick-start.mjs'), b.code);
      sh(process.execPath, ['quick-start.mjs'], { cwd: dir });
      assert.ok(existsSync(path.join(dir, 'test.ann')));
    },
  },
  {
    name: 'browser quick start: tests/browser/browser.test.mjs loads an index with fromUrl and its companion in Chromium',
    takes: (b) => b.lang === 'html',
  },
  {
    name: "module worker: tests/browser/worker-pattern.test.mjs runs this block in Chromium",
    takes: (b) => b.lang === 'js' && b.code.startsWith('// search.mjs'),
  },
  {
    name: 'kept in the browser: tests/browser/stored.test.mjs makes these calls in Chromium (tests/browser/stored-common.mjs)',
    takes: (b) => b.lang === 'js' && b.code.startsWith('// Kept in the browser'),
    run(b) {
      const common = readFileSync(path.join(root, 'tests', 'browser', 'stored-common.mjs'), 'utf8');
      for (const call of ['saveTo(', 'AnnoyIndex.open(', 'onProgress']) {
        assert.ok(b.code.includes(call) && common.includes(call), `${call} is not in both the block and the test`);
      }
    },
  },
  {
    name: 'Python quick start: native/python/tests/test_examples.py runs it as pasted',
    takes: (b) => b.lang === 'python' && b.code.startsWith('from grove import AnnoyIndex'),
  },
  {
    name: 'Python install on Debian: scripts/python.mjs runs these commands (tests/projects/checkout.test.mjs installs from a copied checkout so)',
    takes: (b) => b.lang === 'sh' && b.code.includes('pip install --no-build-isolation'),
    run(b) {
      const script = readFileSync(path.join(root, 'scripts', 'python.mjs'), 'utf8');
      for (const pkg of b.code.split('\n')[0].split(' ').slice(3)) assert.ok(script.includes(`'${pkg}'`), `scripts/python.mjs does not install ${pkg}`);
      assert.ok(script.includes("'--no-build-isolation'") && script.includes('--system-site-packages'));
    },
  },
  {
    name: 'Dask: the block, with a local cluster standing in for scheduler-host:8786 and random data',
    takes: (b) => b.lang === 'python' && b.code.includes('grove.dask'),
    run(b) {
      if (!existsSync(venvPython)) return 'skip: no Python venv (npm test makes it)';
      const dir = path.join(tmp, 'dask');
      mkdirSync(dir, { recursive: true });
      const code = b.code
        .replace("Client('scheduler-host:8786')", 'Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None))')
        .replace("out_dir='/shared/index'", `out_dir=${JSON.stringify(path.join(dir, 'index'))}`);
      assert.notEqual(code, b.code, 'the stand-ins no longer match the block');
      writeFileSync(path.join(dir, 'dask_block.py'), [
        'import numpy as np',
        'from dask.distributed import LocalCluster',
        'data = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)',
        'queries = data[:5]',
        'if __name__ == "__main__":',
        ...code.split('\n').map((l) => `    ${l}`),
        '    assert (ids[:, 0] == np.arange(5)).all() and local.get_n_items() == 2000',
        '    client.close()',
      ].join('\n'));
      sh(venvPython, ['dask_block.py'], { cwd: dir });
    },
  },
  {
    name: 'command line: the block on Fashion-MNIST (build/demo-data, which npm test fetches)',
    takes: (b) => b.lang === 'sh' && b.code.startsWith('grove build'),
    run(b) {
      const cli = path.join(nativeBuild, 'native', 'grove');
      if (!existsSync(cli) || !existsSync(path.join(fashion, 'train.npy'))) return 'skip: no native CLI or data (npm test makes them)';
      const dir = path.join(tmp, 'cli');
      mkdirSync(dir, { recursive: true });
      for (const line of b.code.trim().split('\n')) {
        const args = line.split('#')[0].trim().split(/\s+/).slice(1)
          .map((a) => (a === 'train.npy' || a === 'test.npy' ? path.join(fashion, a) : a));
        sh(cli, args, { cwd: dir });
      }
    },
  },
  {
    name: 'the layout of the repository (a listing, not code)',
    takes: (b) => b.lang === '' && b.code.startsWith('core/'),
  },
];

test('every README code block has a runner or a named test', () => {
  for (const b of blocks) {
    const takers = runners.filter((r) => r.takes(b));
    assert.equal(takers.length, 1, `README line ${b.line} (${b.lang || 'plain'}): ${takers.length} runners take it:\n${b.code.slice(0, 200)}`);
  }
  for (const r of runners) assert.ok(blocks.some((b) => r.takes(b)), `no README block for: ${r.name}`);
});

for (const r of runners.filter((x) => x.run)) {
  test(`README: ${r.name}`, (t) => {
    for (const b of blocks.filter((x) => r.takes(x))) {
      const outcome = r.run(b);
      if (typeof outcome === 'string' && outcome.startsWith('skip')) t.skip(outcome);
    }
  });
}

