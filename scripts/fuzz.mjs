// npm run fuzz [-- --seconds N]: builds the libFuzzer targets with clang (ASan + UBSan) and
// runs each for N seconds (default 60) from a seed corpus of real index files and datasets.
// Any crash, leak or sanitizer report fails the run; the reproducer is left in build/fuzz.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { npyBytes } from './fashion-mnist.mjs';
import { ensurePackages, isMain, jobs, log, root, run } from './lib.mjs';

export function fuzz(seconds = 60) {
  ensurePackages(['clang-14', 'libclang-rt-14-dev', 'cmake', 'make']);
  const dir = `${root}/build/fuzz`;
  run('cmake', ['-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DGROVE_FUZZ=ON',
    '-DGROVE_BUILD_TESTS=OFF', '-DGROVE_BUILD_CLI=OFF', '-DCMAKE_CXX_COMPILER=clang++-14', '-DCMAKE_C_COMPILER=clang-14']);
  run('cmake', ['--build', dir, '--parallel', jobs, '--target', 'index_fuzz', 'dataset_fuzz', 'manifest_fuzz', 'compact_fuzz']);

  const seeds = seedCorpus();
  const stats = [];
  for (const target of ['index_fuzz', 'dataset_fuzz', 'manifest_fuzz', 'compact_fuzz']) {
    const corpus = `${dir}/corpus-${target}`;
    mkdirSync(corpus, { recursive: true });
    for (const [name, bytes] of seeds[target]) writeFileSync(`${corpus}/seed-${name}`, bytes);
    log(`fuzzing ${target} for ${seconds} s`);
    // -timeout: one input that takes seconds (a crafted file making a query slow) is a failure,
    // not a slow pass; -rss_limit_mb/-malloc_limit_mb: so is one that needs a lot of memory.
    const r = spawnSync(`${dir}/tests/fuzz/${target}`, [corpus, `-max_total_time=${seconds}`, '-print_final_stats=1',
      '-timeout=5', '-rss_limit_mb=1024', '-malloc_limit_mb=512', '-max_len=262144',
      `-artifact_prefix=${dir}/crash-${target}-`], { encoding: 'utf8', cwd: dir });
    const out = `${r.stdout}${r.stderr}`;
    const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1];
    const files = readdirSync(corpus).length;
    stats.push({ target, execs: Number(execs), corpus: files, status: r.status });
    if (r.status !== 0) {
      console.log(out.split('\n').slice(-60).join('\n'));
      throw new Error(`${target} found a failure (see ${dir}/crash-${target}-*)`);
    }
    log(`${target}: ${execs} executions, ${files} inputs in the corpus`);
  }
  return stats;
}

// Real index files (every metric, edge cases) and small datasets, each with the selector
// bytes the targets read first.
function seedCorpus() {
  const metricOf = { angular: 0, euclidean: 1, manhattan: 2, dot: 3, hamming: 4 };
  const data = `${root}/tests/data/annoy`;
  const index = [];
  for (const name of readdirSync(data).filter((n) => n.startsWith('format-') && n.endsWith('.ann'))) {
    const metric = name.split('-')[1];
    const f = metric === 'hamming' ? 0 : 2;  // f = 3 (hamming: 1 word -> selector 0 gives 64 bits)
    index.push([name, Buffer.concat([Buffer.from([metricOf[metric], f]), readFileSync(`${data}/${name}`)])]);
  }
  for (const name of ['edge-angular-tiny.ann', 'edge-angular-one.ann', 'edge-angular-empty.ann']) {
    index.push([name, Buffer.concat([Buffer.from([0, 15]), readFileSync(`${data}/${name}`)])]);
  }
  const npy = npyBytes(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
  const dataset = [
    ['npy', Buffer.concat([Buffer.from([0]), npy])],
    ['fvecs', Buffer.concat([Buffer.from([1, 2, 0, 0, 0]), Buffer.alloc(8, 0x3f)])],
    ['csv', Buffer.from('\x02a,b,c\n1,2,3\n4.5,-6e3,7\n')],
    ['tsv', Buffer.from('\x021\t2\n3\t4\n')],
  ];
  const manifest = [['manifest', Buffer.from(JSON.stringify({
    format: 'grove-sharded', version: 1, f: 3, metric: 'dot', dot_layout: 'released', total_items: 10,
    shards: [{ file: 'a.ann', items: 4, first_id: 0, n_trees: 2, seed: 1 }, { file: 'b.ann', items: 6, first_id: 4, n_trees: 2, seed: 2 }],
  }))]];
  // Companions: the target makes a valid one itself; these pick the metric and the mode.
  const compact = [0, 1, 2, 3].flatMap((m) => [
    [`xor-${m}`, Buffer.from([m, 0, 0x10, 0x00, 1, 2, 3])],
    [`raw-${m}`, Buffer.concat([Buffer.from([m, 1]), Buffer.from('GROVESQ8'), Buffer.alloc(56)])],
  ]);
  return { index_fuzz: index, dataset_fuzz: dataset, manifest_fuzz: manifest, compact_fuzz: compact };
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--seconds');
  fuzz(i > 0 ? Number(process.argv[i + 1]) : 60);
}
