import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeFormat, checkL16BytesPerSecond, checkOpus, claimFromSdp, FormatSampler, formatReport, type FormatClaim, type FormatObservation,
} from '../../src/diag/format';
import { PacketCounter } from '../../src/diag/counter';
import { playbackSpeed } from '../../src/diag/wording';
import type { Finding } from '../../src/diag/report';

const L16_44K_STEREO: FormatClaim = { encoding: 'L16', clockRate: 44100, channels: 2, payloadType: 96, from: 'sdp' };
const L16_48K_STEREO: FormatClaim = { encoding: 'L16', clockRate: 48000, channels: 2, payloadType: 96, from: 'sdp' };

/** `frames` frames of interleaved 16-bit tone, left 870 Hz, right 1030 Hz (or the same when mono-ish). */
function tone(frames: number, o: { rate: number; channels: 1 | 2; le?: boolean; identical?: boolean; start?: number }): Buffer {
  const b = Buffer.alloc(frames * o.channels * 2);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < o.channels; c++) {
      const hz = c === 0 || o.identical ? 870 : 1030;
      const v = Math.round(9000 * Math.sin((2 * Math.PI * hz * (f + (o.start ?? 0))) / o.rate));
      const at = (f * o.channels + c) * 2;
      if (o.le) b.writeInt16LE(v, at);
      else b.writeInt16BE(v, at);
    }
  }
  return b;
}

function obs(o: Partial<FormatObservation>): FormatObservation {
  return { sender: '127.0.0.1:4000', ssrc: 0x1234, payloadType: 96, packets: 600, durationSec: 3, tsRateHz: 48000, payloadBytesPerSec: 192000, tsStep: 240, payloadBytes: 960, samples: tone(4800, { rate: 48000, channels: 2 }), opus: null, ...o };
}

function brief(f: Finding[]): [string, string, string][] {
  return f.map((x) => [x.id, x.severity, x.title]);
}

test('48 kHz L16 labelled 44.1 kHz: "plays 8.8% slow", everything else consistent', () => {
  const a = analyzeFormat(obs({}), L16_44K_STEREO);
  assert.deepEqual(brief(a.findings), [
    ['format.stream', 'ok', '127.0.0.1:4000 SSRC 0x00001234 PT 96: 600 packets in 3.0 s'],
    ['format.rate', 'problem', 'the sender is 48000 Hz, the receiver assumes 44100: audio will play 8.8% slow (lower in pitch; the receiver\'s buffer overflows and it drops or resyncs)'],
    ['format.channels', 'ok', '2 channel(s) confirmed: 960 bytes per 240 timestamp ticks'],
    ['format.byte-order', 'ok', 'byte order: big-endian, as L16 requires'],
  ]);
  const rate = a.findings[1];
  assert.match(rate.detail!, /payload 192\.0 kB\/s = 48000 Hz x 2 channel\(s\) x 2 bytes/);
  assert.match(rate.fix!, /L16\/48000/);
  // the opposite direction
  assert.match(analyzeFormat(obs({ tsRateHz: 44100, payloadBytesPerSec: 176400, tsStep: 220, payloadBytes: 880 }), L16_48K_STEREO).findings[1].title, /^the sender is 44100 Hz, the receiver assumes 48000: audio will play 8\.8% fast/);
  assert.equal(playbackSpeed(48000, 44100).pct.toFixed(2), '8.84');
});

test('little-endian PCM labelled L16: "players will play loud noise"', () => {
  const a = analyzeFormat(obs({ samples: tone(4800, { rate: 48000, channels: 2, le: true }) }), L16_48K_STEREO);
  assert.deepEqual(brief(a.findings), [
    ['format.stream', 'ok', '127.0.0.1:4000 SSRC 0x00001234 PT 96: 600 packets in 3.0 s'],
    ['format.rate', 'ok', 'sample rate 48000 Hz confirmed: timestamps advance 48000 per second; payload 192.0 kB/s = 48000 Hz x 2 channel(s) x 2 bytes'],
    ['format.channels', 'ok', '2 channel(s) confirmed: 960 bytes per 240 timestamp ticks'],
    ['format.byte-order', 'problem', 'the payload is little-endian PCM labelled L16 (L16 is big-endian): players will play loud noise'],
  ]);
  assert.equal(a.data.measured.byteOrder, 's16le');
});

