'use strict';
// Indexes kept in the browser under a name ('opfs:<name>'): in the Origin Private File System,
// or in IndexedDB where there is no OPFS (or no way to write it from this context), so an
// index saved by a page or a worker opens again after a reload, in either.
//
// OPFS: a folder 'grove-indexes' holds, per name, '<name>.json' (what was saved: f, metric,
// sizes and checksums) and the files it names, '<name>.<generation>.ann' and its '.sq8'. A
// save writes a new generation's files first and the JSON last (each file is replaced only
// when its write completes), then removes the old generation: a save that fails (a full
// quota) leaves the index saved before it as it was. IndexedDB: one record per name, written
// in one transaction, which either completes or leaves the old record.
//
// createStore(GroveError) returns { save, open }; the API (api.cjs) copies the index bytes out
// of wasm memory (Uint8Arrays) to save them, and loads what open() returns (Blobs, from a file
// or a record) into wasm memory. Bytes are written from memory, not from Blobs: a Blob written
// into a full OPFS fails as an unreadable Blob (NotReadableError), not as a full quota.

const FOLDER = 'grove-indexes';
const DATABASE = 'grove-indexes';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const CHUNK = 4 << 20;  // bytes per write, so that progress moves and no write is huge

// The name in 'opfs:<name>', or an error saying what a name may be.
function storedName(target, typeError, rangeError) {
  if (typeof target !== 'string') throw typeError(`the target must be a string such as 'opfs:products', got ${typeof target}`);
  if (!target.startsWith('opfs:')) throw rangeError(`'${target.slice(0, 100)}' is not a stored index: use 'opfs:<name>'`);
  const name = target.slice(5);
  if (!NAME.test(name)) {
    throw rangeError(`'${target.slice(0, 100)}': a name is 1 to 200 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

// FNV-1a over 32-bit little-endian words, then the bytes left over: a check that the bytes
// read back are the bytes saved (a truncated or damaged file), fast enough for large indexes.
function checksum(bytes) {
  let h = 0x811c9dc5;
  const words = bytes.byteLength >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const aligned = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, words) : null;
  for (let i = 0; i < words; i++) h = Math.imul(h ^ (aligned ? aligned[i] : view.getUint32(4 * i, true)), 16777619);
  for (let i = words * 4; i < bytes.byteLength; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function createStore(GroveError) {
  const where = (name) => `'opfs:${name}'`;

  function failure(name, doing, e) {
    if (e instanceof GroveError) return e;
    if (e?.name === 'QuotaExceededError') {
      const error = new GroveError(`cannot save ${where(name)}: the storage quota is exceeded (${e.message || e.name}); the index saved there before, if any, is unchanged`, 'QuotaExceeded');
      error.cause = e;
      return error;
    }
    const error = new GroveError(`cannot ${doing} ${where(name)}: ${e?.name ?? 'Error'}: ${e?.message ?? e}`, 'Io');
    error.cause = e;
    return error;
  }

  function corrupt(name, why) {
    return new GroveError(`${where(name)} is corrupt (${why}): save it again`, 'BadFormat');
  }

  // The parts saved ({ meta, index, companion } with Uint8Array bytes) and opened (Blobs). meta.index and
  // meta.companion hold { size, checksum } (and, in OPFS, the file name).
  function checkMeta(name, meta) {
    const part = (p) => p && Number.isSafeInteger(p.size) && p.size >= 0 && typeof p.checksum === 'string';
    if (!meta || meta.grove !== 1 || !Number.isInteger(meta.f) || typeof meta.metric !== 'string' || !part(meta.index) ||
        (meta.companion !== null && !part(meta.companion))) {
      throw corrupt(name, 'its description is not one Grove wrote');
    }
    return meta;
  }

  // ---- OPFS ----
  async function opfsFolder(create) {
    if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return null;
    const root = await navigator.storage.getDirectory();
    try {
      return await root.getDirectoryHandle(FOLDER, { create });
    } catch (e) {
      if (e?.name === 'NotFoundError') return undefined;  // OPFS is there, nothing saved yet
      throw e;
    }
  }

  // A file's handle can be written from this context: createWritable (pages and workers in
  // Chromium and Firefox), or a sync access handle (dedicated workers only, as in Safari).
  function canWrite() {
    const proto = typeof FileSystemFileHandle === 'undefined' ? {} : FileSystemFileHandle.prototype;
    return typeof proto.createWritable === 'function' || typeof proto.createSyncAccessHandle === 'function';
  }

  async function writeFile(folder, file, bytes, progress) {
    const handle = await folder.getFileHandle(file, { create: true });
    if (typeof handle.createWritable === 'function') {
      const out = await handle.createWritable();
      try {
        for (let at = 0; at < bytes.byteLength; at += CHUNK) {
          const chunk = bytes.subarray(at, Math.min(bytes.byteLength, at + CHUNK));
          await out.write(chunk);
          progress(chunk.byteLength);
        }
        await out.close();  // the file changes here, all at once
      } catch (e) {
        await out.abort().catch(() => {});
        throw e;
      }
      return;
    }
    const sync = await handle.createSyncAccessHandle();
    try {
      sync.truncate(0);
      for (let at = 0; at < bytes.byteLength; at += CHUNK) {
        const chunk = bytes.subarray(at, Math.min(bytes.byteLength, at + CHUNK));
        if (sync.write(chunk, { at }) !== chunk.byteLength) throw new DOMException('short write', 'QuotaExceededError');
        progress(chunk.byteLength);
      }
      sync.flush();
    } finally {
      sync.close();
    }
  }

  async function readMeta(folder, name) {
    let text;
    try {
      text = await (await (await folder.getFileHandle(`${name}.json`)).getFile()).text();
    } catch (e) {
      if (e?.name === 'NotFoundError') return null;
      throw e;
    }
    try {
      return checkMeta(name, JSON.parse(text));
    } catch (e) {
      throw e instanceof GroveError ? e : corrupt(name, 'its description is not JSON');
    }
  }

  async function opfsSave(folder, name, parts, progress) {
    const old = await readMeta(folder, name).catch(() => null);
    const generation = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`;
    const files = [`${name}.${generation}.ann`, `${name}.${generation}.ann.sq8`];
    const meta = { ...parts.meta, index: { ...parts.meta.index, file: files[0] } };
    if (parts.companion) meta.companion = { ...parts.meta.companion, file: files[1] };
    try {
      await writeFile(folder, files[0], parts.index, progress);
      if (parts.companion) await writeFile(folder, files[1], parts.companion, progress);
      await writeFile(folder, `${name}.json`, new TextEncoder().encode(JSON.stringify(meta)), () => {});
    } catch (e) {
      for (const file of files) await folder.removeEntry(file).catch(() => {});
      throw e;
    }
    for (const part of [old?.index, old?.companion]) {
      if (part?.file && !files.includes(part.file)) await folder.removeEntry(part.file).catch(() => {});
    }
  }

  async function opfsOpen(folder, name) {
    const meta = await readMeta(folder, name);
    if (!meta) return null;
    const file = async (part) => {
      try {
        return await (await folder.getFileHandle(part.file)).getFile();
      } catch (e) {
        if (e?.name === 'NotFoundError' || e?.name === 'TypeError') throw corrupt(name, `its file ${part.file} is missing`);
        throw e;
      }
    };
    return { meta, index: await file(meta.index), companion: meta.companion ? await file(meta.companion).catch(() => null) : null };
  }

  // ---- IndexedDB ----
  function request(r) {
    return new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  async function database() {
    if (typeof indexedDB === 'undefined') return null;
    const open = indexedDB.open(DATABASE, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('indexes');
    return request(open);
  }
  async function idbSave(db, name, parts) {
    const tx = db.transaction('indexes', 'readwrite');
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
    });
    tx.objectStore('indexes').put({ meta: parts.meta, index: parts.index, companion: parts.companion }, name);
    await done;
  }
  async function idbOpen(db, name) {
    const record = await request(db.transaction('indexes', 'readonly').objectStore('indexes').get(name));
    if (record === undefined) return null;
    const blob = (part) => (part instanceof Blob ? part : part instanceof Uint8Array ? new Blob([part]) : null);
    if (!blob(record?.index)) throw corrupt(name, 'its record holds no index');
    return { meta: checkMeta(name, record.meta), index: blob(record.index), companion: blob(record.companion) };
  }

  // A write that failed for want of room does not always say so (a write of a Blob, some
  // browsers' sync handles): when the origin's storage has less room left than this save
  // needed, the failure is the quota's.
  async function asQuota(e, needed) {
    if (e?.name === 'QuotaExceededError' || e instanceof GroveError) return e;
    try {
      const { usage, quota } = await navigator.storage.estimate();
      if (quota - usage < needed) return new DOMException(`${e?.name ?? 'Error'}: ${e?.message ?? e}`, 'QuotaExceededError');
    } catch {
      // no estimate here: the error as it was
    }
    return e;
  }

  const none = (name) => new GroveError(`cannot keep ${where(name)}: this context has neither the Origin Private File System nor IndexedDB (a browser page or worker has one)`, 'Io');

  return {
    // parts: { meta, index: Uint8Array, companion: Uint8Array | null }; progress(bytesWritten, total).
    async save(name, parts, onProgress) {
      const total = parts.index.byteLength + (parts.companion?.byteLength ?? 0);
      let written = 0;
      const progress = (bytes) => {
        written += bytes;
        onProgress?.(written, total);
      };
      try {
        const folder = await opfsFolder(true);
        if (folder && canWrite()) return await opfsSave(folder, name, parts, progress);
        const db = await database();
        if (!db) throw none(name);
        try {
          await idbSave(db, name, parts);
        } finally {
          db.close();
        }
        progress(total);
      } catch (e) {
        throw failure(name, 'save', await asQuota(e, total));
      }
    },
    // The parts saved under the name (OPFS first, then IndexedDB), or a named error.
    async open(name) {
      try {
        const folder = await opfsFolder(false);
        const found = folder ? await opfsOpen(folder, name) : null;
        if (found) return found;
        const db = await database();
        if (!db && folder === null) throw none(name);
        if (db) {
          try {
            const record = await idbOpen(db, name);
            if (record) return record;
          } finally {
            db.close();
          }
        }
      } catch (e) {
        throw failure(name, 'open', e);
      }
      throw new GroveError(`no index is saved as ${where(name)}: save one with saveTo('opfs:${name}') first`, 'Io');
    },
  };
}

module.exports = { createStore, storedName, checksum };
