// The same package from CommonJS TypeScript (.cts): require() resolves to CJS types.
import grove = require('grove-ann');
import inline = require('grove-ann/inline');

const { AnnoyIndex } = grove;
void inline.ready;

const index = new grove.AnnoyIndex(3, 'angular');
index.addItem(0, [1, 0, 0]);
const built: true = index.build(1);
const again = new AnnoyIndex(3, 'angular');
void built, again;
