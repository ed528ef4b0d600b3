import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { toSendRequest } from '../../src/cli/send';
import { runSend } from '../../src/session/send';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const base = { toneLevel: -12, format: 's16le', codec: 'opus', fec: true, multicastLoop: true };

test('--web flags become the request: alone = this machine only, :PORT = every interface', () => {
  assert.deepEqual(toSendRequest({ ...base, web: true }).web, { address: { host: '127.0.0.1', port: 8080 }, token: undefined, maxListeners: undefined });
  assert.deepEqual(toSendRequest({ ...base, web: ':8090', webToken: 'abcdefgh', webMax: 3 }).web, { address: { host: '0.0.0.0', port: 8090 }, token: 'abcdefgh', maxListeners: 3 });
  assert.equal(toSendRequest(base).web, undefined);
  assert.deepEqual(toSendRequest({ ...base, web: true, webUdpPorts: '40000-40049' }).web?.icePorts, [40000, 40049]);
  for (const bad of ['40000', '40049-40000', '80-90', '40000-70000', 'a-b']) assert.throws(() => toSendRequest({ ...base, web: true, webUdpPorts: bad }), /expected FIRST-LAST/, bad);
});

test('--web refuses what it cannot do, saying why and what to do', () => {
  assert.throws(() => toSendRequest({ ...base, codec: 'l16', web: true }), /WebRTC, which carries Opus, not L16/);
  assert.throws(() => toSendRequest({ ...base, srtp: true, sdp: 'x.sdp', web: true }), /--web with --srtp/);
  assert.throws(() => toSendRequest({ ...base, webToken: 'abcdefgh' }), /go with --web/);
  assert.throws(() => toSendRequest({ ...base, web: true, webToken: 'short' }), /8 to 64 letters/);
  assert.throws(() => toSendRequest({ ...base, web: true, webToken: 'has space in it' }), /8 to 64 letters/);
});

test('runSend refuses --web for L16 too (the API, not only the CLI)', async () => {
  await assert.rejects(
    runSend({ source: { kind: 'tone', hz: 440, dbfs: -12 }, stream: { codec: 'l16' }, dests: ['127.0.0.1:32020'], web: { address: { host: '127.0.0.1', port: 0 } } }),
    /carries Opus, not L16/,
  );
});

test('rtpcast send --help teaches --web', () => {
  const r = spawnSync(process.execPath, [CLI, 'send', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--web \[host:port\]/);
  assert.match(r.stdout, /this machine only \(127\.0\.0\.1:8080\)/);
  assert.match(r.stdout, /--web :8080/);
});

test('rtpcast send --web prints the URL and a QR code, and the page answers', async () => {
  const child = spawn(process.execPath, [CLI, 'send', '--tone', '--web', '127.0.0.1:32030', '--web-token', 'cli-test-token', '--dest', '127.0.0.1:32032', '--duration', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  try {
    const end = Date.now() + 10_000;
    while (!err.includes('█') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /web {7}http:\/\/127\.0\.0\.1:32030\/\?k=cli-test-token/);
    assert.match(err, /this machine only: for phones on the LAN use --web :8080/);
    assert.ok(err.split('\n').filter((l) => /^[█▀▄ ]+$/.test(l)).length >= 10, 'a QR code of half blocks');
    const page = await fetch('http://127.0.0.1:32030/?k=cli-test-token');
    assert.equal(page.status, 200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
});
