// The browser entry with the wasm inside (base64, about a third larger than grove.wasm): no
// asset to copy or serve, so it works with any bundler, a CDN or a plain page as is.
// scripts/build-wasm.mjs bundles this file into dist/grove.inline.mjs.
import base64 from '../dist/grove.wasm.b64.cjs';
import { createWebEntry } from './web.mjs';

function decode(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const grove = createWebEntry(() => decode(base64));

export const { AnnoyIndex, ShardedIndex, GroveError, init, ready } = grove;
export default grove;
