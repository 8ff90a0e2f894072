// The page: sample images, the search_k slider, the drawing canvas. Searches go to the worker.
const SEARCH_K = [10, 100, 300, 1000, 3000, 10000, 30000, 100000];
const $ = (id) => document.getElementById(id);
const worker = new Worker('./worker.mjs', { type: 'module' });
const meta = await (await fetch('./meta.json')).json();
const labels = await (await fetch('./labels.json')).json();
let nextId = 1;
const pending = new Map();
let current = null;  // what the results show: { item } or { vector }

function ask(message) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ ...message, id });
  });
}

worker.onmessage = ({ data }) => {
  if (data.type === 'progress') {
    $('progress').value = data.total ? data.loaded / data.total : 0;
    $('status').textContent = `Loading the index… ${(data.loaded / 2 ** 20).toFixed(0)} of ${(data.total / 2 ** 20).toFixed(0)} MiB`;
  } else if (data.type === 'loaded') {
    onLoaded(data);
  } else if (data.type === 'error') {
    $('status').textContent = `Error: ${data.message}`;
    for (const p of pending.values()) p.reject(new Error(data.message));
    pending.clear();
  } else if (pending.has(data.id)) {
    pending.get(data.id).resolve(data);
    pending.delete(data.id);
  }
};

function tile(vector, caption, onClick) {
  const div = document.createElement('div');
  div.className = 'tile';
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 28;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const v = Math.max(0, Math.min(255, vector[p] * meta.displayScale));
    img.data.set([v, v, v, 255], 4 * p);
  }
  ctx.putImageData(img, 0, 0);
  if (onClick) canvas.addEventListener('click', onClick);
  div.append(canvas);
  const text = document.createElement('span');
  text.textContent = caption;
  div.append(text);
  return div;
}

async function showSamples() {
  const items = Array.from({ length: 24 }, () => Math.floor(Math.random() * meta.items));
  const { vectors } = await ask({ type: 'vectors', items });
  $('samples').replaceChildren(...items.map((item, i) =>
    tile(vectors[i], meta.labelNames[labels[item]], () => search({ item }))));
}

async function search(query) {
  current = query;
  const searchK = SEARCH_K[$('search-k').value];
  const r = await ask({ type: 'search', searchK, ...query });
  const caption = query.item !== undefined ? `#${query.item} ${meta.labelNames[labels[query.item]]}` : 'drawing';
  $('query').replaceChildren(tile(r.query, caption));
  $('results').replaceChildren(...r.ids.map((id, i) =>
    tile(r.vectors[i], `${meta.labelNames[labels[id]]} ${r.distances[i].toFixed(0)}`, () => search({ item: id }))));
  $('results').dataset.ids = JSON.stringify(r.ids);
  $('results').dataset.distances = JSON.stringify(r.distances);
  $('timing').textContent = `${r.ms.toFixed(2)} ms with search_k ${searchK} (exact scan: ${r.exactMs.toFixed(1)} ms)`;
  $('recall').textContent = `recall@10 against the exact scan: ${(r.recall * 100).toFixed(0)}%`;
  document.body.dataset.searches = String(Number(document.body.dataset.searches ?? 0) + 1);
  document.body.dataset.lastMs = String(r.ms);
  return r;
}

function onLoaded(info) {
  $('progress').hidden = true;
  $('status').textContent = `${info.items.toLocaleString()} ${meta.generated ? 'generated images (dataset-fashion-mnist was not available)' : 'Fashion-MNIST images'}, ` +
    `${info.trees} trees, ${meta.metric} distance; loaded in ${(info.ms / 1000).toFixed(1)} s. Click an image.`;
  document.body.dataset.loadedMs = String(info.ms);
  showSamples().then(() => { document.body.dataset.ready = '1'; });
}

$('index-size').textContent = `${(meta.bytes / 2 ** 20).toFixed(0)} MiB, and its ${(meta.companionBytes / 2 ** 20).toFixed(0)} MiB compact companion`;
$('shuffle').onclick = showSamples;
$('random').onclick = () => search({ item: Math.floor(Math.random() * meta.items) });
$('search-k').oninput = () => {
  $('search-k-value').textContent = SEARCH_K[$('search-k').value];
  if (current) search(current);
};

// Drawing: white strokes on black, averaged down to 28 x 28 like the dataset's images.
const draw = $('draw');
const pen = draw.getContext('2d');
pen.fillStyle = 'black';
pen.fillRect(0, 0, draw.width, draw.height);
let drawing = false;
const point = (e) => { const r = draw.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
draw.addEventListener('pointerdown', (e) => { drawing = true; pen.beginPath(); pen.moveTo(...point(e)); });
draw.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  pen.strokeStyle = 'white';
  pen.lineWidth = 18;
  pen.lineCap = pen.lineJoin = 'round';
  pen.lineTo(...point(e));
  pen.stroke();
});
window.addEventListener('pointerup', () => { drawing = false; });
$('clear').onclick = () => { pen.fillStyle = 'black'; pen.fillRect(0, 0, draw.width, draw.height); };
$('search-drawing').onclick = () => {
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const sctx = small.getContext('2d');
  sctx.imageSmoothingQuality = 'high';
  sctx.drawImage(draw, 0, 0, 28, 28);
  const px = sctx.getImageData(0, 0, 28, 28).data;
  const vector = Array.from({ length: 784 }, (_, p) => px[4 * p] / meta.displayScale);
  search({ vector });
};

worker.postMessage({ type: 'load', url: './index.ann', companion: './index.ann.sq8', meta });
