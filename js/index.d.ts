// Types for grove-ann: approximate nearest neighbours in Annoy's file format, in WebAssembly.
// Self-contained: they need no DOM lib, no @types/node and no esnext.disposable lib.
// scripts/build-wasm.mjs copies this file to dist/index.d.cts for CommonJS consumers.

declare global {
  // What lib.esnext.disposable and @types/node declare, for consumers with neither.
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** A URL: a string or anything with an `href` (a `URL` object). */
export type UrlLike = string | { readonly href: string };

/** A fetch `Response` (only what Grove reads of it). */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly body: unknown;
}

/** 'cosine' is an alias for 'angular'. */
export type Metric = 'angular' | 'cosine' | 'euclidean' | 'manhattan' | 'dot' | 'hamming';

/** A vector of f numbers (hamming: f values of 0 or 1). */
export type Vector = readonly number[] | Float32Array | Float64Array;

/** Dot index layouts: 'released' (every released Annoy, 16 + 4f bytes a node), 'main' (Annoy's unreleased main branch, 24 + 4f). */
export type DotLayout = 'released' | 'main';

/** Index bytes in Annoy's file format. */
export type IndexBytes = ArrayBuffer | ArrayBufferView;
/**
 * Which items a query may return: a bitset (bit i of byte i >> 3 allows item i; one bit per
 * item of the index, so Math.ceil(getNItems() / 8) bytes), an Array or Set of ids, or a
 * function asked once per item before the search (a bitset is fastest). The search goes on
 * until it has n allowed items, or has seen the whole index. A sharded index takes global ids.
 */
export type Filter = Uint8Array | readonly number[] | ReadonlySet<number> | ((id: number) => boolean);

/** A query's options, its last argument (after any of the optional ones). */
export interface QueryOptions {
  filter?: Filter;
}

/** A compact companion: bytes, or a path (Node). */
export type CompanionSource = string | IndexBytes;

export interface BatchResult {
  /** q × n ids, row by row; -1 where a query found fewer than n. */
  ids: Int32Array;
  /** q × n distances; NaN where a query found fewer than n. */
  distances: Float32Array;
}

export interface InitOptions {
  /**
   * Where the wasm module comes from: a URL (for a CDN, or where your bundler put
   * `grove-ann/grove.wasm`), a fetch Response, its bytes, or a compiled WebAssembly.Module.
   * Default: grove.wasm next to the package's browser module; in Node, the package's file.
   */
  wasm?: UrlLike | ResponseLike | ArrayBuffer | ArrayBufferView | object;
}

/** What `init()` and `ready` resolve to. */
export interface Grove {
  AnnoyIndex: typeof AnnoyIndex;
  ShardedIndex: typeof ShardedIndex;
  GroveError: typeof GroveError;
}

/** A sharded index's manifest (see the README's "Scaling out"). */
export interface Manifest {
  format: 'grove-sharded';
  version: 1;
  f: number;
  metric: Exclude<Metric, 'cosine'>;
  dot_layout?: DotLayout;
  total_items: number;
  shards: { file: string; items: number; first_id: number; n_trees: number; seed: number }[];
}

/**
 * A sharded index: a JSON manifest and its Annoy-format shard files, searched together with
 * answers merged exactly by (distance, id). search_k is spent per shard.
 */
export class ShardedIndex {
  private constructor();
  /** From a path (Node: shards read from its folder) or a URL (shards fetched in parallel). */
  static open(manifest: UrlLike, options?: FetchOptions): Promise<ShardedIndex>;
  /** The manifest: f, metric, n_trees, total_items and each shard's file and id range. */
  readonly manifest: Manifest;
  /** True after dispose(). */
  readonly disposed: boolean;
  /** Up to n nearest items to `vector` over every shard, nearest first, merged exactly. */
  getNnsByVector(vector: Vector, n: number, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK: number, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK?: number, includeDistances?: false, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK: number | undefined, includeDistances: true, options?: QueryOptions): [number[], number[]];
  getNnsByVector(vector: Vector, n: number, searchK?: number, includeDistances?: boolean, options?: QueryOptions): number[] | [number[], number[]];
  /** Up to n nearest items to item `item` (from the shard holding it), over every shard. */
  getNnsByItem(item: number, n: number, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK: number, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK?: number, includeDistances?: false, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK: number | undefined, includeDistances: true, options?: QueryOptions): [number[], number[]];
  getNnsByItem(item: number, n: number, searchK?: number, includeDistances?: boolean, options?: QueryOptions): number[] | [number[], number[]];
  /** Batch search over every shard: `queries` holds q vectors of f values back to back. */
  getNnsByVectors(queries: Vector, n: number, options?: QueryOptions): BatchResult;
  getNnsByVectors(queries: Vector, n: number, searchK?: number, options?: QueryOptions): BatchResult;
  /** Item `item`'s vector, from the shard holding it. */
  getItemVector(item: number): number[];
  /** The items of every shard: the end of the last shard's ids. */
  getNItems(): number;
  /** The number of shards. */
  getNShards(): number;
  /** The dimension. */
  getF(): number;
  /** Frees every shard's wasm memory. */
  dispose(): void;
  /** dispose(), for `using`. */
  [Symbol.dispose](): void;
  get_nns_by_item: ShardedIndex['getNnsByItem'];
  get_nns_by_vector: ShardedIndex['getNnsByVector'];
  get_nns_by_vectors: ShardedIndex['getNnsByVectors'];
  get_item_vector: ShardedIndex['getItemVector'];
  get_n_items: ShardedIndex['getNItems'];
  get_n_shards: ShardedIndex['getNShards'];
  get_f: ShardedIndex['getF'];
}

