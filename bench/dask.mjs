// npm run bench:dask: the Dask scale-out benchmark (bench/dask_bench.py) in the Python venv.
import { ensurePythonBinding } from '../scripts/python.mjs';
import { root, run } from '../scripts/lib.mjs';

run(ensurePythonBinding(), [`${root}/bench/dask_bench.py`, ...process.argv.slice(2)]);
