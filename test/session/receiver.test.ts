/**
 * RtpReceiver (src/session/receiver.ts): what `rtpcast play` does with each datagram, without a
 * socket, on hand-made packets and an injected clock: the source filter, the sender lock and
 * restarts, other senders counted and bounded, --port alone, RTCP BYE, and the flood detector's
 * feed (every unwanted datagram is reported).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TRACKED, RtpReceiver, type ReceiverEvents } from '../../src/session/receiver';
import type { ReceiveSpec } from '../../src/session/play';

const SPEC: ReceiveSpec = { codec: 'l16', payloadType: 96, clockRate: 48000, channels: 2, port: 5004, family: 4, multicast: false, from: 'test' };
const MS = 1_000_000n;

/** L16 stereo, 5 ms (240 frames) of a constant level. */
function rtp(seq: number, ssrc = 0x1234, pt = 96): Buffer {
  const b = Buffer.alloc(12 + 240 * 4, 0x10);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 240) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

/** An RTCP BYE (RFC 3550 6.6) for `ssrc`, and a second SSRC so that it is as long as an RTP header. */
function bye(ssrc: number, other = 0x0badcafe): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x82;
  b[1] = 203;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(other, 8);
  return b;
}

function recorder(): { events: ReceiverEvents; warnings: string[]; unwanted: number; changed: number } {
  const r = { warnings: [] as string[], unwanted: 0, changed: 0, events: {} as ReceiverEvents };
  r.events = { warning: (m) => r.warnings.push(m), unwanted: () => r.unwanted++, senderChanged: () => r.changed++ };
  return r;
}

const A = { address: '127.0.0.1', port: 40000 };
const B = { address: '127.0.0.2', port: 40000 };

test('the first sender is played; another one is counted per address and SSRC, reported once, never played', () => {
  const rec = recorder();
  const rx = new RtpReceiver({ spec: SPEC }, rec.events);
  for (let i = 0; i < 10; i++) {
    rx.datagram(rtp(i), A, BigInt(i) * 5n * MS);
    rx.datagram(rtp(i, 0x9999), B, BigInt(i) * 5n * MS + 1n);
  }
  const c = rx.counters();
  assert.equal(c.sender, '127.0.0.1:40000');
  assert.equal(c.stream?.packets, 10);
  assert.deepEqual(c.others, [{ sender: '127.0.0.2:40000', ssrc: 0x9999, packets: 10 }]);
  assert.equal(rec.unwanted, 10);
  assert.equal(rec.warnings.filter((w) => w.includes('another sender')).length, 1);
  assert.equal(c.beforeOutput, 10, 'the output was never opened: every played packet arrived before it');
});

test('at most MAX_TRACKED other senders are tracked one by one; the rest are counted together', () => {
  const rx = new RtpReceiver({ spec: SPEC });
  rx.datagram(rtp(0), A, 0n);
  for (let i = 0; i < MAX_TRACKED + 20; i++) rx.datagram(rtp(1, 0x5000 + i), { address: '127.0.0.3', port: 41000 + i }, 1n);
  const c = rx.counters();
  assert.equal(c.others.length, MAX_TRACKED);
  assert.equal(c.dropped.untracked, 20);
});

test('the source filter (a=source-filter / --source) drops other addresses before parsing and counts them per address', () => {
  const rec = recorder();
  const rx = new RtpReceiver({ spec: { ...SPEC, sourceFilter: '127.0.0.1' } }, rec.events);
  rx.datagram(Buffer.from('not rtp at all'), B, 0n);
  rx.datagram(rtp(0, 0x7777), B, 1n);
  rx.datagram(rtp(0), { address: '::ffff:127.0.0.1', port: 40000 }, 2n); // IPv4 on an IPv6 socket
  const c = rx.counters();
  assert.equal(c.dropped.filtered, 2);
  assert.equal(c.dropped.malformed, 0, 'a filtered datagram is not even parsed');
  assert.deepEqual(c.filteredFrom, { '127.0.0.2': 2 });
  assert.equal(c.sender, '127.0.0.1:40000');
  assert.equal(rec.unwanted, 2);
});

test('malformed, RTCP-on-the-RTP-port and wrong payload type are counted as such', () => {
  const rec = recorder();
  const rx = new RtpReceiver({ spec: SPEC }, rec.events);
  rx.datagram(Buffer.alloc(5), A, 0n);
  rx.datagram(bye(1), A, 0n);
  rx.datagram(rtp(0, 0x1234, 97), A, 0n);
  assert.deepEqual(rx.counters().dropped, { malformed: 1, wrongPt: 1, filtered: 0, rtcp: 1, untracked: 0 });
  assert.equal(rec.unwanted, 3);
  assert.equal(rx.counters().sender, undefined, 'nothing was played');
});

test('a restart (same address, new SSRC after 250 ms of silence) is followed; a sender gone for 2 s is replaced, unless --source', () => {
  const rec = recorder();
  const rx = new RtpReceiver({ spec: SPEC }, rec.events);
  rx.datagram(rtp(0), A, 0n);
  rx.datagram(rtp(0, 0x2222), A, 100n * MS);
  assert.equal(rec.changed, 0, 'not silent long enough: another sender');
  rx.datagram(rtp(0, 0x2222), A, 400n * MS);
  assert.equal(rec.changed, 1);
  assert.equal(rx.lock?.ssrc, 0x2222);
  rx.datagram(rtp(0, 0x3333), B, 3000n * MS);
  assert.equal(rec.changed, 2, 'gone for 2.6 s: the other address is followed');
  assert.equal(rx.lock?.address, '127.0.0.2');

  const pinned = new RtpReceiver({ spec: SPEC, source: '127.0.0.1' });
  pinned.datagram(rtp(0), A, 0n);
  pinned.datagram(rtp(0, 0x3333), B, 3000n * MS);
  assert.equal(pinned.lock?.address, '127.0.0.1', '--source: never another address');
});

test('RTCP BYE from the played SSRC: true, the lock is marked; a BYE of another SSRC: false', () => {
  const rx = new RtpReceiver({ spec: SPEC });
  rx.datagram(rtp(0), A, 0n);
  assert.equal(rx.rtcp(bye(0x9999), A), false);
  assert.equal(rx.rtcp(bye(0x1234), A), true);
  assert.equal(rx.lock?.bye, true);
  // after a BYE the same address may restart at once
  rx.datagram(rtp(0, 0x4444), A, 1n * MS);
  assert.equal(rx.lock?.ssrc, 0x4444);
});

test('--port alone: the first packet gives the format; a dynamic payload type is fatal once', () => {
  let format: ReceiveSpec | undefined;
  const rx = new RtpReceiver({ formatOf: (pt) => ({ ...SPEC, payloadType: pt, codec: 'l16', clockRate: 44100 }) }, { format: (s) => (format = s) });
  const playerOf = (r: RtpReceiver) => r.player; // (a property narrowed by an assertion would stay narrowed)
  assert.equal(playerOf(rx), undefined);
  rx.datagram(rtp(0, 0x1234, 10), A, 0n);
  assert.equal(format?.payloadType, 10);
  assert.ok(playerOf(rx), 'the player exists once the format is known');
  assert.equal(playerOf(rx)!.stats().queued, 1, 'the first packet plays too');

  const errors: Error[] = [];
  const dyn = new RtpReceiver({ formatOf: () => { throw new Error('dynamic'); } }, { fatal: (e) => errors.push(e) });
  dyn.datagram(rtp(0), A, 0n);
  dyn.datagram(rtp(1), A, 5n * MS);
  assert.equal(errors.length, 1);
  rx.close();
  dyn.close();
});
