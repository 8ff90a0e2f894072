// Runs the same checks inside a module Web Worker.
import { run } from './checks.mjs';

run().then((result) => postMessage(result), (e) => postMessage({ fatal: String(e?.stack ?? e) }));