/**
 * Loads the wasm module (once; later calls return the same promise). Browsers: call it, or
 * `await ready`, before `new AnnoyIndex()`. Node: already loaded.
 */
export function init(options?: InitOptions): Promise<Grove>;
/** Awaiting it loads the wasm module from its default location if init() has not started. */
export const ready: PromiseLike<Grove>;

export interface FetchOptions {
  /** Called as bytes arrive; `total` is the Content-Length when the server sent one. */
  onProgress?: (loaded: number, total: number | undefined) => void;
}

/** A name an index is kept under in the browser: 'opfs:' and 1 to 200 letters, digits, '.', '_' or '-'. */
export type StoredName = `opfs:${string}`;

export interface IndexFetchOptions extends FetchOptions {
  /** The compact companion to fetch too: its URL or Response, or true for "<url>.sq8" (then optional). */
  companion?: UrlLike | ResponseLike | true;
}

/** Errors that are not about a bad value: wrong call order, files, format, memory. */
export class GroveError extends Error {
  readonly code: 'WrongState' | 'Io' | 'BadFormat' | 'OutOfMemory' | 'QuotaExceeded';
}

/**
 * Errors also carry `code`: bad values throw RangeError (code 'InvalidArgument' or
 * 'OutOfRange'), wrong types throw TypeError (code 'InvalidArgument'), and everything else
 * throws GroveError. Messages are the same words as the C++ library's.
 */
export class AnnoyIndex {
  /**
   * @param f the dimension (hamming: the number of bits)
   * @param metric the distance
   */
  constructor(f: number, metric: Metric, options?: { dotLayout?: DotLayout });

  /** The dimension (hamming: the number of bits). */
  readonly f: number;
  /** The metric as given to the constructor. */
  readonly metric: Metric;
  /** True after dispose(). */
  readonly disposed: boolean;

  /**
   * Stores `vector` as item `item` (ids >= 0; the index grows to max(id) + 1 items). After
   * build() too: the item goes into every tree and the next query finds it; an id already in
   * gets the new vector. A loaded index is read-only: thaw() it first.
   */
  addItem(item: number, vector: Vector): void;
  /**
   * Takes item `item` out of the index: no query returns it again, and getItemVector(),
   * getDistance() and getNnsByItem() throw a RangeError for it; addItem() puts it back.
   * getNItems() does not change (max id + 1). serialize() and save() write it as a hole,
   * which Annoy never returns either.
   */
  removeItem(item: number): true;
  /** removeItem() for each id; every id is checked (an item in the index, listed once) before any is removed. */
  removeItems(items: readonly number[] | ReadonlySet<number> | Int32Array): true;
  /**
   * Makes a loaded (read-only) index an in-memory copy that takes addItem() and removeItem(),
   * as if just built (the file or bytes it came from are not touched). A built index stays as it is.
   */
  thaw(): true;
  /**
   * Builds nTrees trees (-1: as many as fit twice the items' memory, as Annoy decides).
   * nJobs is accepted for parity with the C++ API; the wasm build uses one thread.
   */
  build(nTrees: number, nJobs?: number): true;
  /** Drops the trees so items can be added again. */
  unbuild(): true;
  /** Back to an empty index. */
  unload(): true;
  /**
   * Node: writes the index to `path` when build() finishes; from then on the index is that
   * file (loaded, read-only), as in the C++ API. It is built in wasm memory. Call before addItem().
   */
  onDiskBuild(path: string): true;

