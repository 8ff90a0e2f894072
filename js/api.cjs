'use strict';
// The AnnoyIndex class for JavaScript, over the wasm module's RawIndex (wasm/bindings.cpp).
// Shared by every entry point; `platform` adds file access where there is one (Node).
//
// Arrays cross into wasm through one scratch block per module; results are copied out, never
// handed out as views (a view goes stale when wasm memory grows). The wrapper checks types
// and lengths before anything crosses, and turns the core's status codes into thrown errors
// with the core's own words.

// grove::ErrorCode in order (core/include/grove/error.h). Cancelled never reaches JS: a JS
// build has no stop flag.
const ERROR_CODES = ['InvalidArgument', 'OutOfRange', 'WrongState', 'Io', 'BadFormat', 'OutOfMemory', 'Cancelled'];
const stored = require('./stored.cjs');
const INT32_MAX = 2147483647;
const MAX_DIMENSION = 1 << 24;  // the core's limit (index.cpp)

class GroveError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'GroveError';
    this.code = code;
  }
}

// C++ InvalidArgument and OutOfRange are bad values: RangeError. The rest: GroveError.
function errorFor(code, message) {
  const name = ERROR_CODES[code] ?? 'InvalidArgument';
  if (name === 'InvalidArgument' || name === 'OutOfRange') {
    const e = new RangeError(message);
    e.code = name;
    return e;
  }
  return new GroveError(message, name);
}

function rangeError(message, code = 'InvalidArgument') {
  const e = new RangeError(message);
  e.code = code;
  return e;
}

function typeError(message) {
  const e = new TypeError(message);
  e.code = 'InvalidArgument';
  return e;
}

// Vectors are Arrays of numbers or numeric typed arrays (any of them, as Annoy takes any
// numeric sequence: a Uint8Array of pixels is a vector of 0..255): nothing else is converted,
// so a string, boolean, null, BigInt or nested array is an error, as in Annoy, never a
// silently different vector.
function vectorProblem(v) {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) return null;
  if (!Array.isArray(v)) return `must be an Array of numbers or a numeric typed array (such as a Float32Array), got ${describe(v)}`;
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') return `must hold numbers only, got ${describe(v[i])} at index ${i}`;
  }
  return null;
}

function checkInteger(value, what) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw typeError(`${what} must be an integer, got ${describe(value)}`);
  }
}

function describe(value) {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? value.constructor?.name ?? 'an object' : String(value);
}

// The largest block wasm32's allocator gives (the C++ core's kMaxAllocation): just under 2 GiB. Every size is
// checked before it reaches _malloc/_realloc, whose i32 argument would wrap larger ones.
const MAX_BLOCK = 2 ** 31 - 65536;

function checkBlockSize(size, what) {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new GroveError(`out of memory: cannot allocate ${String(size)} bytes for ${what}: not a valid size`, 'OutOfMemory');
  }
  if (size > MAX_BLOCK) {
    throw new GroveError(`out of memory: ${what} needs ${size} bytes, more than wasm32 can allocate in one block (${MAX_BLOCK})`, 'OutOfMemory');
  }
  return size;
}

// Argument checks shared by AnnoyIndex and ShardedIndex: the core checks values again, but
// numbers must be integers that fit its int32 parameters before they cross into wasm.
function checkVectorArg(f, vector, what) {
  const problem = vectorProblem(vector);
  if (problem) throw typeError(`${what} ${problem}`);
  if (vector.length !== f) throw rangeError(`${what} has wrong length: expected ${f}, got ${vector.length}`);
}

function countArg(n) {
  checkInteger(n, 'n');
  if (n < 1) throw rangeError(`n must be at least 1, got ${n}`);
  return Math.min(n, INT32_MAX);
}

function searchKArg(searchK) {
  checkInteger(searchK, 'searchK');
  if (searchK < 1 && searchK !== -1) throw rangeError(`search_k must be -1 (default) or at least 1, got ${searchK}`);
  return Math.min(searchK, INT32_MAX);
}

// Queries take `{ filter }` as their last argument, after as many of their optional
// arguments as the caller gives: getNnsByVector(v, n, { filter }) or
// getNnsByVector(v, n, searchK, true, { filter }). Returns the optional arguments, then the
// options (undefined when none were given).
function withOptions(rest, optional, what) {
  const last = rest[rest.length - 1];
  const options = rest.length > 0 && last !== null && typeof last === 'object' && !Array.isArray(last) ? rest.pop() : undefined;
  if (rest.length > optional) throw typeError(`${what} takes at most ${optional} optional arguments before its options, got ${rest.length}`);
  return [...rest, ...new Array(optional - rest.length).fill(undefined), options];
}

