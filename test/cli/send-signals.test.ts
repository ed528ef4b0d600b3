import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dgramReceiver } from '../support/udp';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

test('Ctrl-C (SIGINT) stops cleanly: RTCP BYE arrives on port+1, exit 0, the SDP file stays', { timeout: 20000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-sig-'));
  // RTP on an even port P, RTCP on P+1: find a free pair
  let rtp: Awaited<ReturnType<typeof dgramReceiver>> | undefined;
  let rtcp: Awaited<ReturnType<typeof dgramReceiver>> | undefined;
  for (let p = 41000; p < 41100 && !rtcp; p += 2) {
    try {
      rtp = await dgramReceiver('127.0.0.1', p);
      rtcp = await dgramReceiver('127.0.0.1', p + 1);
    } catch {
      rtp?.close();
      rtp = undefined;
    }
  }
  assert.ok(rtp && rtcp, 'no free port pair');
  try {
    const sdp = join(dir, 's.sdp');
    const child = spawn(process.execPath, [CLI, 'send', '--tone', '--json', '--sdp', sdp, '--dest', `127.0.0.1:${rtp.port}`]);
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const t0 = Date.now();
    while (rtp.packets.length < 25 && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    const stop = JSON.parse(out.trim().split('\n').at(-1)!);
    assert.equal(stop.event, 'stop');
    assert.equal(stop.reason, 'stopped');
    await new Promise((r) => setTimeout(r, 100));
    const last = rtcp.packets.at(-1)!.data;
    // compound SR + SDES + BYE with our SSRC
    assert.equal(last[1], 200);
    const ssrc = last.readUInt32BE(4);
    const sdesAt = 28;
    const byeAt = sdesAt + (last.readUInt16BE(sdesAt + 2) + 1) * 4;
    assert.equal(last[byeAt + 1], 203, 'BYE');
    assert.equal(last.readUInt32BE(byeAt + 4), ssrc);
    assert.equal(rtp.packets[0].data.readUInt32BE(8), ssrc, 'same SSRC as the RTP');
    assert.equal(last.readUInt32BE(20), stop.packets, 'the final SR counts every packet sent');
    assert.equal(rtp.packets.length, stop.packets, 'every packet counted arrived');
    assert.match(readFileSync(sdp, 'utf8'), /^v=0/);
  } finally {
    rtp.close();
    rtcp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a destination where nothing listens gives one clear warning, and sending goes on', { timeout: 20000 }, async () => {
  // bind then close to get a port that is (almost certainly) closed
  const probe = await dgramReceiver('127.0.0.1', 0);
  const port = probe.port;
  probe.close();
  const child = spawn(process.execPath, [CLI, 'send', '--tone', '--json', '--duration', '0.5', '--dest', `127.0.0.1:${port}`]);
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
  const events = out.trim().split('\n').map((l) => JSON.parse(l));
  const warnings = events.filter((e) => e.event === 'warning');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0].message, new RegExp(`nothing is listening at 127.0.0.1:${port}`));
  assert.equal(events.at(-1).packets, 25);
});
