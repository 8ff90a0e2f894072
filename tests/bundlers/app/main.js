// The page: starts a module worker and posts a query at once, while the worker is starting.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.postMessage({ query: [0.9, 1.1, 1] });
worker.onmessage = (event) => { window.__answer = event.data; };
worker.onerror = (event) => { window.__answer = { error: event.message || 'the worker failed to start' }; };
