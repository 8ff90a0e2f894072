// Browser, Web Worker and bundler entry (ES module), without top-level await. The wasm is
// grove.wasm next to the bundled file: bundlers that copy `new URL(..., import.meta.url)`
// assets (webpack 5, Vite, Parcel) ship it; elsewhere pass it to init({ wasm }), or import
// 'grove-ann/inline', which carries it.
// scripts/build-wasm.mjs bundles this file into dist/grove.browser.mjs, next to grove.wasm.
import { createWebEntry } from './web.mjs';

const grove = createWebEntry(() => new URL('./grove.wasm', import.meta.url));

export const { AnnoyIndex, ShardedIndex, GroveError, init, ready } = grove;
export default grove;
