// The JS API mirrors the C++ API method for method: every public method declared in the C++
// headers has its camelCase name and its snake_case alias on AnnoyIndex, so the two cannot
// drift apart unnoticed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AnnoyIndex } from 'grove-ann';
import { root } from './helpers.mjs';

// C++ only, on purpose: hooks for platform layers, and the layout struct.
const CPP_ONLY = new Set(['load_storage', 'set_build_storage', 'set_log', 'get_layout', 'serialized_data', 'companion_data', 'freeze',
  'storage', 'write_image', 'write_files']);

function cppMethods() {
  const names = new Set();
  for (const header of ['core/include/grove/index.h', 'native/include/grove/grove.h']) {
    const text = readFileSync(`${root}/${header}`, 'utf8');
    for (const m of text.matchAll(/^\s+(?:static\s+)?(?:[\w:<>,*&\s]+?\s+)?([a-z][a-z0-9_]*)\(/gm)) names.add(m[1]);
  }
  for (const keyword of ['if', 'return', 'sizeof']) names.delete(keyword);
  return [...names].filter((n) => !CPP_ONLY.has(n));
}

const camel = (snake) => snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

test('every public C++ method has a camelCase JS method and a snake_case alias', () => {
  const methods = cppMethods();
  assert.ok(methods.length >= 25 && methods.includes('get_nns_by_vectors') && methods.includes('on_disk_build'), `found only ${methods.join(', ')}`);
  const missing = [];
  for (const name of methods) {
    const has = (n) => typeof AnnoyIndex.prototype[n] === 'function' || typeof AnnoyIndex[n] === 'function';
    if (!has(camel(name))) missing.push(camel(name));
    if (name.includes('_') && !has(name)) missing.push(name);
  }
  assert.deepEqual(missing, []);
});
