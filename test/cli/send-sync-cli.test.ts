import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { runSend } from '../../src/session/send';
import { dgramReceiver } from '../support/udp';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const RTP_PORT = 31090;
const SYNC_PORT = 31096;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function holding<T>(port: number, fn: () => Promise<T> | T): Promise<T> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, '0.0.0.0', () => r()));
  try {
    return await fn();
  } finally {
    s.close();
  }
}

test('send --sync-port on a busy port: exit 5, naming the port and what to do', async () => {
  const r = await holding(SYNC_PORT, () => run(['send', '--tone', '--codec', 'l16', '--dest', `127.0.0.1:${RTP_PORT}`, '--sync-port', String(SYNC_PORT), '--duration', '0.2']));
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot start the time-sync service on UDP 0\\.0\\.0\\.0:${SYNC_PORT}: another program`));
  assert.match(r.stderr, /--sync-port/);
});

test('the time-sync service runs only when asked: no --sync, no port bound and no banner line; --sync-port names it', () => {
  const off = run(['send', '--tone', '--codec', 'l16', '--dest', `127.0.0.1:${RTP_PORT}`, '--duration', '0.2']);
  assert.equal(off.code, 0, off.stderr);
  assert.doesNotMatch(off.stderr, /time-sync service/);
  const ok = run(['send', '--tone', '--codec', 'l16', '--dest', `127.0.0.1:${RTP_PORT}`, '--sync-port', String(SYNC_PORT + 1), '--duration', '0.2']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, new RegExp(`sync +time-sync service on UDP 0\\.0\\.0\\.0:${SYNC_PORT + 1}`));
});

test('the default port busy (another sender on this machine): a warning, and the stream goes on', async () => {
  const rx = await dgramReceiver('127.0.0.1', RTP_PORT);
  try {
    const warnings: string[] = [];
    let started: string | undefined = 'unset';
    const r = await holding(SYNC_PORT, () =>
      runSend(
        { source: { kind: 'tone', hz: 440, dbfs: -12 }, stream: { codec: 'l16' }, dests: [`127.0.0.1:${RTP_PORT}`], durationSec: 0.2, sync: { port: SYNC_PORT } },
        { onWarning: (m) => warnings.push(m), onStart: (i) => (started = i.sync) },
      ),
    );
    assert.equal(r.reason, 'duration');
    assert.equal(started, undefined, 'no service announced');
    assert.ok(warnings.some((w) => w.includes(`UDP port ${SYNC_PORT}`) && /--sync-port/.test(w)), JSON.stringify(warnings));
    assert.ok(r.status.packets > 0);
  } finally {
    rx.close();
  }
});

test('play --timeline-out needs --sync; --sync takes host[:port] only', () => {
  const r = run(['play', '--port', String(RTP_PORT), '--timeline-out', '/tmp/never-written.timeline', '--duration', '0.1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--timeline-out logs what --sync plays/);
  const bad = run(['play', '--port', String(RTP_PORT), '--sync', 'host:99999', '--duration', '0.1']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--sync host:99999: not a host or host:port/);
});