// The `{ filter }` option as the wasm binding takes it: kind (0 none, 1 bitset, 2 ids), the
// bytes to copy beside the query, and a count (bitset: items; ids: ids). A bitset (bit i of
// byte i >> 3) covers every item of the index; an Array or Set names ids, which the core
// checks; a function is asked once per item, here, before the search (a bitset is faster).
const NO_FILTER = { kind: 0, bytes: new Uint8Array(0), count: 0 };
function filterArg(options, nItems) {
  if (options === undefined) return NO_FILTER;
  if (!(options instanceof Object) || ArrayBuffer.isView(options)) {
    throw typeError(`options must be an object such as { filter }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'filter') throw typeError(`unknown option '${key}' (a query's options are: filter)`);
  }
  const { filter } = options;
  if (filter === undefined || filter === null) return NO_FILTER;
  if (filter instanceof Uint8Array) {
    const need = Math.ceil(nItems / 8);
    if (filter.length !== need) {
      throw rangeError(`filter bitset has ${filter.length} bytes; the index has ${nItems} items, so it needs ${need}`);
    }
    return { kind: 1, bytes: filter, count: nItems };
  }
  if (typeof filter === 'function') {
    const bits = new Uint8Array(Math.ceil(nItems / 8));
    for (let i = 0; i < nItems; i++) if (filter(i)) bits[i >> 3] |= 1 << (i & 7);
    return { kind: 1, bytes: bits, count: nItems };
  }
  if (Array.isArray(filter) || filter instanceof Set) {
    const ids = new Int32Array(Array.isArray(filter) ? filter.length : filter.size);
    let k = 0;
    for (const id of filter) {
      checkInteger(id, 'filter id');
      if (id > INT32_MAX || id < -INT32_MAX - 1) throw rangeError(`filter id ${id} does not fit in 32 bits`, 'OutOfRange');
      ids[k++] = id;
    }
    return { kind: 2, bytes: new Uint8Array(ids.buffer), count: ids.length };
  }
  throw typeError(`filter must be a Uint8Array bitset, an Array or Set of ids, or a function, got ${describe(filter)}`);
}

function itemArg(item, nItems) {
  checkInteger(item, 'item');
  if (item < 0) throw rangeError(`item ${item} is negative`, 'OutOfRange');
  if (item > INT32_MAX) throw rangeError(`item ${item} is out of range: the index has ${nItems()} items`, 'OutOfRange');
  return item;
}

function toBytes(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return null;
}

// load()'s second argument: Annoy's prefault flag (nothing to do in wasm), the companion
// itself (bytes, or a path in Node), or { companion }.
function companionOption(options) {
  if (options === undefined || options === null || typeof options === 'boolean') return undefined;
  if (typeof options === 'string' || toBytes(options)) return options;
  if (typeof options === 'object') return options.companion;
  throw typeError(`load() takes prefault (a boolean), a companion or { companion } second, got ${describe(options)}`);
}

// platform: file access where there is one (Node), else null. start: loads the wasm module
// on demand and returns a promise of it (browsers); Node attaches its module at once.
function createApi(platform, start = null) {
  let Module = null;  // the Emscripten module, once attached
  const store = stored.createStore(GroveError);
  let scratch = 0;
  let scratchBytes = 0;

  // A wasm block of at least `bytes`, reused between calls (never shrinks).
  function scratchBlock(bytes) {
    if (bytes > scratchBytes) {
      checkBlockSize(bytes, 'the arguments');  // before anything is freed
      if (scratch) Module._free(scratch);
      const size = Math.min(MAX_BLOCK, Math.max(bytes, 2 * scratchBytes, 4096));
      scratch = Module._malloc(size) >>> 0;
      scratchBytes = scratch ? size : 0;
      if (!scratch) throw new GroveError(`out of memory: could not allocate ${size} bytes`, 'OutOfMemory');
    }
    return scratch;
  }

  // Copies bytes into a new malloc'd block that the core will own.
  function heapCopy(bytes) {
    const ptr = Module._malloc(Math.max(1, checkBlockSize(bytes.byteLength, 'the index'))) >>> 0;
    if (!ptr) throw new GroveError(`out of memory: could not allocate ${bytes.byteLength} bytes for the index`, 'OutOfMemory');
    Module.HEAPU8.set(bytes, ptr);
    return ptr;
  }

  const registry = typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry((raw) => {
      if (!raw.isDeleted()) raw.delete();
      live -= 1;
    })
    : null;
  let live = 0;  // indexes created and not yet disposed or collected

  // A path (Node: read straight into wasm memory) or bytes (copied in), as a malloc'd block.
  function intoHeap(source, call, browserHint = '') {
    if (typeof source === 'string') {
      if (!platform) throw new GroveError(`${call} of a path needs a file system (Node); in a browser, pass bytes${browserHint}`, 'Io');
      return platform.readFileIntoHeap(source);
    }
    const bytes = toBytes(source);
    if (!bytes) throw typeError(`${call} takes a path, an ArrayBuffer or a Uint8Array, got ${describe(source)}`);
    return { ptr: heapCopy(bytes), size: bytes.byteLength };
  }

  function lastError() {
    return errorFor(Module.lastErrorCode(), Module.lastErrorMessage());
  }

  function checked(status) {
    if (status < 0) throw lastError();
    return status;
  }

  // One query through a raw index (RawIndex or RawSharded). Scratch layout: [query vector
  // (f floats)] [ids (capacity)] [distances (capacity)]. byItem: `call` queries by item and
  // `vector` is unused (a flag, not a sentinel value a user could pass).
  // [filter bytes] follow, when there is a filter (see filterArg).
  function queryRaw(raw, f, byItem, vector, n, searchK, includeDistances, options, call) {
    if (!byItem) checkVectorArg(f, vector, 'query vector');
    const count = countArg(n);
    const k = searchKArg(searchK === undefined ? -1 : searchK);
    const filter = filterArg(options, raw.nItems());
    const capacity = Math.max(1, Math.min(count, raw.nItems()));
    const base = scratchBlock(4 * f + 8 * capacity + filter.bytes.length);
    if (!byItem) Module.HEAPF32.set(vector, base >>> 2);
    const ids = base + 4 * f;
    const distances = ids + 4 * capacity;
    const filterAt = distances + 4 * capacity;
    Module.HEAPU8.set(filter.bytes, filterAt);
    const found = checked(call(base, count, k, ids, distances, capacity, filter.kind, filterAt, filter.count));
    const outIds = Array.from(Module.HEAP32.subarray(ids >>> 2, (ids >>> 2) + found));
    if (!includeDistances) return outIds;
    return [outIds, Array.from(Module.HEAPF32.subarray(distances >>> 2, (distances >>> 2) + found))];
  }

  // A batch through a raw index: q×n ids and distances, padded with -1 and NaN.
  function batchRaw(raw, f, queries, n, searchK, options) {
    const problem = vectorProblem(queries);
    if (problem) throw typeError(`queries ${problem}`);
    if (queries.length % f !== 0) throw rangeError(`queries has length ${queries.length}, not a multiple of f=${f}`);
    const count = countArg(n);
    const k = searchKArg(searchK === undefined ? -1 : searchK);
    const filter = filterArg(options, raw.nItems());
    const q = queries.length / f;
    const out = q * count;
    const base = scratchBlock(4 * queries.length + 8 * out + filter.bytes.length);
    Module.HEAPF32.set(queries, base >>> 2);
    const ids = base + 4 * queries.length;
    const distances = ids + 4 * out;
    const filterAt = distances + 4 * out;
    Module.HEAPU8.set(filter.bytes, filterAt);
    checked(raw.byVectors(base, q, count, k, ids, distances, filter.kind, filterAt, filter.count));
    return {
      ids: Module.HEAP32.slice(ids >>> 2, (ids >>> 2) + out),
      distances: Module.HEAPF32.slice(distances >>> 2, (distances >>> 2) + out),
    };
  }

  class AnnoyIndex {
    #raw;
    #f;
    #metric;
    #onDiskPath = null;

    /**
     * @param {number} f dimension (hamming: number of bits)
     * @param {string} metric 'angular' (or 'cosine'), 'euclidean', 'manhattan', 'dot', 'hamming'
     * @param {{ dotLayout?: 'released' | 'main' }} [options] dot only: the layout to build
     */
    constructor(f, metric, options = {}) {
      if (!Module) {
        throw new GroveError("Grove's WebAssembly module is not loaded yet: await ready (or init()) before creating an index", 'WrongState');
      }
      checkInteger(f, 'dimension f');
      // Beyond int32 the binding would wrap the number: report the value given.
      if (f < 1 || f > MAX_DIMENSION) throw rangeError(`dimension f must be between 1 and ${MAX_DIMENSION}, got ${f}`);
      if (typeof metric !== 'string') throw typeError(`metric must be a string, got ${describe(metric)}`);
      if (options === null || typeof options !== 'object') throw typeError(`options must be an object, got ${describe(options)}`);
      const raw = new Module.RawIndex(f, metric);
      if (!raw.valid()) {
        raw.delete();
        throw lastError();
      }
      if (options.dotLayout !== undefined) {
        if (typeof options.dotLayout !== 'string' || raw.setDotLayout(options.dotLayout) < 0) {
          raw.delete();
          if (typeof options.dotLayout !== 'string') throw typeError(`dotLayout must be 'released' or 'main', got ${describe(options.dotLayout)}`);
          throw lastError();
        }
      }
      this.#raw = raw;
      this.#f = f;
      this.#metric = metric;
      registry?.register(this, raw, this);
      live += 1;
    }

    get f() { return this.#f; }
    get metric() { return this.#metric; }

    #index() {
      if (!this.#raw) throw new GroveError('this index has been disposed', 'WrongState');
      return this.#raw;
    }

    #check(status) {
      if (status < 0) throw lastError();
      return status;
    }

    #checkVector(vector, what) { checkVectorArg(this.#f, vector, what); }

    // Copies a vector into scratch memory and returns its address.
    #vector(vector, what = 'vector') {
      this.#checkVector(vector, what);
      const ptr = scratchBlock(4 * this.#f);
      Module.HEAPF32.set(vector, ptr >>> 2);
      return ptr;
    }

    #item(item) { return itemArg(item, () => this.#index().nItems()); }
    #count(n) { return countArg(n); }
    #searchK(searchK) { return searchKArg(searchK); }

    addItem(item, vector) {
      const raw = this.#index();
      checkInteger(item, 'item id');
      if (item < 0) throw rangeError(`item id ${item} is negative`, 'OutOfRange');
      if (item >= INT32_MAX) throw rangeError(`item id ${item} is too large (max ${INT32_MAX - 1})`, 'OutOfRange');
      this.#check(raw.addItem(item, this.#vector(vector)));
    }

    /** Takes item `item` out: no query returns it again (see index.d.ts). */
    removeItem(item) {
      return this.removeItems([item]);
    }

    /** removeItem for every id of an Array, Set or Int32Array; all are checked before any is removed. */
    removeItems(items) {
      const raw = this.#index();
      if (!(Array.isArray(items) || items instanceof Set || items instanceof Int32Array)) {
        throw typeError(`items must be an Array, Set or Int32Array of ids, got ${describe(items)}`);
      }
      const ids = new Int32Array(items instanceof Set ? items.size : items.length);
      let k = 0;
      for (const id of items) {
        checkInteger(id, 'item');
        if (id > INT32_MAX || id < -INT32_MAX - 1) throw rangeError(`item ${id} does not fit in 32 bits`, 'OutOfRange');
        ids[k++] = id;
      }
      const ptr = scratchBlock(Math.max(4, ids.byteLength));
      Module.HEAP32.set(ids, ptr >>> 2);
      this.#check(raw.removeItems(ptr, ids.length));
      return true;
    }

    /** A loaded (read-only) index becomes an in-memory copy that takes changes, as if just built. */
    thaw() {
      this.#check(this.#index().thaw());
      return true;
    }

    /** Builds nTrees trees (-1: automatic). nJobs is accepted for API parity; wasm builds on one thread. */
    build(nTrees, nJobs = -1) {
      const raw = this.#index();
      checkInteger(nTrees, 'nTrees');
      checkInteger(nJobs, 'nJobs');
      if (nTrees === 0 || nTrees < -1 || nTrees > INT32_MAX) {
        throw rangeError(`n_trees must be -1 (automatic) or at least 1, got ${nTrees}`);
      }
      if (nJobs === 0 || nJobs < -1) throw rangeError(`n_jobs must be -1 (all cores) or at least 1, got ${nJobs}`);
      this.#check(raw.build(nTrees));
      if (this.#onDiskPath !== null) {
        // As the C++ on-disk build: the file is written at build() and is the index from
        // then on (read-only). If the write fails, the index is unbuilt, as in C++.
        const target = this.#onDiskPath;
        try {
          platform.writeFileAtomic(target, this.#bytesView());
        } catch (e) {
          raw.unbuild();
          throw e;
        }
        this.#check(raw.freeze());
        this.#onDiskPath = null;
        this.#writeCompanion(target);
      }
      return true;
    }

    unbuild() {
      this.#check(this.#index().unbuild());
      return true;
    }

    unload() {
      this.#check(this.#index().unload());
      this.#onDiskPath = null;
      return true;
    }

    /** Node: builds into memory and writes the index to `path` at build(). Call before addItem(). */
    onDiskBuild(path) {
      const raw = this.#index();
      if (!platform) throw new GroveError('onDiskBuild(path) needs a file system (Node); in a browser, use serialize()', 'Io');
      if (typeof path !== 'string') throw typeError(`path must be a string, got ${describe(path)}`);
      if (raw.nItems() > 0 || raw.isBuilt() || raw.isLoaded()) {
        throw new GroveError('on_disk_build() must be called before add_item()', 'WrongState');
      }
      platform.checkWritable(path);
      this.#onDiskPath = path;
      return true;
    }

    /**
     * Up to n nearest items to item `item`, nearest first: (item, n, searchK = -1,
     * includeDistances = false, { filter }), the options last after any optional argument.
     */
    getNnsByItem(item, n, ...rest) {
      const [searchK, includeDistances, options] = withOptions(rest, 2, 'getNnsByItem');
      const raw = this.#index();
      this.#item(item);
      return queryRaw(raw, this.#f, true, undefined, n, searchK, includeDistances, options,
        (_, ...args) => raw.byItem(item, ...args));
    }

    /** Up to n nearest items to `vector`, nearest first; arguments as getNnsByItem. */
    getNnsByVector(vector, n, ...rest) {
      const [searchK, includeDistances, options] = withOptions(rest, 2, 'getNnsByVector');
      const raw = this.#index();
      return queryRaw(raw, this.#f, false, vector, n, searchK, includeDistances, options,
        (ptr, ...args) => raw.byVector(ptr, ...args));
    }

    /**
     * Batch search: `queries` holds q vectors of f values back to back. Returns q×n ids and
     * distances; rows with fewer than n results are padded with id -1 and distance NaN.
     * (queries, n, searchK = -1, { filter }).
     */
    getNnsByVectors(queries, n, ...rest) {
      const [searchK, options] = withOptions(rest, 1, 'getNnsByVectors');
      return batchRaw(this.#index(), this.#f, queries, n, searchK, options);
    }

    getItemVector(item) {
      const raw = this.#index();
      this.#item(item);
      const ptr = scratchBlock(4 * this.#f);
      this.#check(raw.itemVector(item, ptr));
      return Array.from(Module.HEAPF32.subarray(ptr >>> 2, (ptr >>> 2) + this.#f));
    }

    getDistance(i, j) {
      const raw = this.#index();
      this.#item(i);
      this.#item(j);
      const ptr = scratchBlock(4);
      this.#check(raw.distance(i, j, ptr));
      return Module.HEAPF32[ptr >>> 2];
    }

    getNItems() { return this.#index().nItems(); }
    getNTrees() { return this.#index().nTrees(); }
    getF() { this.#index(); return this.#f; }
    /** The metric's canonical name ('cosine' is 'angular'), as C++ get_metric() names it. */
    getMetric() { this.#index(); return this.#metric === 'cosine' ? 'angular' : this.#metric; }
    isBuilt() { return this.#index().isBuilt(); }
    isLoaded() { return this.#index().isLoaded(); }
    /** Progress messages on stderr (Node) or console.error (browsers) during build(). */
    verbose(on) {
      this.#check(this.#index().verbose(Boolean(on)));
      return true;
    }

    /**
     * Dot only (ignored otherwise), before addItem(): 'released' (default; every released Annoy
     * reads it) or 'main' (Annoy's unreleased main branch). load() detects the layout.
     */
    setDotLayout(layout) {
      const raw = this.#index();
      if (typeof layout !== 'string') throw typeError(`dot layout must be 'released' or 'main', got ${describe(layout)}`);
      this.#check(raw.setDotLayout(layout));
    }

    /** The dot layout the index holds ('released' or 'main'); null for other metrics. */
    getDotLayout() {
      const raw = this.#index();
      return this.#metric === 'dot' ? raw.dotLayout() : null;
    }

    /**
     * The most memory addItem() may grow the index to, in bytes (default: just under 2 GiB, the
     * largest block wasm32 can allocate; 0: no limit beyond that).
     */
    setMemoryLimit(bytes) {
      const raw = this.#index();
      if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
        throw typeError(`memory limit must be a non-negative integer number of bytes, got ${describe(bytes)}`);
      }
      this.#check(raw.setMemoryLimit(bytes));
    }

    /**
     * true: build and measure in Annoy's scalar float order, so files match Annoy's byte for
     * byte (slower). false (default): Grove's SIMD order, the same bits natively and in wasm.
     */
    setAnnoyFloatOrder(on) { this.#check(this.#index().setAnnoyFloatOrder(Boolean(on))); }

    /** Seed for the next build: a number (integer, 0 to 2^53) or a BigInt (0 to 2^64 - 1). */
    setSeed(seed) {
      const raw = this.#index();
      let value;
      if (typeof seed === 'bigint') value = BigInt.asUintN(64, seed);
      else if (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) value = BigInt(seed);
      else throw typeError(`seed must be a non-negative integer or BigInt, got ${describe(seed)}`);
      this.#check(raw.setSeed(Number(value >> 32n), Number(value & 0xffffffffn)));
    }

    #bytesView() {
      const raw = this.#index();
      const size = raw.serializedSize();
      const ptr = raw.dataPointer() >>> 0;
      if (!ptr) throw lastError();
      return Module.HEAPU8.subarray(ptr, ptr + size);
    }

    /** The index in Annoy's file format (a copy). */
    serialize() { return this.#bytesView().slice(); }

    /**
     * Compact scoring (on by default; float metrics): queries score candidates on an 8-bit
     * copy of the items first and compute exact distances only where they can change the
     * answer, which stays exactly that of a full float ranking. false: rank every candidate
     * on its float vector.
     */
    setCompactScoring(on) {
      this.#check(this.#index().setCompactScoring(Boolean(on)));
      return true;
    }

    getCompactScoring() { return this.#index().compactScoring(); }

    /**
     * Graph search (on by default; float metrics with compact scoring): while on, build()
     * also grows a neighbour graph from the trees, kept in the companion, and queries walk it
     * instead of visiting more of the trees (a loaded companion's graph too). searchK keeps its
     * meaning; without a graph (off, an Annoy file alone, items added since build), queries
     * search the trees.
     */
    setGraphSearch(on) {
      this.#check(this.#index().setGraphSearch(Boolean(on)));
      return true;
    }

    getGraphSearch() { return this.#index().graphSearch(); }

    /**
     * Grows the graph for the index as it is, built or loaded (an Annoy file included), into
     * its companion, and turns graph search on; serializeCompanion() then carries it. Returns
     * false, with no graph, for fewer than 1,000 items (their trees are cheap to search).
     */
    buildGraph() { return this.#check(this.#index().buildGraph()) === 1; }

    /**
     * Whether save() writes a compact companion (and load() looks for one): compact scoring
     * on and a float metric. The rule is the C++ core's, the same on every platform.
     */
    wantsCompanion() { return this.#index().wantsCompanion(); }

    #companionView() {
      const raw = this.#index();
      const size = raw.companionSize();
      if (size < 0) throw lastError();
      if (size === 0) return new Uint8Array(0);  // hamming: no companion
      const ptr = raw.companionPointer() >>> 0;
      if (!ptr) throw lastError();
      return Module.HEAPU8.subarray(ptr, ptr + size);
    }

    /**
     * The compact companion (Grove's own file, next to the index as "<path>.sq8"; Annoy never
     * reads it): pass it to load()/deserialize()/fromUrl() with the index so the first query
     * need not make it. Empty for hamming.
     */
    serializeCompanion() { return this.#companionView().slice(); }

    /** Bytes of serializeCompanion(), without the copy. */
    companionSize() { return this.#companionView().byteLength; }

    /**
     * Offers a companion (a path in Node, or bytes) for the loaded or built index. Returns true
     * if it matches the index; false if it does not (it is then made on the first query).
     */
    loadCompanion(source) {
      const raw = this.#index();
      if (toBytes(source)?.byteLength === 0) return false;
      const { ptr, size } = intoHeap(source, 'loadCompanion()');
      return this.#adoptCompanion(raw, ptr, size);
    }

    /** As loadCompanion(bytes): wasm cannot read JS memory in place, so this copies. */
    loadCompanionView(bytes) { return this.deserializeCompanion(bytes); }

    /** As loadCompanion(bytes). */
    deserializeCompanion(bytes) {
      if (typeof bytes === 'string') throw typeError('deserializeCompanion() takes bytes (an ArrayBuffer or a Uint8Array), got a string');
      return this.loadCompanion(bytes);
    }

    // Hands a malloc'd block to the core (which owns it from here on): true if it matches.
    #adoptCompanion(raw, ptr, size) {
      const status = raw.adoptCompanion(ptr, size);
      if (status < 0) throw lastError();
      return status === 1;
    }

    // Next to a saved index, when queries would use it; otherwise one left by an earlier save
    // is removed, so no stale companion sits beside the new index.
    #writeCompanion(path) {
      if (!this.wantsCompanion()) {
        platform.removeFile(`${path}.sq8`);
        return;
      }
      platform.writeFileAtomic(`${path}.sq8`, this.#companionView());
    }

    // Node, loading from a path: the companion next to it, if there (optional: a missing,
    // unreadable or stale one is made on the first query instead).
    #loadCompanionNextTo(path) {
      if (!this.wantsCompanion() || !platform.isFile(`${path}.sq8`)) return;
      try {
        this.loadCompanion(`${path}.sq8`);
      } catch (e) {
        if (!(e instanceof GroveError)) throw e;
      }
    }

    /** Bytes of serialize(), without the copy. */
    serializedSize() { return this.#bytesView().byteLength; }

    /** As Annoy's `a.deserialize(bytes)`: the same as load(bytes), with an optional companion. */
    deserialize(bytes, companion) {
      if (typeof bytes === 'string') throw typeError('deserialize() takes bytes (an ArrayBuffer or a Uint8Array), got a string');
      return this.load(bytes, { companion });
    }

    /** The C++ load_view(): wasm cannot search JS memory in place, so this copies, as load(bytes). */
    loadView(bytes, companion) { return this.deserialize(bytes, companion); }

    /**
     * Loads an index: a path (Node), or bytes (ArrayBuffer, Uint8Array, any typed array),
     * copied once into wasm memory. Replaces what the index held, once the new one is valid.
     * The second argument is Annoy's prefault flag (ignored: the index is read into memory),
     * or the companion (bytes, or a path in Node), or { companion }. Loading from a path also
     * loads "<path>.sq8" when it is there.
     */
    load(source, options = false) {
      const raw = this.#index();
      const companion = companionOption(options);
      const { ptr, size } = intoHeap(source, 'load()', ' or use AnnoyIndex.fromUrl()');
      this.#adopt(raw, ptr, size);
      if (companion !== undefined && companion !== null) this.loadCompanion(companion);
      else if (typeof source === 'string') this.#loadCompanionNextTo(source);
      return true;
    }

    // Hands a malloc'd block to the core, which owns (and on rejection frees) it.
    #adopt(raw, ptr, size) {
      this.#check(raw.adoptBuffer(ptr, size));
      this.#onDiskPath = null;
    }

    /**
     * Fetches an index (URL or Response) straight into wasm memory. companion: its companion's
     * URL or Response, or true for "<url>.sq8" (then a missing one is not an error).
     */
    async loadUrl(source, { onProgress, companion } = {}) {
      this.#index();
      const { ptr, size, where } = await fetchIntoHeap(source, onProgress);
      // dispose() may have run while the download was in flight: then the block is ours to free.
      if (!this.#raw) {
        Module._free(ptr);
        throw new GroveError('this index has been disposed', 'WrongState');
      }
      try {
        this.#adopt(this.#raw, ptr, size);
      } catch (e) {
        // Name what was fetched: the core's message says what is wrong with the bytes.
        if (e.code === 'BadFormat' && where) e.message = `'${where}' is not an index: ${e.message}`;
        throw e;
      }
      if (companion) await this.#fetchCompanion(companion === true ? companionUrl(source) : companion, companion === true);
      return true;
    }

    async #fetchCompanion(source, optional) {
      let fetched;
      try {
        fetched = await fetchIntoHeap(source);
      } catch (e) {
        if (optional && e instanceof GroveError && e.code === 'Io') return false;
        throw e;
      }
      if (!this.#raw) {
        Module._free(fetched.ptr);
        throw new GroveError('this index has been disposed', 'WrongState');
      }
      return this.#adoptCompanion(this.#raw, fetched.ptr, fetched.size);
    }

    /** Node: writes the index to `path` atomically (temp file + rename), then loads it from there. */
    save(path, prefault = false) {
      this.#index();
      if (!platform) throw new GroveError('save(path) needs a file system (Node); in a browser, use serialize() to get the bytes', 'Io');
      if (typeof path !== 'string') throw typeError(`path must be a string, got ${describe(path)}`);
      if (!this.isBuilt() && !this.isLoaded()) throw new GroveError('cannot save an index that has not been built', 'WrongState');
      if (path === '') throw new GroveError('cannot save: the path is empty', 'Io');
      void prefault;  // the index is in memory already
      // A device or FIFO at `path` takes the bytes but no companion (as in C++).
      if (platform.writeFileAtomic(path, this.#bytesView())) this.#writeCompanion(path);
      // As in Annoy and the C++ API, the saved file is the index now (read-only). Its bytes
      // are already in wasm memory: keep them, rather than read a second copy.
      this.#check(this.#index().freeze());
      this.#onDiskPath = null;
      return true;
    }

    /**
     * Keeps the index in the browser under a name ('opfs:<name>'): the Origin Private File
     * System, or IndexedDB where there is none; AnnoyIndex.open() opens it again, after a
     * reload too. The bytes are taken at the call (later changes are not saved) and the index
     * stays as it is. A failed save (QuotaExceeded, Io) leaves what was saved there before.
     */
    async saveTo(target, { onProgress } = {}) {
      const name = stored.storedName(target, typeError, rangeError);
      const raw = this.#index();
      if (!this.isBuilt() && !this.isLoaded()) throw new GroveError('cannot save an index that has not been built', 'WrongState');
      const view = this.#bytesView();
      const meta = { grove: 1, f: this.#f, metric: this.metric, index: { size: view.byteLength, checksum: stored.checksum(view) }, companion: null };
      const index = view.slice();  // a copy, now: wasm memory may move or change while the save awaits
      let companion = null;
      if (raw.wantsCompanion()) {
        const bytes = this.#companionView();
        meta.companion = { size: bytes.byteLength, checksum: stored.checksum(bytes) };
        companion = bytes.slice();
      }
      await store.save(name, { meta, index, companion }, onProgress);
      return true;
    }

    /** Frees the index's wasm memory. The object cannot be used afterwards. */
    dispose() {
      if (!this.#raw) return;
      registry?.unregister(this);
      this.#raw.delete();
      this.#raw = null;
      live -= 1;
    }

    get disposed() { return this.#raw === null; }

    /** Bytes of wasm memory the module holds (it grows as needed and is reused after dispose). */
    static wasmMemoryBytes() { return Module ? Module.HEAPU8.length : 0; }

    /**
     * Indexes alive in this module: created and neither disposed nor collected. Each holds
     * wasm memory until then; a count that keeps growing means indexes not disposed.
     */
    static liveIndexes() { return live; }

    static deserialize(bytes, f, metric, companion) {
      const index = new AnnoyIndex(f, metric);
      try {
        index.load(bytes, { companion });
      } catch (e) {
        index.dispose();
        throw e;
      }
      return index;
    }

    /**
     * An index saved with saveTo('opfs:<name>'), in this origin's OPFS or IndexedDB, into wasm
     * memory (with its companion). Errors: Io when nothing is saved under the name,
     * BadFormat when what is there is damaged (its checksum or sizes do not match).
     */
    static async open(source, { onProgress } = {}) {
      const name = stored.storedName(source, typeError, rangeError);
      if (!Module && start) await start();
      const found = await store.open(name);
      const { meta } = found;
      const index = new AnnoyIndex(meta.f, meta.metric);
      try {
        const heap = await readIntoHeap(found.index, meta.index, name, onProgress);
        if (!heap.ok) {
          Module._free(heap.ptr);
          throw new GroveError(`'opfs:${name}' is corrupt (${heap.why}): save it again`, 'BadFormat');
        }
        index.#adopt(index.#index(), heap.ptr, heap.size);
        if (found.companion && meta.companion && index.wantsCompanion()) {
          // Optional: a damaged companion is left out, and the first query makes the copy.
          const extra = await readIntoHeap(found.companion, meta.companion, name);
          if (extra.ok) index.#adoptCompanion(index.#index(), extra.ptr, extra.size);
          else Module._free(extra.ptr);
        }
      } catch (e) {
        index.dispose();
        throw e;
      }
      return index;
    }

    static async fromUrl(source, f, metric, options = {}) {
      if (!Module && start) await start();
      const index = new AnnoyIndex(f, metric);
      try {
        await index.loadUrl(source, options);
      } catch (e) {
        index.dispose();
        throw e;
      }
      return index;
    }
  }

  if (typeof Symbol.dispose === 'symbol') AnnoyIndex.prototype[Symbol.dispose] = AnnoyIndex.prototype.dispose;

  // A sharded index (see core/include/grove/sharded.h): a manifest and its shard files, all
  // in wasm memory, searched by the core's ShardedIndex, which merges answers exactly.
  class ShardedIndex {
    #raw;
    #f;
    #manifest;

    constructor(raw, manifest) {
      if (!(raw instanceof Module.RawSharded)) throw typeError('use ShardedIndex.open(manifest) to open a sharded index');
      this.#raw = raw;
      this.#manifest = manifest;
      this.#f = manifest.f;
      registry?.register(this, raw, this);
      live += 1;
    }

    /**
     * Opens a sharded index from its manifest: a path in Node (shards read from its folder), or
     * a URL (shards fetched in parallel, relative to it). onProgress(loaded, total) counts bytes
     * over all shards.
     */
    static async open(source, { onProgress } = {}) {
      if (!Module && start) await start();
      if (!Module) throw new GroveError("Grove's WebAssembly module is not loaded yet: await ready first", 'WrongState');
      const { text, shardSource, where } = await readManifest(source);
      const raw = new Module.RawSharded(text);
      if (!raw.valid()) {
        raw.delete();
        const e = lastError();
        e.message = `'${where}': ${e.message}`;
        throw e;
      }
      const manifest = JSON.parse(raw.manifest());
      const loaded = new Array(manifest.shards.length).fill(0);
      const report = (i) => (bytes) => {
        loaded[i] = bytes;
        onProgress?.(loaded.reduce((a, b) => a + b, 0), undefined);
      };
      const blocks = await Promise.allSettled(manifest.shards.map((s, i) => fetchIntoHeap(shardSource(s.file), report(i))));
      const failed = blocks.find((b) => b.status === 'rejected');
      let status = failed ? -1 : 0;
      blocks.forEach((b, i) => {
        if (b.status !== 'fulfilled') return;
        if (status < 0) Module._free(b.value.ptr);  // the core never got it
        else status = raw.addShard(i, b.value.ptr, b.value.size);  // the core owns the block now
      });
      if (status >= 0) status = raw.finish();
      if (status < 0) {
        const e = failed ? failed.reason : lastError();
        raw.delete();
        throw e;
      }
      return new ShardedIndex(raw, manifest);
    }

    #index() {
      if (!this.#raw) throw new GroveError('this index has been disposed', 'WrongState');
      return this.#raw;
    }

    #check(status) {
      if (status < 0) throw lastError();
      return status;
    }

    /**
     * Up to n nearest items to `vector` over all shards, nearest first, with global ids;
     * arguments as AnnoyIndex.getNnsByVector (a filter names global ids).
     */
    getNnsByVector(vector, n, ...rest) {
      const [searchK, includeDistances, options] = withOptions(rest, 2, 'getNnsByVector');
      const raw = this.#index();
      return queryRaw(raw, this.#f, false, vector, n, searchK, includeDistances, options,
        (ptr, ...args) => raw.byVector(ptr, ...args));
    }

    /** Up to n nearest items to item `item` (a global id); arguments as AnnoyIndex.getNnsByItem. */
    getNnsByItem(item, n, ...rest) {
      const [searchK, includeDistances, options] = withOptions(rest, 2, 'getNnsByItem');
      const raw = this.#index();
      itemArg(item, () => this.getNItems());
      return queryRaw(raw, this.#f, true, undefined, n, searchK, includeDistances, options,
        (_, ...args) => raw.byItem(item, ...args));
    }

    /** Batch search, as AnnoyIndex.getNnsByVectors. */
    getNnsByVectors(queries, n, ...rest) {
      const [searchK, options] = withOptions(rest, 1, 'getNnsByVectors');
      return batchRaw(this.#index(), this.#f, queries, n, searchK, options);
    }

    getItemVector(item) {
      const raw = this.#index();
      itemArg(item, () => this.getNItems());
      const ptr = scratchBlock(4 * this.#f);
      this.#check(raw.itemVector(item, ptr));
      return Array.from(Module.HEAPF32.subarray(ptr >>> 2, (ptr >>> 2) + this.#f));
    }

    getNItems() { return this.#index().nItems(); }
    getNShards() { return this.#index().nShards(); }
    getF() { this.#index(); return this.#f; }
    /** The manifest, as parsed and validated by the core. */
    get manifest() { return structuredClone(this.#manifest); }

    dispose() {
      if (!this.#raw) return;
      registry?.unregister(this);
      this.#raw.delete();
      this.#raw = null;
      live -= 1;
    }

    get disposed() { return this.#raw === null; }
  }
  if (typeof Symbol.dispose === 'symbol') ShardedIndex.prototype[Symbol.dispose] = ShardedIndex.prototype.dispose;
  for (const [snake, camel] of Object.entries({ get_nns_by_item: 'getNnsByItem', get_nns_by_vector: 'getNnsByVector',
    get_nns_by_vectors: 'getNnsByVectors', get_item_vector: 'getItemVector', get_n_items: 'getNItems', get_n_shards: 'getNShards',
    get_f: 'getF' })) {
    Object.defineProperty(ShardedIndex.prototype, snake, { value: ShardedIndex.prototype[camel], writable: true, configurable: true });
  }

  // The manifest's text, and where its shards come from: files beside it (Node) or URLs
  // relative to it.
  async function readManifest(source) {
    const isUrlString = typeof source === 'string' && /^(https?|data|blob|file):/i.test(source);
    if (platform && typeof source === 'string' && !isUrlString) {
      const dir = source.includes('/') ? source.slice(0, source.lastIndexOf('/') + 1) : '';
      const shardSource = (file) => {
        platform.checkShardFile(dir + file);
        return dir + file;
      };
      return { text: platform.readText(source), shardSource, where: source };
    }
    if (!(source instanceof URL) && typeof source !== 'string') {
      throw typeError(`ShardedIndex.open() takes a path or a URL, got ${describe(source)}`);
    }
    const base = typeof location !== 'undefined' ? location.href : undefined;
    const url = new URL(source instanceof URL ? source.href : source, base);
    if (platform && url.protocol === 'file:') {
      return readManifest(decodeURIComponent(url.pathname));
    }
    let response;
    try {
      response = await fetch(url.href);
    } catch (e) {
      throw new GroveError(`cannot fetch '${url.href}': ${e.cause?.message ?? e.message}`, 'Io');
    }
    if (!response.ok) throw new GroveError(`cannot fetch '${url.href}': HTTP ${response.status}`, 'Io');
    return { text: await response.text(), shardSource: (file) => new URL(file, url).href, where: url.href };
  }

  // Annoy's names, so code written from Annoy's documentation runs unchanged.
  const aliases = {
    add_item: 'addItem', remove_item: 'removeItem', remove_items: 'removeItems', on_disk_build: 'onDiskBuild', get_nns_by_item: 'getNnsByItem',
    get_nns_by_vector: 'getNnsByVector', get_nns_by_vectors: 'getNnsByVectors',
    get_item_vector: 'getItemVector', get_distance: 'getDistance', get_n_items: 'getNItems',
    get_n_trees: 'getNTrees', get_f: 'getF', get_metric: 'getMetric', set_seed: 'setSeed', set_annoy_float_order: 'setAnnoyFloatOrder', is_built: 'isBuilt',
    is_loaded: 'isLoaded', set_memory_limit: 'setMemoryLimit', set_dot_layout: 'setDotLayout',
    get_dot_layout: 'getDotLayout', load_view: 'loadView', serialized_size: 'serializedSize',
    set_compact_scoring: 'setCompactScoring', get_compact_scoring: 'getCompactScoring',
    set_graph_search: 'setGraphSearch', get_graph_search: 'getGraphSearch', build_graph: 'buildGraph', wants_companion: 'wantsCompanion',
    serialize_companion: 'serializeCompanion', companion_size: 'companionSize', load_companion: 'loadCompanion',
    load_companion_view: 'loadCompanionView', deserialize_companion: 'deserializeCompanion',
  };
  for (const [snake, camel] of Object.entries(aliases)) {
    Object.defineProperty(AnnoyIndex.prototype, snake, {
      value: AnnoyIndex.prototype[camel], writable: true, configurable: true,
    });
  }

  // "<url>.sq8" for an index's URL (a string, URL or Response).
  function companionUrl(source) {
    const url = typeof Response !== 'undefined' && source instanceof Response ? source.url : String(source instanceof URL ? source.href : source);
    if (!url) throw typeError('companion: true needs the index URL: pass the companion URL instead');
    const at = url.search(/[?#]/);
    return at < 0 ? `${url}.sq8` : `${url.slice(0, at)}.sq8${url.slice(at)}`;
  }

  // A stored part (a Blob) into wasm memory: { ptr, size, ok, why }, ok when its size and
  // checksum are those saved (the caller frees ptr otherwise).
  async function readIntoHeap(blob, part, name, onProgress) {
    const response = new Response(blob, { headers: { 'content-length': String(blob.size) } });
    const { ptr, size } = await fetchIntoHeap(response, onProgress);
    if (size !== part.size) return { ptr, size, ok: false, why: `${size} bytes where ${part.size} were saved` };
    const ok = stored.checksum(Module.HEAPU8.subarray(ptr, ptr + size)) === part.checksum;
    return { ptr, size, ok, why: ok ? '' : 'its checksum does not match' };
  }

  // Streams a response body into one growing malloc'd block: no second full copy in JS.
  async function fetchIntoHeap(source, onProgress) {
    let response = source;
    if (!(typeof Response !== 'undefined' && source instanceof Response)) {
      const url = source instanceof URL ? source.href : source;
      if (typeof url !== 'string') throw typeError(`fromUrl() takes a URL or a Response, got ${describe(source)}`);
      if (platform && !/^(https?|data|blob):/i.test(url)) {
        const file = platform.readFileIntoHeap(url.startsWith('file:') ? new URL(url) : url);
        onProgress?.(file.size, file.size);
        return { ...file, where: url };
      }
      try {
        response = await fetch(url);
      } catch (e) {
        throw new GroveError(`cannot fetch '${url}': ${e.cause?.message ?? e.message}`, 'Io');
      }
    }
    const where = response.url || 'the response';
    if (!response.ok) throw new GroveError(`cannot fetch '${where}': HTTP ${response.status}`, 'Io');
    if (!response.body) throw new GroveError(`cannot fetch '${where}': no body`, 'Io');
    // The declared length is only a hint (it may be absent, wrong or absurd), and with a
    // Content-Encoding it counts compressed bytes, not the bytes we receive.
    const header = response.headers.get('content-length');
    const compressed = Boolean(response.headers.get('content-encoding'));
    const declared = header !== null && /^\s*\d+\s*$/.test(header) && !compressed ? Number(header) : undefined;
    if (declared > MAX_BLOCK) checkBlockSize(declared, `'${where}'`);
    let capacity = Math.max(declared ?? 0, 65536);
    let ptr = Module._malloc(capacity) >>> 0;
    if (!ptr) throw new GroveError(`out of memory: could not allocate ${capacity} bytes for '${where}'`, 'OutOfMemory');
    let size = 0;
    try {
      const reader = response.body.getReader();
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw new GroveError(`cannot fetch '${where}': the connection failed after ${size} bytes (${e.cause?.message ?? e.message})`, 'Io');
        }
        if (chunk.done) break;
        const value = chunk.value;
        if (declared !== undefined && size + value.byteLength > declared) {
          throw new GroveError(`cannot fetch '${where}': the body is longer than its Content-Length of ${declared} bytes`, 'Io');
        }
        if (size + value.byteLength > capacity) {
          checkBlockSize(size + value.byteLength, `'${where}'`);
          capacity = Math.min(MAX_BLOCK, Math.max(2 * capacity, size + value.byteLength));
          const grown = Module._realloc(ptr, capacity) >>> 0;
          if (!grown) throw new GroveError(`out of memory: could not allocate ${capacity} bytes for '${where}'`, 'OutOfMemory');
          ptr = grown;
        }
        Module.HEAPU8.set(value, ptr + size);
        size += value.byteLength;
        onProgress?.(size, declared);
      }
      if (declared !== undefined && size < declared) {
        throw new GroveError(`cannot fetch '${where}': the body ended after ${size} of ${declared} bytes`, 'Io');
      }
    } catch (e) {
      Module._free(ptr);
      throw e;
    }
    return { ptr, size, where };
  }

  return {
    AnnoyIndex,
    ShardedIndex,
    GroveError,
    attach(module) { Module = module; },
    get attached() { return Module !== null; },
  };
}

module.exports = { createApi, GroveError, checkBlockSize };