test('mono labelled stereo: by bytes per tick (plays at double speed) and by identical channels', () => {
  // mono payload (480 bytes per 240 ticks) in a stream the SDP calls stereo
  const a = analyzeFormat(obs({ payloadBytesPerSec: 96000, payloadBytes: 480, samples: tone(9600, { rate: 48000, channels: 1 }) }), L16_48K_STEREO);
  assert.deepEqual(brief(a.findings).slice(1, 3), [
    ['format.rate', 'ok', 'sample rate 48000 Hz confirmed: timestamps advance 48000 per second; payload 96.0 kB/s = 24000 Hz x 2 channel(s) x 2 bytes'],
    ['format.channels', 'problem', 'the stream is mono labelled stereo: it plays at double speed (each pair of samples becomes one frame; the buffer runs dry: gaps)'],
  ]);
  assert.ok(!a.findings.some((f) => f.id === 'format.bytes-per-second'), 'explained by the channel finding');
  assert.equal(a.data.measured.channelsPerTick, 1);
  // stereo with both channels identical
  const b = analyzeFormat(obs({ samples: tone(4800, { rate: 48000, channels: 2, identical: true }) }), L16_48K_STEREO);
  assert.deepEqual(brief(b.findings).slice(3), [
    ['format.byte-order', 'ok', 'byte order: big-endian, as L16 requires'],
    ['format.mono-as-stereo', 'warn', 'both channels are identical: the stream is mono labelled stereo'],
  ]);
  // stereo labelled mono
  const c = analyzeFormat(obs({}), { ...L16_48K_STEREO, channels: 1 });
  assert.equal(c.findings.find((f) => f.id === 'format.channels')!.title, 'the stream is stereo labelled mono: it plays at half speed (the buffer overflows)');
});

test('payload bytes per second that disagree with consistent timestamps', () => {
  // timestamps say 44100 and 2 channels per tick, but 192000 bytes/s arrive (the sender stamps 44.1k, samples 48k)
  const r = checkL16BytesPerSecond(192000, L16_44K_STEREO);
  assert.equal(r.finding!.id, 'format.bytes-per-second');
  assert.equal(r.finding!.title, 'the payload carries 192.0 kB/s, 44100 Hz x 2 x 2 bytes would be 176.4 kB/s: audio will play 8.8% slow (lower in pitch; the receiver\'s buffer overflows and it drops or resyncs)');
  assert.equal(checkL16BytesPerSecond(176000, L16_44K_STEREO).finding, null);
  const a = analyzeFormat(obs({ tsRateHz: 44100, tsStep: 220, payloadBytes: 880, payloadBytesPerSec: 192000 }), L16_44K_STEREO);
  assert.ok(a.findings.some((f) => f.id === 'format.bytes-per-second' && f.severity === 'problem'));
});

test('Opus: RTP clock 48000, TOC stereo flag vs the SDP, TOC durations vs timestamps; payload type mismatch', () => {
  const claim = claimFromSdp('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 opus/48000/2\r\na=fmtp:97 stereo=1; sprop-stereo=1\r\n');
  assert.deepEqual(claim, { encoding: 'opus', clockRate: 48000, channels: 2, payloadType: 97, from: 'sdp' });
  const a = analyzeFormat(obs({ payloadType: 96, tsStep: 960, payloadBytes: 320, samples: null, opus: { packets: 150, stereo: 0, mono: 150, durationMatches: 149, pairs: 149 } }), claim);
  assert.deepEqual(brief(a.findings).slice(1).map((x) => [x[0], x[1]]), [
    ['format.payload-type', 'problem'],
    ['format.rate', 'ok'],
    ['format.opus-channels', 'info'],
  ]);
  assert.equal(a.findings[1].title, 'the sender uses payload type 96, the SDP expects 97: receivers drop every packet');
  assert.deepEqual(checkOpus({ packets: 10, stereo: 10, mono: 0, durationMatches: 1, pairs: 9 }, { ...claim, clockRate: 44100 }).map((f) => f.id), ['format.opus-clock', 'format.codec', 'format.opus-channels']);
});

test('no claim for a dynamic payload type: could not check (exit code 2)', () => {
  const a = analyzeFormat(obs({}), null);
  assert.deepEqual(a.findings.map((f) => [f.id, f.severity]), [['format.stream', 'ok'], ['format.no-claim', 'unknown']]);
});

test('end to end on synthetic packets: PacketCounter + FormatSampler + formatReport find 48 kHz under a 44.1 kHz SDP', () => {
  const claim = L16_44K_STEREO;
  const counter = new PacketCounter({ payloadTypes: { 96: { encoding: 'L16', clockRate: 44100, channels: 2 } } });
  const sampler = new FormatSampler();
  const from = { address: '127.0.0.1', port: 41000 };
  for (let i = 0; i < 700; i++) {
    const payload = tone(240, { rate: 48000, channels: 2, start: i * 240 });
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80; b[1] = 96; b.writeUInt16BE(i, 2); b.writeUInt32BE(i * 240, 4); b.writeUInt32BE(0xfeed, 8);
    payload.copy(b, 12);
    const at = 1_000_000_000n + BigInt(i) * 5_000_000n;
    counter.add(b, from, at);
    sampler.add(b, from);
  }
  const r = formatReport(counter.snapshot({ finish: true }), sampler, claim, 5004);
  assert.deepEqual(r.findings.map((f) => [f.id, f.severity]), [
    ['format.stream', 'ok'], ['format.rate', 'problem'], ['format.channels', 'ok'], ['format.byte-order', 'ok'],
  ]);
  assert.match(r.conclusion!, /^the sender is 48000 Hz, the receiver assumes 44100: audio will play 8\.8% slow/);
});
