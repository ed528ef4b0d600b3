#!/usr/bin/env node
// Runs the compiled tests with node's own test runner.
//   node scripts/run-tests.js          every test (unit, then interop)
//   node scripts/run-tests.js unit     unit tests only (no peers needed)
//   node scripts/run-tests.js interop  interop tests against real ffmpeg, VLC, GStreamer, PulseAudio
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'dist', 'test');
function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  }).sort();
}
const which = process.argv[2] || 'all';
const all = find(root);
const interop = all.filter((f) => f.includes(`${path.sep}interop${path.sep}`));
const unit = all.filter((f) => !interop.includes(f));
const files = which === 'unit' ? unit : which === 'interop' ? interop : [...unit, ...interop];
if (files.length === 0) {
  console.error(`no test files found under ${root} (did the build run?)`);
  process.exit(1);
}
// Interop tests share ports and CPU with real peers: run files one at a time.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
