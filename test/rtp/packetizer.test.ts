import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpPacketizer, randomStartState } from '../../src/rtp/packetizer';
import { L16Encoder } from '../../src/codec/l16';
import { OpusEncoder } from '../../src/codec/opus';

test('L16 packet: header and big-endian payload, byte for byte', () => {
  // PT 10, seq 0xfffe, ts 0xfffffff0, SSRC 0x11223344; 2 stereo frames: (0.5, -0.5), (1.0, -1.0)
  const p = new RtpPacketizer(10, { ssrc: 0x11223344, sequence: 0xfffe, timestamp: 0xfffffff0 });
  const payload = new L16Encoder().encode(Float32Array.from([0.5, -0.5, 1.0, -1.0]));
  const first = p.packetize(payload, 2);
  // V=2 P=0 X=0 CC=0 -> 0x80; M=1 PT=10 -> 0x8a; seq fffe; ts fffffff0; ssrc; 4000 c000 7fff 8000
  assert.equal(first.toString('hex'), '808afffefffffff0112233444000c0007fff8000');
  const second = p.packetize(payload, 2);
  // marker cleared, sequence +1, timestamp +2 (frames per packet)
  assert.equal(second.subarray(0, 12).toString('hex'), '800affff' + 'fffffff2' + '11223344');
  const third = p.packetize(payload, 2);
  // both wrap: sequence 0xffff -> 0x0000, timestamp 0xfffffff4 -> ... no wrap yet
  assert.equal(third.subarray(0, 12).toString('hex'), '800a0000' + 'fffffff4' + '11223344');
  assert.equal(p.packets, 3);
  assert.equal(p.octets, 24);
});

test('timestamp wraps at 2^32 and the marker returns after a discontinuity', () => {
  const p = new RtpPacketizer(96, { ssrc: 1, sequence: 0, timestamp: 0xffffff00 });
  p.packetize(Buffer.alloc(4), 0x100);
  const b = p.packetize(Buffer.alloc(4), 0x100);
  assert.equal(b.readUInt32BE(4), 0);
  assert.equal(b[1] & 0x80, 0);
  p.markDiscontinuity();
  const c = p.packetize(Buffer.alloc(4), 0x100);
  assert.equal(c[1], 0x80 | 96);
  assert.equal(c.readUInt32BE(4), 0x100);
});

test('L16 clips and rounds like a 16-bit converter', () => {
  const b = new L16Encoder().encode(Float32Array.from([2, -2, 1 / 32768, -0.49 / 32768]));
  assert.deepEqual([...b], [0x7f, 0xff, 0x80, 0x00, 0x00, 0x01, 0x00, 0x00]);
});

test('Opus packet: RTP header and a payload whose TOC says 20 ms CELT fullband, stereo bit as configured', () => {
  for (const channels of [1, 2]) {
    const enc = new OpusEncoder({ channels, bitrate: 128000, fec: true });
    const p = new RtpPacketizer(96, { ssrc: 0xdeadbeef, sequence: 7, timestamp: 1000 });
    const frame = new Float32Array(960 * channels);
    for (let i = 0; i < 960; i++) for (let c = 0; c < channels; c++) frame[i * channels + c] = 0.3 * Math.sin((2 * Math.PI * 630 * i) / 48000);
    const pkt = p.packetize(enc.encode(frame), 960);
    assert.equal(pkt.subarray(0, 12).toString('hex'), '80e00007000003e8deadbeef');
    const toc = pkt[12];
    // RFC 6716 3.1: config = toc >> 3 (31 = CELT FB 20 ms), s = bit 2, c = frames code (0 = one frame)
    assert.equal(toc >> 3, 31, `TOC config ${toc >> 3}`);
    assert.equal((toc >> 2) & 1, channels === 2 ? 1 : 0);
    assert.equal(toc & 3, 0);
    const next = p.packetize(enc.encode(frame), 960);
    assert.equal(next.readUInt32BE(4), 1960);
    assert.equal(next.readUInt16BE(2), 8);
  }
});

test('random start state uses all the random bytes it is given', () => {
  const s = randomStartState(() => Buffer.from('0102030405060708090a', 'hex'));
  assert.deepEqual(s, { ssrc: 0x01020304, sequence: 0x0506, timestamp: 0x0708090a });
  const a = randomStartState();
  const b = randomStartState();
  assert.notDeepEqual(a, b);
});
