// fromUrl/loadUrl against a lying HTTP server: every bad response is a GroveError with a code
// that names the URL, never a trap, a bare fetch TypeError or a block written past its end.
import assert from 'node:assert/strict';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { AnnoyIndex, GroveError } from 'grove-ann';

let server;
let base;
let good;

function small() {
  const index = new AnnoyIndex(3, 'euclidean');
  for (let i = 0; i < 50; i++) index.addItem(i, [i, i % 7, i % 3]);
  index.build(3);
  return index;
}

// Raw HTTP, so the server can say what a real one never would.
function respond(socket, path) {
  const head = (headers) => socket.write(`HTTP/1.1 200 OK\r\nconnection: close\r\n${headers}\r\n`);
  switch (path) {
    case '/good':
      head(`content-length: ${good.length}\r\n`);
      socket.end(good);
      return;
    case '/short':  // declares more than it sends
      head(`content-length: ${good.length}\r\n`);
      socket.end(good.subarray(0, 100));
      return;
    case '/long':  // sends more than it declares
      head('content-length: 100\r\n');
      socket.end(good);
      return;
    case '/huge':  // a length no wasm32 block can hold
      head(`content-length: ${2 ** 32 + 16}\r\n`);
      socket.end(good.subarray(0, 16));
      return;
    case '/reset':
      head(`content-length: ${good.length}\r\n`);
      socket.write(good.subarray(0, 100));
      setTimeout(() => socket.resetAndDestroy(), 20);
      return;
    case '/garbage':
      head('content-length: 13\r\n');
      socket.end('not an index!');
      return;
    case '/gzip': {
      const body = gzipSync(good);
      head(`content-length: ${body.length}\r\ncontent-encoding: gzip\r\n`);
      socket.end(body);
      return;
    }
    default:
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  }
}

before(async () => {
  const index = small();
  good = Buffer.from(index.serialize());
  index.dispose();
  server = net.createServer((socket) => {
    socket.once('data', (data) => respond(socket, data.toString().split(' ')[1]));
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

async function rejectsWith(promise, code, words) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof GroveError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.code, code, e.message);
    for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" lacks "${w}"`);
    return true;
  });
}

test('a good response loads, with progress up to its length', async () => {
  const seen = [];
  const index = await AnnoyIndex.fromUrl(`${base}/good`, 3, 'euclidean', { onProgress: (l, t) => seen.push([l, t]) });
  assert.equal(index.getNItems(), 50);
  assert.deepEqual(seen.at(-1), [good.length, good.length]);
  index.dispose();
});

test('a compressed response reports no total, and loaded ends at the real size', async () => {
  const seen = [];
  const index = await AnnoyIndex.fromUrl(`${base}/gzip`, 3, 'euclidean', { onProgress: (l, t) => seen.push([l, t]) });
  assert.equal(index.getNItems(), 50);
  assert.deepEqual(seen.at(-1), [good.length, undefined]);
  index.dispose();
});

test('a body shorter or longer than its Content-Length is an Io error naming the URL', async () => {
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/short`, 3, 'euclidean'), 'Io', [`${base}/short`]);
  // fetch() keeps to the declared length, so the extra bytes never arrive: a truncated index
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/long`, 3, 'euclidean'), 'BadFormat', [`${base}/long`]);
});

test('a Content-Length of 4 GiB or more is OutOfMemory naming the size, before any allocation', async () => {
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/huge`, 3, 'euclidean'), 'OutOfMemory', [String(2 ** 32 + 16)]);
});

test('a reset connection is an Io error naming the URL', async () => {
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/reset`, 3, 'euclidean'), 'Io', [`${base}/reset`]);
});

test('a body that is not an index is BadFormat; a refused connection is Io', async () => {
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/garbage`, 3, 'euclidean'), 'BadFormat', [`${base}/garbage`, 'not a multiple']);
  await rejectsWith(AnnoyIndex.fromUrl(`${base}/missing`, 3, 'euclidean'), 'Io', ['HTTP 404']);
  await rejectsWith(AnnoyIndex.fromUrl('http://127.0.0.1:1/x.ann', 3, 'euclidean'), 'Io', ['http://127.0.0.1:1/x.ann']);
});

test('after all that, the module and an existing index still answer', async () => {
  const index = small();
  assert.deepEqual(index.getNnsByItem(0, 1), [0]);
  index.dispose();
});

test('fromUrl(path) in Node reports progress too', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'grove-url-'));
  const file = path.join(dir, 'x.ann');
  writeFileSync(file, good);
  const seen = [];
  const index = await AnnoyIndex.fromUrl(file, 3, 'euclidean', { onProgress: (l, t) => seen.push([l, t]) });
  assert.deepEqual(seen, [[good.length, good.length]]);
  index.dispose();
  rmSync(dir, { recursive: true, force: true });
});
