// Shared helpers for the Node tests: seeded data, a brute-force oracle, golden data paths.
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const goldenDir = `${root}tests/data/annoy`;

export function golden(name) {
  return JSON.parse(readFileSync(`${goldenDir}/${name}`, 'utf8'));
}

export function floats(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function words(path) {
  const b = readFileSync(path);
  return new BigUint64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

// Hamming words to Grove's 0/1 values: bit j is bit j % 64 of word j / 64.
export function wordsToBits(ws) {
  const bits = [];
  for (const w of ws) for (let j = 0n; j < 64n; j++) bits.push(Number((w >> j) & 1n));
  return bits;
}

export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVectors(n, f, seed, bits = false) {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: f }, () => {
    if (bits) return r() < 0.5 ? 1 : 0;
    return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());  // Gaussian
  }).map((x) => (bits ? x : Math.fround(x))));
}

export function distance(metric, a, b) {
  let dot = 0, aa = 0, bb = 0, l2 = 0, l1 = 0, ham = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i];
    l2 += (a[i] - b[i]) ** 2; l1 += Math.abs(a[i] - b[i]); ham += a[i] !== b[i] ? 1 : 0;
  }
  switch (metric) {
    case 'angular': return aa * bb > 0 ? Math.sqrt(Math.max(0, 2 - 2 * dot / Math.sqrt(aa * bb))) : Math.SQRT2;
    case 'euclidean': return Math.sqrt(l2);
    case 'manhattan': return l1;
    case 'dot': return dot;
    default: return ham;
  }
}

// Exact top k as [id, distance], nearest first, ties to the smaller id.
export function bruteForce(metric, items, query, k) {
  const all = items.map((v, id) => [id, distance(metric, v, query)]);
  const sign = metric === 'dot' ? -1 : 1;
  all.sort((x, y) => sign * (x[1] - y[1]) || x[0] - y[0]);
  return all.slice(0, k);
}

export function near(actual, expected, tolerance = 1e-5) {
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}
