'use strict';
// Node entry (CommonJS): the module is compiled synchronously, so require() returns a ready API.
// Built-in modules through process.getBuiltinModule (Node 20.16 and later) where it exists:
// an ES module bundle (esbuild --platform=node --format=esm) has no require() to call.
const fs = process.getBuiltinModule?.('node:fs') ?? require('node:fs');
const path = process.getBuiltinModule?.('node:path') ?? require('node:path');
const { createApi, GroveError, checkBlockSize } = require('./api.cjs');
// GROVE_DIST_DIR points at another build of dist/ (the test suite runs once against a
// build with wasm assertions and a checked heap). The literal requires let bundlers (esbuild
// --platform=node, webpack's node target) include the loader in a bundle.
const testDist = process.env.GROVE_DIST_DIR;
const createGroveModule = testDist ? require(path.join(testDist, 'grove.node.cjs')) : require('../dist/grove.node.cjs');

// emcc 3.1.6's loader would fetch() the wasm, which Node's fetch cannot do for a path: pass
// the bytes ourselves. In a bundle, grove.wasm is not next to this file: then the bytes come
// from the inline copy, which the bundler includes through this literal require.
function wasmBytes() {
  // No __dirname in an ES module bundle: the bytes are the bundled inline copy then.
  const here = typeof __dirname === 'undefined' ? null : path.join(__dirname, '..', 'dist');
  const file = testDist || here ? path.join(testDist || here, 'grove.wasm') : null;
  if (file && fs.existsSync(file)) return fs.readFileSync(file);
  return Buffer.from(require('../dist/grove.wasm.b64.cjs'), 'base64');
}
const Module = createGroveModule({ wasmBinary: wasmBytes() });

// strerror's words, so messages read as the native library's do.
const ERRNO_TEXT = {
  ENOENT: 'No such file or directory', EISDIR: 'Is a directory', EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory', EEXIST: 'File exists', ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
};

// Bytes per fs.readSync/writeSync call: each takes at most 2^31 - 1.
const CHUNK = 1 << 30;

// Makes a rename in the folder of `file` durable (as the C++ library does).
function syncFolder(file) {
  let fd;
  try {
    fd = fs.openSync(path.dirname(path.resolve(file)), 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot sync a folder; the rename itself has happened.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// In chunks: one fs.writeSync takes at most 2^31 - 1 bytes.
function writeAll(fd, bytes) {
  for (let done = 0; done < bytes.byteLength;) {
    done += fs.writeSync(fd, bytes, done, Math.min(CHUNK, bytes.byteLength - done));
  }
}

// Where a write to `file` lands, as write_target in native/src/files.cpp: a symlink's target,
// and whether that is an existing file of another kind (a device, a FIFO); a folder is refused.
function writeTarget(file) {
  let stat;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return { path: file, regular: true };  // nothing there yet
  }
  let target = file;
  if (stat.isSymbolicLink()) {
    try {
      target = fs.realpathSync(file);
      stat = fs.statSync(target);
    } catch {  // a dangling link: its target is created
      const to = fs.readlinkSync(file);
      return { path: path.isAbsolute(to) ? to : path.join(path.dirname(file), to), regular: true };
    }
  }
  if (stat.isDirectory()) throw ioError('cannot write', file, { code: 'EISDIR' });
  return { path: target, regular: stat.isFile() };
}

function ioError(what, file, err) {
  const reason = ERRNO_TEXT[err.code] ?? err.message;
  return new GroveError(`${what} '${file}': ${reason}`, 'Io');
}

// Opens a file to read and checks it is a regular file, as the C++ library does. O_NONBLOCK:
// a FIFO (or device) named as an index or manifest would otherwise block until a writer came.
function openRegular(file, what) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw ioError(what, String(file), err);
  }
  const stat = fs.fstatSync(fd);
  if (stat.isFile()) return fd;
  fs.closeSync(fd);
  if (stat.isDirectory()) throw ioError('cannot load', String(file), { code: 'EISDIR' });
  throw new GroveError(`cannot load '${file}': not a regular file (a FIFO, socket or device)`, 'Io');
}

