// Fashion-MNIST from Debian's dataset-fashion-mnist (installed when missing), as float32
// .npy files; or, where the package cannot be had, a generated stand-in of the same shape.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ensurePackages, log, root } from './lib.mjs';

const SOURCE = '/usr/share/datasets/fashion-mnist';
export const LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
  'Sneaker', 'Bag', 'Ankle boot'];

function readIdx(file, magic) {
  const bytes = gunzipSync(readFileSync(`${SOURCE}/${file}`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${file}: not an IDX file`);
  const dims = [];
  for (let i = 0; i < (magic & 0xff); i++) dims.push(view.getUint32(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * dims.length) };
}

// A float32 2-D .npy file.
export function npyBytes(values, rows, cols) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length + values.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.write(header, 10, 'latin1');
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 10 + header.length);
  return out;
}

function fromPackage() {
  const split = (name) => {
    const images = readIdx(`${name}-images-idx3-ubyte.gz`, 0x00000803);
    const labels = readIdx(`${name}-labels-idx1-ubyte.gz`, 0x00000801);
    const [rows, h, w] = images.dims;
    return { rows, cols: h * w, values: Float32Array.from(images.data), labels: Array.from(labels.data) };
  };
  return { train: split('train'), test: split('t10k'), generated: false };
}

// Ten blurry "classes" around random prototypes, pixel range 0..255, deterministic.
function generated() {
  let state = 42;
  const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const cols = 784;
  const prototypes = Array.from({ length: 10 }, () => Float32Array.from({ length: cols }, () => rand() * 255));
  const make = (rows) => {
    const values = new Float32Array(rows * cols);
    const labels = [];
    for (let r = 0; r < rows; r++) {
      const label = Math.floor(rand() * 10);
      labels.push(label);
      for (let c = 0; c < cols; c++) values[r * cols + c] = Math.min(255, Math.max(0, prototypes[label][c] + (rand() - 0.5) * 160));
    }
    return { rows, cols, values, labels };
  };
  return { train: make(60000), test: make(10000), generated: true };
}

// Writes train.npy, test.npy and labels.json under build/demo-data; returns their paths.
export function prepareFashionMnist() {
  const dir = `${root}/build/demo-data`;
  const paths = { train: `${dir}/train.npy`, test: `${dir}/test.npy`, labels: `${dir}/labels.json` };
  if (existsSync(paths.labels)) {
    const meta = JSON.parse(readFileSync(paths.labels, 'utf8'));
    if (meta.generated === !hasDataset()) return { ...paths, ...meta };
  }
  ensurePackages(['dataset-fashion-mnist'], { required: false });
  const data = hasDataset() ? fromPackage() : generated();
  if (data.generated) log('dataset-fashion-mnist is not available: using a generated dataset of the same shape');
  mkdirSync(dir, { recursive: true });
  writeFileSync(paths.train, npyBytes(data.train.values, data.train.rows, data.train.cols));
  writeFileSync(paths.test, npyBytes(data.test.values, data.test.rows, data.test.cols));
  const meta = { generated: data.generated, trainLabels: data.train.labels, testLabels: data.test.labels };
  writeFileSync(paths.labels, JSON.stringify(meta));
  return { ...paths, ...meta };
}

function hasDataset() {
  return existsSync(`${SOURCE}/train-images-idx3-ubyte.gz`);
}
