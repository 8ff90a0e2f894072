// The same Node program as node-main.cjs, as an ES module: each of its bundles (ES module or
// CommonJS output) must run on its own.
import { AnnoyIndex } from 'grove-ann';

const index = new AnnoyIndex(2, 'euclidean');
index.addItem(0, [0, 0]);
index.addItem(1, [1, 1]);
index.build(2);
console.log(JSON.stringify(index.getNnsByVector([0.9, 0.9], 2)));
