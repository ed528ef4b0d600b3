'use strict';
// Builds the addon with node-gyp when the machine can (Linux with a C compiler and Node's headers).
// Never fails the install: rtpcast send falls back to its JavaScript pacer without it.
const { spawnSync } = require('node:child_process');
const { join, dirname } = require('node:path');
const { existsSync } = require('node:fs');

function say(m) {
  process.stderr.write(`rtpcast-pacer: ${m}\n`);
}

if (process.platform !== 'linux') {
  say(`not built on ${process.platform} (Linux only); rtpcast send uses its JavaScript pacer`);
  process.exit(0);
}
// npm runs install scripts with its own node-gyp on PATH (npm_config_node_gyp); else the one bundled with npm.
const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
// Build offline against the headers installed with Node (distribution packages put them in
// PREFIX/include/node) unless a nodedir is configured; else node-gyp would download them.
const gypArgs = ['rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
const opts = { cwd: __dirname, stdio: ['ignore', 'inherit', 'inherit'] };
const r = gyp ? spawnSync(process.execPath, [gyp, ...gypArgs], opts) : spawnSync('node-gyp', gypArgs, opts);
if (r.status === 0) {
  say('built: rtpcast send paces packets from a native thread');
} else {
  say('could not be built (needs python3, make, a C compiler and Node headers); rtpcast send uses its JavaScript pacer (more CPU, same pacing)');
}
process.exit(0);
