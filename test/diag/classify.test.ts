import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDatagram, pcmEvidence, rawPcmRateGuesses, snapRate } from '../../src/diag/classify';
import { parseRtp } from '../../src/rtp/parse';
import { RtpPacketizer } from '../../src/rtp/packetizer';
import { L16Encoder } from '../../src/codec/l16';
import { ToneGenerator } from '../../src/audio/tone';
import { buildGoodbye, buildSenderReport } from '../../src/rtp/rtcp';
import { mulberry32 } from '../support/prng';

/** Interleaved 16-bit PCM: one sine per channel (hz[c]), amplitude in LSB, from frame `start`. */
function pcm(frames: number, o: { rate?: number; hz?: number[]; amp?: number; be?: boolean; start?: number; phase?: number } = {}): Buffer {
  const rate = o.rate ?? 44100;
  const hz = o.hz ?? [440, 660];
  const amp = o.amp ?? 8000;
  const ch = hz.length;
  const b = Buffer.alloc(frames * ch * 2);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < ch; c++) {
      const v = Math.round(amp * Math.sin((2 * Math.PI * hz[c] * (f + (o.start ?? 0))) / rate + (o.phase ?? 0)));
      if (o.be) b.writeInt16BE(v, (f * ch + c) * 2);
      else b.writeInt16LE(v, (f * ch + c) * 2);
    }
  }
  return b;
}

test('the seed\'s datagrams: 4096 bytes of s16le 44.1 kHz stereo are raw PCM, little-endian, stereo', () => {
  for (let k = 0; k < 20; k++) {
    const buf = pcm(1024, { start: k * 1024 });
    const c = classifyDatagram(buf);
    assert.equal(c.kind, 'raw-pcm', JSON.stringify(c.detail));
    assert.ok(c.detail.kind === 'raw-pcm');
    assert.equal(c.detail.pcm.byteOrder, 's16le');
    assert.equal(c.detail.pcm.byteOrderBy, 'smoothness');
    assert.equal(c.detail.pcm.channels, 2);
    assert.equal(c.detail.pcm.identicalChannels, false);
  }
});

test('s16be tone is raw PCM, big-endian; mono is told from stereo; identical channels are seen', () => {
  const be = classifyDatagram(pcm(1024, { be: true }));
  assert.ok(be.detail.kind === 'raw-pcm');
  assert.equal(be.detail.pcm.byteOrder, 's16be');
  const mono = pcmEvidence(pcm(2048, { hz: [440] }));
  assert.equal(mono.channels, 1);
  assert.equal(mono.byteOrder, 's16le');
  const same = pcmEvidence(pcm(1024, { hz: [440, 440] }));
  assert.equal(same.identicalChannels, true);
  assert.equal(same.channels, 2);
  // a high tone (5 kHz at 44.1 kHz) is still audio-like
  assert.equal(pcmEvidence(pcm(1024, { hz: [5000, 5000] })).byteOrder, 's16le');
});

test('quiet noise-like audio: byte order from the byte statistics', () => {
  const r = mulberry32(7);
  const b = Buffer.alloc(4096);
  for (let i = 0; i < 2048; i++) b.writeInt16LE(Math.round((r() - 0.5) * 60), i * 2);
  const e = pcmEvidence(b);
  assert.equal(e.audioLike, true);
  assert.equal(e.byteOrder, 's16le');
  assert.equal(e.byteOrderBy, 'byte-statistics');
  const be = Buffer.alloc(4096);
  for (let i = 0; i < 2048; i++) be.writeInt16BE(b.readInt16LE(i * 2), i * 2);
  assert.equal(pcmEvidence(be).byteOrder, 's16be');
});

test('digital silence is raw PCM (silent), byte order unknown', () => {
  const c = classifyDatagram(Buffer.alloc(4096));
  assert.equal(c.kind, 'raw-pcm');
  assert.ok(c.detail.kind === 'raw-pcm' && c.detail.pcm.silent && c.detail.pcm.byteOrder === 'unknown');
});

