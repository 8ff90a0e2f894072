// Helpers shared by the project's scripts: running commands and installing what is missing.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// fileURLToPath, not URL.pathname: a checkout path with spaces or non-ASCII stays a real path.
export const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

// Whether the module at `moduleUrl` is the script node was started with.
export function isMain(moduleUrl) {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(path.resolve(process.argv[1])).href;
}

// Each line says how long the script has run (m:ss), so a slow stage shows in CI's log.
export function log(message) {
  const s = Math.round(process.uptime());
  console.log(`\x1b[1m[grove ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}]\x1b[0m ${message}`);
}

// A build folder configured from another checkout (this one copied or moved) holds a CMake
// cache naming the old paths, which CMake refuses ("CMakeCache.txt directory ... is
// different"): such a folder is removed, so the configure that follows starts afresh.
export function forgetStaleBuild(source, dir) {
  const cache = path.join(dir, 'CMakeCache.txt');
  if (!existsSync(cache)) return;
  const home = /^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1];
  const cacheDir = /^# For build in directory: (.*)$/m.exec(readFileSync(cache, 'utf8'))?.[1];
  const same = (a, b) => a !== undefined && path.resolve(a) === path.resolve(b);
  if (same(home, source) && (cacheDir === undefined || same(cacheDir, dir))) return;
  log(`${dir} was configured for another checkout (${home}): configuring it afresh`);
  rmSync(dir, { recursive: true, force: true });
}

// Runs a command, streaming its output; throws when it fails. A CMake configure (-S and -B,
// directly or through emcmake) first forgets a build folder made for another checkout.
export function run(command, args, options = {}) {
  const source = args.indexOf('-S'), build = args.indexOf('-B');
  if ((command === 'cmake' || (command === 'emcmake' && args[0] === 'cmake')) && source >= 0 && build >= 0) {
    forgetStaleBuild(path.resolve(options.cwd ?? root, args[source + 1]), path.resolve(options.cwd ?? root, args[build + 1]));
  }
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
  return result;
}

// Starts a command whose output goes to `logFile`, and returns a promise of its end: it
// rejects (after printing the log) when the command fails. The caller may block meanwhile
// (spawnSync): the command runs on, and its end is seen once the caller awaits.
export function startInBackground(command, args, logFile, options = {}) {
  const fd = openSync(logFile, 'w');
  const child = spawn(command, args, { cwd: root, ...options, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      console.log(readFileSync(logFile, 'utf8'));
      reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal} (log above, and in ${logFile})`));
    });
  });
}

export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return result.stdout;
}

function hasPackage(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

let updated = false;

// Installs Debian packages that are missing. `required` ones must install; optional ones may
// fail (no network, not Debian), and the caller decides what to do without them.
export function ensurePackages(packages, { required = true } = {}) {
  const missing = packages.filter((p) => !hasPackage(p));
  if (missing.length === 0) return true;
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? [] : existsSync('/usr/bin/sudo') ? ['sudo'] : null;
  if (!existsSync('/usr/bin/apt-get') || sudo === null) {
    if (required) throw new Error(`missing packages: ${missing.join(' ')} (install them with your package manager)`);
    return false;
  }
  log(`installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync(sudo[0] ?? 'apt-get', sudo.length ? ['apt-get', ...args] : args, { stdio: 'inherit', env });
  if (!updated) {
    apt(['update', '-qq']);
    updated = true;
  }
  const r = apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (r.status !== 0) {
    if (required) throw new Error(`could not install ${missing.join(' ')}`);
    log(`could not install ${missing.join(' ')}; continuing without`);
    return false;
  }
  return true;
}

// The native toolchain and test libraries every build needs.
export function ensureNativeToolchain() {
  ensurePackages(['g++', 'cmake', 'make', 'pkg-config', 'libgtest-dev', 'nlohmann-json3-dev']);
}

export const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));

// Configures and builds the native library and CLI (and the tests) in its own folder, so a
// build without tests never leaves stale test binaries where ctest looks.
export function buildNative({ tests = true } = {}) {
  if (tests) ensureNativeToolchain();
  else ensurePackages(['g++', 'cmake', 'make']);
  const dir = `${root}/build/${tests ? 'native' : 'tools'}`;
  run('cmake', ['-S', root, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', `-DGROVE_BUILD_TESTS=${tests ? 'ON' : 'OFF'}`]);
  run('cmake', ['--build', dir, '--parallel', jobs]);
  return dir;
}