  /**
   * Up to n nearest items to item `item`, nearest first. searchK: candidates to collect (-1: n × trees).
   * options.filter: only the items it allows are returned (see Filter).
   */
  getNnsByItem(item: number, n: number, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK: number, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK?: number, includeDistances?: false, options?: QueryOptions): number[];
  getNnsByItem(item: number, n: number, searchK: number | undefined, includeDistances: true, options?: QueryOptions): [number[], number[]];
  getNnsByItem(item: number, n: number, searchK?: number, includeDistances?: boolean, options?: QueryOptions): number[] | [number[], number[]];
  /** Up to n nearest items to `vector`, nearest first. */
  getNnsByVector(vector: Vector, n: number, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK: number, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK?: number, includeDistances?: false, options?: QueryOptions): number[];
  getNnsByVector(vector: Vector, n: number, searchK: number | undefined, includeDistances: true, options?: QueryOptions): [number[], number[]];
  getNnsByVector(vector: Vector, n: number, searchK?: number, includeDistances?: boolean, options?: QueryOptions): number[] | [number[], number[]];
  /** Batch search: `queries` holds q vectors of f values back to back. */
  getNnsByVectors(queries: Vector, n: number, options?: QueryOptions): BatchResult;
  getNnsByVectors(queries: Vector, n: number, searchK?: number, options?: QueryOptions): BatchResult;

  /** The stored vector (hamming: 0/1 values). */
  getItemVector(item: number): number[];
  /** Distance between two items, as Annoy reports it. */
  getDistance(i: number, j: number): number;
  /** max(id) + 1, holes included. */
  getNItems(): number;
  /** The number of trees (after load: as many roots as Annoy's loader finds). */
  getNTrees(): number;
  /** The dimension. */
  getF(): number;
  /** The metric's canonical name ('cosine' is 'angular'). */
  getMetric(): Exclude<Metric, 'cosine'>;
  /** Built here (and not saved or loaded since). */
  isBuilt(): boolean;
  /** Loaded from a file or bytes, or saved: read-only. */
  isLoaded(): boolean;
  /** Seed for the next build. */
  setSeed(seed: number | bigint): void;
  /** Progress messages on stderr (Node) or console.error (browsers) during build(). */
  verbose(on: boolean): true;
  /**
   * The most memory addItem() may grow the index to, in bytes. Default: just under 2 GiB,
   * the largest block wasm32 can allocate; 0: no limit beyond that.
   */
  setMemoryLimit(bytes: number): void;
  /**
   * Dot only, before addItem(): 'released' (default; every released Annoy reads it) or 'main'
   * (Annoy's unreleased main branch). load() detects the layout of what it reads.
   */
  setDotLayout(layout: DotLayout): void;
  /** The dot layout the index holds; null for other metrics. */
  getDotLayout(): DotLayout | null;
  /**
   * true: Annoy's scalar float order, so builds match Annoy's files byte for byte (slower).
   * false (default): Grove's SIMD order, the same bits natively and in every browser.
   */
  setAnnoyFloatOrder(on: boolean): void;

  /** The index as bytes in Annoy's file format (a copy, on its own ArrayBuffer). */
  serialize(): ReturnType<Uint8Array['slice']>;
  /** Bytes of serialize(), without making the copy. */
  serializedSize(): number;
  /**
   * Loads from a path (Node) or bytes (copied once into wasm memory). The second argument is
   * Annoy's prefault flag (ignored), or the compact companion (bytes, or a path in Node), or
   * { companion }. From a path, "<path>.sq8" is loaded too when it is there.
   */
  load(source: string | IndexBytes, options?: boolean | CompanionSource | { companion?: CompanionSource }): true;
  /** Loads from bytes, as Annoy's `a.deserialize(bytes)`; the same as load(bytes, companion). */
  deserialize(bytes: IndexBytes, companion?: IndexBytes): true;
  /**
   * The C++ load_view: wasm cannot search JS memory in place, so this copies, as load(bytes).
   * Present so code written against the C++ API runs.
   */
  loadView(bytes: IndexBytes, companion?: IndexBytes): true;

  /**
   * Compact scoring (on by default; float metrics): candidates are scored on an 8-bit copy
   * of the items first, and exact distances computed only where they can change the answer,
   * which stays exactly that of a full float ranking. false: rank every candidate exactly.
   */
  setCompactScoring(on: boolean): true;
  /** Whether compact scoring is on. */
  getCompactScoring(): boolean;
  /**
   * Graph search (on by default; float metrics with compact scoring): build() also grows a
   * neighbour graph from the trees, kept in the companion, and queries walk it instead of
   * visiting more of the trees (a loaded companion's graph too). searchK keeps its meaning;
   * without a graph (off, an Annoy file alone, items added since build), queries search the trees.
   */
  setGraphSearch(on: boolean): true;
  /** Whether graph search is on. */
  getGraphSearch(): boolean;
  /**
   * Grows the graph for the index as it is, built or loaded (an Annoy file included), into its
   * companion, and turns graph search on; serializeCompanion() then carries it. false, with
   * no graph, for fewer than 1,000 items.
   */
  buildGraph(): boolean;
  /** Whether save() writes a compact companion and load() looks for one (compact scoring on, a float metric). */
  wantsCompanion(): boolean;
  /** The compact companion ("<path>.sq8" next to a saved index; Annoy never reads it). Empty for hamming. */
  serializeCompanion(): ReturnType<Uint8Array['slice']>;
  /** Bytes of serializeCompanion(), without making the copy. */
  companionSize(): number;
  /** Offers a companion for the loaded index: true if it matches; false: it is made on the first query. */
  loadCompanion(source: CompanionSource): boolean;
  /** As loadCompanion(bytes) (a copy). */
  loadCompanionView(bytes: IndexBytes): boolean;
  /** As loadCompanion(bytes). */
  deserializeCompanion(bytes: IndexBytes): boolean;
  /** Fetches an index from a URL or Response straight into wasm memory. */
  loadUrl(source: UrlLike | ResponseLike, options?: IndexFetchOptions): Promise<true>;
  /** Node: writes the index atomically (temp file + rename); the index is then loaded from it. */
  save(path: string, prefault?: boolean): true;

