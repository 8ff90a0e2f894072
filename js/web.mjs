// The browser side shared by the browser and inline entries: no top-level await, so importing
// is synchronous (a worker's onmessage is set before any message can arrive), and the wasm
// module loads on the first `await ready` or init() call, from where the entry says or from
// where init({ wasm }) says: a URL, a Response, bytes or a compiled WebAssembly.Module.
import createGroveModule from '../dist/grove.mjs';
import { createApi, GroveError } from './api.cjs';

function sourceName(source) {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof Response !== 'undefined' && source instanceof Response) return source.url || 'the response';
  if (source instanceof WebAssembly.Module) return 'a WebAssembly.Module';
  return 'the bytes given';
}

function loadError(source, why) {
  return new GroveError(`cannot load Grove's WebAssembly module from '${sourceName(source)}': ${why}. ` +
    "Pass its location or bytes with init({ wasm }) (see the README's browser quick start)", 'Io');
}

// Instantiates the wasm from `source` with Emscripten's imports.
async function instantiate(source, imports) {
  if (source instanceof WebAssembly.Module) return { instance: await WebAssembly.instantiate(source, imports), module: source };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.instantiate(source, imports);
  let response = source;
  if (!(typeof Response !== 'undefined' && source instanceof Response)) {
    try {
      response = await fetch(source instanceof URL ? source.href : String(source), { credentials: 'same-origin' });
    } catch (e) {
      throw loadError(source, e.message);
    }
  }
  if (!response.ok) throw loadError(source, `HTTP ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/html')) {
    throw loadError(source, 'the server sent an HTML page, not the wasm file (a dev server that does not serve it, such as ' +
      "Vite's without optimizeDeps.exclude: ['grove-ann'])");
  }
  const bytes = await response.arrayBuffer();
  try {
    return await WebAssembly.instantiate(bytes, imports);
  } catch (e) {
    throw loadError(source, e.message);
  }
}

export function createWebEntry(defaultSource) {
  let loading = null;
  const api = createApi(null, () => init());

  // Loads the module once: later calls return the same promise (their options are ignored
  // once loading has started). A failed load can be retried.
  function init(options = {}) {
    if (!loading) {
      const source = options.wasm ?? defaultSource();
      loading = new Promise((resolve, reject) => {
        createGroveModule({
          instantiateWasm(imports, done) {
            instantiate(source, imports).then((r) => done(r.instance, r.module), reject);
            return {};
          },
        }).then((module) => {
          api.attach(module);
          resolve(entry);
        }, reject);
      });
      loading.catch(() => { loading = null; });
    }
    return loading;
  }

  // A thenable: `await ready` starts loading from the default location if init() has not.
  const ready = {
    then(resolve, reject) { return init().then(resolve, reject); },
    catch(reject) { return init().catch(reject); },
    finally(fn) { return init().finally(fn); },
  };

  const entry = { AnnoyIndex: api.AnnoyIndex, ShardedIndex: api.ShardedIndex, GroveError, init, ready };
  return entry;
}
