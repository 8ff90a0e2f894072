// A Node program for bundling with esbuild --platform=node: the bundle must run on its own.
const { AnnoyIndex } = require('grove-ann');

const index = new AnnoyIndex(2, 'euclidean');
index.addItem(0, [0, 0]);
index.addItem(1, [1, 1]);
index.build(2);
console.log(JSON.stringify(index.getNnsByVector([0.9, 0.9], 2)));
