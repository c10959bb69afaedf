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

// The Rust core is a path dependency (../core in Cargo.toml): the package
// builds only inside the repository. npm links a local folder
// (`npm install ./bindings-node`); with --install-links (or from a tarball
// of `npm pack`) it copies the package alone, without ../core.
const core = path.join(here, '..', 'core', 'Cargo.toml');
if (!fs.existsSync(core)) {
  console.error(`mcast: cannot build: the Rust core (${core}) is not next to this package (${here}).`);
  console.error('mcast: npm copied the package out of the mcast repository instead of linking it (--install-links, a packed tarball).');
  console.error('mcast: install it from a checkout, linked: npm install --install-links=false /path/to/mcast/bindings-node');
  process.exit(1);
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
