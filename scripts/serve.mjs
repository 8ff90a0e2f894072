// A static file server on 127.0.0.1 (port 0: any free port), for the demo and browser tests.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml',
};

export function serveStatic(root, port = 0) {
  const server = createServer((req, res) => {
    let file;
    try {
      const url = new URL(req.url, 'http://localhost');
      const wanted = url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname;
      file = path.normalize(path.join(root, decodeURIComponent(wanted)));
    } catch {
      res.writeHead(400).end();  // a malformed URL is the client's problem, not the server's end
      return;
    }
    if (!file.startsWith(path.normalize(root))) {
      res.writeHead(403).end();
      return;
    }
    let stat;
    try {
      stat = statSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (!stat.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
    });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      server.url = `http://127.0.0.1:${server.address().port}`;
      resolve(server);
    });
  });
}
