// Browser, Web Worker and bundler entry (ES module): ready on import (top-level await).
// scripts/build-wasm.mjs bundles this file into dist/grove.browser.mjs, next to grove.wasm.
import createGroveModule from '../dist/grove.mjs';
import { createApi } from './api.cjs';

const Module = await createGroveModule();
const api = createApi(Module, null);

export const { AnnoyIndex, GroveError } = api;
export default api;