test('random bytes are never raw PCM (unknown, or an RTP-looking header the caller must confirm)', () => {
  const r = mulberry32(42);
  const kinds: Record<string, number> = {};
  for (let k = 0; k < 500; k++) {
    const len = 2 * (16 + Math.floor(r() * 700));
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
    const c = classifyDatagram(b);
    kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
  }
  assert.equal(kinds['raw-pcm'] ?? 0, 0, JSON.stringify(kinds));
  assert.ok((kinds.unknown ?? 0) > 400, JSON.stringify(kinds));
  // odd lengths are not 16-bit PCM
  assert.equal(classifyDatagram(Buffer.alloc(101, 1)).kind, 'unknown');
});

test('real rtpcast packets (L16 tone, Opus-like payload) are RTP, with their header fields', () => {
  const enc = new L16Encoder();
  const tone = new ToneGenerator({ rate: 48000, channels: 2 }, 870);
  const p = new RtpPacketizer(96, { ssrc: 0x11223344, sequence: 65530, timestamp: 123 });
  for (let k = 0; k < 50; k++) {
    const pkt = p.packetize(enc.encode(tone.next(240)), 240);
    const c = classifyDatagram(pkt);
    assert.equal(c.kind, 'rtp', JSON.stringify(c.detail));
    assert.ok(c.detail.kind === 'rtp');
    assert.equal(c.detail.ssrc, 0x11223344);
    assert.equal(c.detail.payloadType, 96);
    assert.equal(c.detail.payloadBytes, 960);
  }
  const r = mulberry32(3);
  const op = new RtpPacketizer(96, { ssrc: 5, sequence: 1, timestamp: 0 });
  for (let k = 0; k < 50; k++) {
    const payload = Buffer.alloc(320);
    for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(r() * 256);
    payload[0] = 0xfc;
    assert.equal(classifyDatagram(op.packetize(payload, 960)).kind, 'rtp');
  }
  // L16 silence in RTP stays RTP
  assert.equal(classifyDatagram(new RtpPacketizer(10, { ssrc: 9, sequence: 1, timestamp: 0 }).packetize(Buffer.alloc(880), 220)).kind, 'rtp');
});

test('RTCP sender reports and BYE are RTCP', () => {
  const sr = buildSenderReport({ ssrc: 7, ntp: 1n << 32n, rtpTimestamp: 1, packetCount: 2, octetCount: 3, cname: 'x@y' });
  const c = classifyDatagram(sr);
  assert.equal(c.kind, 'rtcp');
  assert.ok(c.detail.kind === 'rtcp');
  assert.deepEqual(c.detail.types, [200, 202]);
  const bye = classifyDatagram(buildGoodbye({ ssrc: 7, ntp: 1n << 32n, rtpTimestamp: 1, packetCount: 2, octetCount: 3, cname: 'x@y' }));
  assert.ok(bye.detail.kind === 'rtcp' && bye.detail.byeSsrcs.includes(7));
});

test('raw PCM that happens to pass the RTP header checks is still raw PCM (its header continues the waveform)', () => {
  let found = 0;
  for (let ph = 0; ph < 20000 && found < 10; ph++) {
    const buf = pcm(1024, { phase: ph * 0.0007, amp: 12000 });
    const r = parseRtp(buf);
    if (!r.ok || r.packet.csrcs.length > 4) continue;
    found++;
    const c = classifyDatagram(buf);
    assert.equal(c.kind, 'raw-pcm', `phase ${ph}: ${JSON.stringify(c.detail)}`);
    assert.ok(c.detail.kind === 'raw-pcm' && c.detail.rtpLikeHeader);
  }
  assert.ok(found >= 3, `found only ${found} RTP-looking PCM buffers`);
});

test('rate guesses from bytes per second, and rate snapping', () => {
  assert.deepEqual(rawPcmRateGuesses(176400, 2), [{ rate: 44100, channels: 2 }]);
  const any = rawPcmRateGuesses(176400);
  assert.ok(any.some((g) => g.rate === 44100 && g.channels === 2) && any.some((g) => g.rate === 88200 && g.channels === 1));
  assert.deepEqual(rawPcmRateGuesses(192000 * 1.01, 2), [{ rate: 48000, channels: 2 }]);
  assert.equal(snapRate(47990), 48000);
  assert.equal(snapRate(44150), 44100);
  assert.equal(snapRate(30000), null);
});