const platform = {
  // A small text file (a sharded index's manifest).
  readText(file) {
    const fd = openRegular(file, 'cannot open the manifest');
    try {
      return fs.readFileSync(fd, 'utf8');
    } catch (err) {
      throw ioError('cannot read the manifest', String(file), err);
    } finally {
      fs.closeSync(fd);
    }
  },

  // A shard named in a manifest: a file in the manifest's folder, not a link out of it.
  checkShardFile(file) {
    let stat;
    try {
      stat = fs.lstatSync(file);
    } catch {
      return;  // missing: reading it reports that
    }
    if (stat.isSymbolicLink()) {
      throw new GroveError(`cannot open '${file}': it is a symbolic link, and shards must be files in the manifest's folder`, 'Io');
    }
  },

  // Reads a whole file straight into a malloc'd wasm block: one copy, no Buffer in between.
  readFileIntoHeap(file) {
    const fd = openRegular(file, 'cannot open');
    try {
      const stat = fs.fstatSync(fd);
      if (stat.size === 0) throw new GroveError(`cannot load '${file}': the file is empty`, 'BadFormat');
      const size = checkBlockSize(stat.size, `'${file}'`);
      const ptr = Module._malloc(size) >>> 0;
      if (!ptr) throw new GroveError(`out of memory: could not allocate ${size} bytes for '${file}'`, 'OutOfMemory');
      try {
        for (let done = 0; done < size;) {
          const n = fs.readSync(fd, Module.HEAPU8, ptr + done, Math.min(CHUNK, size - done), done);
          if (n === 0) throw new GroveError(`cannot read '${file}': it shrank while being read`, 'Io');
          done += n;
        }
      } catch (err) {
        Module._free(ptr);
        throw err instanceof GroveError ? err : ioError('cannot read', String(file), err);
      }
      return { ptr, size };
    } finally {
      fs.closeSync(fd);
    }
  },

  // Temp file in the same folder, fsync, rename: the old file survives any failure. As the
  // C++ library (write_file_atomic): through a symlink to its target, the link kept; an
  // existing device or FIFO is written into, never replaced, and then it returns false.
  writeFileAtomic(file, bytes) {
    const target = writeTarget(file);
    if (!target.regular) {
      let fd;
      try {
        fd = fs.openSync(target.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        writeAll(fd, bytes);
      } catch (err) {
        throw ioError(fd === undefined ? 'cannot open' : 'cannot write', file, err);
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
      return false;
    }
    const tmp = `${target.path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    let fd;
    try {
      fd = fs.openSync(tmp, 'wx', 0o644);
    } catch (err) {
      throw ioError('cannot create', file, err);
    }
    try {
      writeAll(fd, bytes);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw ioError('cannot write', file, err);
    }
    try {
      fs.renameSync(tmp, target.path);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw ioError('cannot rename the temporary file to', file, err);
    }
    syncFolder(target.path);
    return true;
  },

  // Removes a file that may not be there (a stale companion).
  removeFile(file) {
    try {
      fs.rmSync(file, { force: true });
    } catch (err) {
      throw ioError('cannot remove the stale', file, err);
    }
  },

  // Whether an optional file (a companion) is there to read.
  isFile(file) {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  },

  // onDiskBuild checks up front that the file can be written (nothing is written yet), and
  // is a regular file or nothing yet: a built index is published by a rename.
  checkWritable(file) {
    const target = writeTarget(file);
    if (!target.regular) throw new GroveError(`cannot build on disk into '${file}': it is not a regular file`, 'Io');
    const probe = `${target.path}.probe-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      fs.closeSync(fs.openSync(probe, 'wx'));
      fs.rmSync(probe);
    } catch (err) {
      throw ioError('cannot create', file, err);
    }
  },
};

const api = createApi(platform);
api.attach(Module);
// Ready at once in Node; init() and ready exist so code shared with browsers runs unchanged.
const ready = Promise.resolve(api);
module.exports = { AnnoyIndex: api.AnnoyIndex, ShardedIndex: api.ShardedIndex, GroveError: api.GroveError, ready, init: () => ready };
module.exports.default = module.exports;
