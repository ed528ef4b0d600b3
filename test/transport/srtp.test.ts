import { test } from 'node:test';
import assert from 'node:assert/strict';
import { masterKeyFrom, SrtpProtector, SrtpUnprotector } from '../../src/rtp/srtp';
import { SrtpReceiveFilter, srtpSummary, SrtpTransport, WRONG_KEY_AFTER } from '../../src/transport/srtp';
import type { Transport, TransportWarning } from '../../src/transport/udp';

const KEY = masterKeyFrom(Buffer.alloc(30, 7));
const OTHER = masterKeyFrom(Buffer.alloc(30, 8));

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(12 + 20, 0x33);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 240, 4);
  b.writeUInt32BE(0xabcdef01, 8);
  return b;
}
const SR = Buffer.from('80c80006abcdef01' + '00'.repeat(20), 'hex');

class Recording implements Transport {
  rtp: Buffer[] = [];
  rtcp: Buffer[] = [];
  send(p: Buffer): void {
    this.rtp.push(Buffer.from(p));
  }
  sendRtcp(p: Buffer): void {
    this.rtcp.push(Buffer.from(p));
  }
  localAddress(): string {
    return '127.0.0.1';
  }
  onWarning(_fn: (w: TransportWarning) => void): void {}
  async close(): Promise<void> {}
}

test('SrtpTransport: RTP goes out as SRTP, RTCP as SRTCP, nothing in clear; a broken packet is counted, not sent', () => {
  const inner = new Recording();
  const t = new SrtpTransport(inner, KEY);
  t.send(rtp(1));
  t.sendRtcp(SR);
  t.send(Buffer.from([0x80, 96, 0])); // too short to be RTP
  assert.equal(t.protectErrors, 1);
  assert.equal(inner.rtp.length, 1);
  const u = new SrtpUnprotector(KEY);
  const a = u.unprotectRtp(inner.rtp[0]);
  assert.ok(a.ok);
  assert.deepEqual(a.packet, rtp(1));
  const b = u.unprotectRtcp(inner.rtcp[0]);
  assert.ok(b.ok);
  assert.deepEqual(b.packet, SR);
});

test('SrtpReceiveFilter: only failures -> one "wrong key?" warning after WRONG_KEY_AFTER, naming the SDP', () => {
  const warnings: string[] = [];
  const f = new SrtpReceiveFilter(KEY, 'stream.sdp', (m) => warnings.push(m));
  const p = new SrtpProtector(OTHER);
  for (let i = 0; i < WRONG_KEY_AFTER - 1; i++) assert.equal(f.rtp(p.protectRtp(rtp(i)), '10.0.0.2:4000'), undefined);
  assert.deepEqual(warnings, []);
  for (let i = 0; i < 10; i++) f.rtp(p.protectRtp(rtp(100 + i)), '10.0.0.2:4000');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^25 packets \(from 10\.0\.0\.2:4000\) failed SRTP authentication and none passed: wrong key\? The key in stream\.sdp/);
  assert.deepEqual({ ...f.stats }, { suite: 'AES_CM_128_HMAC_SHA1_80', rtp: 0, rtcp: 0, authFailed: WRONG_KEY_AFTER + 9, replayed: 0, malformed: 0 });
  assert.match(srtpSummary(f.stats)!, /none of the 34 packets that arrived passed authentication: wrong key\?/);
});

test('SrtpReceiveFilter: failures while the stream authenticates -> one injection warning; replays counted apart', () => {
  const warnings: string[] = [];
  const f = new SrtpReceiveFilter(KEY, 'stream.sdp', (m) => warnings.push(m));
  const good = new SrtpProtector(KEY);
  const bad = new SrtpProtector(OTHER);
  const first = good.protectRtp(rtp(1));
  assert.deepEqual(f.rtp(first, 'a:1'), rtp(1));
  assert.equal(f.rtp(first, 'a:1'), undefined);
  assert.equal(f.rtp(bad.protectRtp(rtp(2)), 'evil:9'), undefined);
  assert.equal(f.rtp(rtp(3), 'evil:9'), undefined, 'plain RTP is not SRTP');
  assert.ok(f.rtcp(good.protectRtcp(SR), 'a:2'));
  assert.equal(f.rtcp(SR, 'evil:9'), undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /a packet from evil:9 failed SRTP authentication while the stream authenticates/);
  assert.deepEqual({ ...f.stats }, { suite: 'AES_CM_128_HMAC_SHA1_80', rtp: 1, rtcp: 1, authFailed: 3, replayed: 1, malformed: 0 });
  assert.equal(srtpSummary(f.stats), 'SRTP: 3 packets failed authentication and were dropped (never played); 1 authenticated packets were played');
  assert.equal(srtpSummary({ ...f.stats, authFailed: 0 }), undefined);
});
