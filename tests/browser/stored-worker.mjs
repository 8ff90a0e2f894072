// A module worker that runs stored-common.mjs's steps (tests/browser/stored.test.mjs).
// noOpfs: as in a browser without the Origin Private File System (IndexedDB is used instead).
import { step } from './stored-common.mjs';

self.onmessage = async ({ data }) => {
  if (data.noOpfs) Object.defineProperty(StorageManager.prototype, 'getDirectory', { value: undefined, configurable: true });
  postMessage(await step(data));
};
