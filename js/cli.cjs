#!/usr/bin/env node
'use strict';
// The npm package's `grove-ann` command (npx grove-ann build vectors.npy index.ann): the
// native CLI's own program compiled to WebAssembly, so it needs no compiler. It reads and
// writes real files through Node, runs on one thread (--jobs is accepted, same result), and
// holds the files it opens in memory instead of mapping them. Built by scripts/build-wasm.mjs.
require('../dist/grove-cli.cjs');
