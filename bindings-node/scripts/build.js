#!/usr/bin/env node
// Builds the native part of mcast from source with cargo (no prebuilt
// binaries are downloaded) and puts it next to index.js as mcast.node.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const manifest = path.join(here, 'Cargo.toml');
const cargo = process.env.CARGO || 'cargo';

function run(args, opts = {}) {
  return execFileSync(cargo, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

try {
  run(['--version']);
} catch (e) {
  console.error('mcast: cargo (Rust) is needed to build this package from source: https://rustup.rs');
  process.exit(1);
}
const meta = JSON.parse(run(['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest]).toString());
console.error('mcast: building the native module (cargo build --release -p mcast-node) ...');
execFileSync(cargo, ['build', '--release', '-p', 'mcast-node', '--manifest-path', manifest], { stdio: 'inherit' });
const lib = path.join(meta.target_directory, 'release', process.platform === 'darwin' ? 'libmcast_node.dylib' : 'libmcast_node.so');
const out = path.join(here, 'mcast.node');
// Copy to a temporary name, then rename: a running process keeps its old file.
fs.copyFileSync(lib, out + '.tmp');
fs.renameSync(out + '.tmp', out);
console.error(`mcast: built ${out}`);