  /**
   * Keeps the index in the browser under a name: the Origin Private File System, or IndexedDB
   * where there is none (pages and workers alike); AnnoyIndex.open() opens it again, after a
   * reload too. The bytes (and the compact companion) are taken at the call, and the index
   * stays as it is. A failed save rejects with a GroveError, 'QuotaExceeded' when the storage
   * quota is full, and leaves the index saved under that name before, if any, as it was.
   */
  saveTo(target: StoredName, options?: FetchOptions): Promise<true>;

  /** Frees the index's wasm memory. */
  dispose(): void;
  /** dispose(), for `using`. */
  [Symbol.dispose](): void;

  /** Bytes of wasm memory the module holds (it grows as needed and is reused after dispose()). */
  static wasmMemoryBytes(): number;
  /** Indexes neither disposed nor collected: each holds wasm memory until then. */
  static liveIndexes(): number;
  /** A new index loaded from bytes in Annoy's format (and its compact companion, if given). */
  static deserialize(bytes: IndexBytes, f: number, metric: Metric, companion?: IndexBytes): AnnoyIndex;
  /** A new index fetched from a URL or Response straight into wasm memory (see loadUrl). */
  static fromUrl(source: UrlLike | ResponseLike, f: number, metric: Metric, options?: IndexFetchOptions): Promise<AnnoyIndex>;
  /**
   * An index kept with saveTo(), into wasm memory (its f and metric were saved with it). Rejects
   * with a GroveError: 'Io' when nothing is saved under the name, 'BadFormat' when what is
   * saved is damaged (sizes or checksum).
   */
  static open(source: StoredName, options?: FetchOptions): Promise<AnnoyIndex>;

  // Annoy's names.
  add_item: AnnoyIndex['addItem'];
  remove_item: AnnoyIndex['removeItem'];
  remove_items: AnnoyIndex['removeItems'];
  on_disk_build: AnnoyIndex['onDiskBuild'];
  get_nns_by_item: AnnoyIndex['getNnsByItem'];
  get_nns_by_vector: AnnoyIndex['getNnsByVector'];
  get_nns_by_vectors: AnnoyIndex['getNnsByVectors'];
  get_item_vector: AnnoyIndex['getItemVector'];
  get_distance: AnnoyIndex['getDistance'];
  get_n_items: AnnoyIndex['getNItems'];
  get_n_trees: AnnoyIndex['getNTrees'];
  get_f: AnnoyIndex['getF'];
  get_metric: AnnoyIndex['getMetric'];
  set_seed: AnnoyIndex['setSeed'];
  set_annoy_float_order: AnnoyIndex['setAnnoyFloatOrder'];
  is_built: AnnoyIndex['isBuilt'];
  is_loaded: AnnoyIndex['isLoaded'];
  set_memory_limit: AnnoyIndex['setMemoryLimit'];
  set_dot_layout: AnnoyIndex['setDotLayout'];
  get_dot_layout: AnnoyIndex['getDotLayout'];
  load_view: AnnoyIndex['loadView'];
  serialized_size: AnnoyIndex['serializedSize'];
  set_compact_scoring: AnnoyIndex['setCompactScoring'];
  get_compact_scoring: AnnoyIndex['getCompactScoring'];
  set_graph_search: AnnoyIndex['setGraphSearch'];
  get_graph_search: AnnoyIndex['getGraphSearch'];
  build_graph: AnnoyIndex['buildGraph'];
  wants_companion: AnnoyIndex['wantsCompanion'];
  serialize_companion: AnnoyIndex['serializeCompanion'];
  companion_size: AnnoyIndex['companionSize'];
  load_companion: AnnoyIndex['loadCompanion'];
  load_companion_view: AnnoyIndex['loadCompanionView'];
  deserialize_companion: AnnoyIndex['deserializeCompanion'];
}

declare const grove: Grove & { init: typeof init; ready: typeof ready };
export default grove;
