import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSdp } from '../../src/sdp/build';
import { parseSdpStream, SdpError } from '../../src/sdp/parse';
import { describeStream } from '../../src/stream/description';
import type { Destination } from '../../src/transport/destination';

const uni: Destination = { host: '192.168.1.20', address: '192.168.1.20', family: 4, port: 5004, multicast: false };
const ctx = { originAddress: '192.168.1.10', sessionId: 305419896, tool: 'rtpcast' };

function sdp(opts: Parameters<typeof describeStream>[0], dest = uni): string {
  return buildSdp(describeStream(opts, [dest]), dest, ctx);
}

const head = (c = 'c=IN IP4 192.168.1.20') => `v=0\r\no=- 305419896 305419896 IN IP4 192.168.1.10\r\ns=rtpcast\r\n${c}\r\nt=0 0\r\na=tool:rtpcast\r\n`;

test('L16 44.1 kHz stereo: static PT 10, rtpmap written anyway', () => {
  assert.equal(sdp({ codec: 'l16', rate: 44100, channels: 2 }), head() + 'm=audio 5004 RTP/AVP 10\r\na=rtpmap:10 L16/44100/2\r\na=ptime:5\r\na=recvonly\r\n');
});

test('L16 44.1 kHz mono: static PT 11', () => {
  assert.equal(sdp({ codec: 'l16', rate: 44100, channels: 1 }), head() + 'm=audio 5004 RTP/AVP 11\r\na=rtpmap:11 L16/44100/1\r\na=ptime:5\r\na=recvonly\r\n');
});

test('L16 48 kHz stereo: dynamic PT 96 with its rtpmap; 5 ms packets', () => {
  assert.equal(sdp({ codec: 'l16', rate: 48000, channels: 2 }), head() + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/48000/2\r\na=ptime:5\r\na=recvonly\r\n');
});

test('L16 48 kHz mono and 96 kHz stereo', () => {
  assert.equal(sdp({ codec: 'l16', rate: 48000, channels: 1 }), head() + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/48000/1\r\na=ptime:5\r\na=recvonly\r\n');
  // 96 kHz stereo = 384 bytes/ms: 5 ms would be 1920 bytes, so the default packet is 3.7 ms
  assert.equal(sdp({ codec: 'l16', rate: 96000, channels: 2 }), head() + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/96000/2\r\na=ptime:3.7\r\na=recvonly\r\n');
});

test('Opus stereo: opus/48000/2, stereo in fmtp, FEC signalled', () => {
  assert.equal(sdp({ codec: 'opus', channels: 2 }), head() + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1; sprop-stereo=1; useinbandfec=1\r\na=ptime:20\r\na=recvonly\r\n');
});

test('Opus mono: still opus/48000/2 (RFC 7587), stereo=0; FEC off when asked', () => {
  assert.equal(sdp({ codec: 'opus', channels: 1, fec: false }), head() + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=0; sprop-stereo=0; useinbandfec=0\r\na=ptime:20\r\na=recvonly\r\n');
});

test('IPv4 multicast carries the TTL in c=; IPv6 uses IP6 and no TTL', () => {
  const mc: Destination = { host: '239.1.2.3', address: '239.1.2.3', family: 4, port: 5004, multicast: true };
  assert.ok(sdp({ codec: 'l16', rate: 44100, ttl: 4 }, mc).includes('\r\nc=IN IP4 239.1.2.3/4\r\n'));
  const v6: Destination = { host: '::1', address: '::1', family: 6, port: 6000, multicast: false };
  const text = buildSdp(describeStream({ codec: 'opus' }, [v6]), v6, { ...ctx, originAddress: '::1' });
  assert.ok(text.includes('o=- 305419896 305419896 IN IP6 ::1\r\n'));
  assert.ok(text.includes('c=IN IP6 ::1\r\n'));
  assert.ok(text.includes('m=audio 6000 RTP/AVP 96\r\n'));
});

test('what we write parses back to the same stream', () => {
  for (const o of [{ codec: 'l16', rate: 44100, channels: 2 }, { codec: 'l16', rate: 48000, channels: 1 }, { codec: 'opus', channels: 2 }, { codec: 'opus', channels: 1 }]) {
    const d = describeStream(o, [uni]);
    const p = parseSdpStream(buildSdp(d, uni, ctx));
    assert.equal(p.payloadType, d.payloadType);
    assert.equal(p.clockRate, d.clockRate);
    assert.equal(p.channels, d.channels);
    assert.equal(p.port, 5004);
    assert.equal(p.address, '192.168.1.20');
    assert.equal(p.encoding.toLowerCase(), d.codec);
  }
});

test('parse errors name the line and the rule', () => {
  assert.throws(() => parseSdpStream('v=0\r\ns=x\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5004 RTP/AVP 97\r\n'), (e: unknown) => e instanceof SdpError && e.line === 5 && /no a=rtpmap/.test(e.message) && /RFC 3551/.test(e.rule ?? ''));
  assert.throws(() => parseSdpStream('hello'), /line 1: an SDP starts with "v=0"/);
  // a static payload type needs no rtpmap
  assert.equal(parseSdpStream('v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5004 RTP/AVP 10\r\n').clockRate, 44100);
});

test('a=tool: the tool option is written after t= (before m=), rtpcast by default, one line', () => {
  const d = describeStream({ codec: 'opus' }, [uni]);
  const mine = buildSdp(d, uni, { ...ctx, tool: 'rtpcast 1.2.3' });
  assert.ok(mine.includes('\r\nt=0 0\r\na=tool:rtpcast 1.2.3\r\nm=audio 5004 '), mine);
  const dflt = buildSdp(d, uni, { originAddress: '192.168.1.10', sessionId: 1 });
  assert.ok(dflt.includes('\r\na=tool:rtpcast\r\nm=audio '), dflt);
  const evil = buildSdp(d, uni, { ...ctx, tool: 'x\r\nm=video 1 RTP/AVP 0' });
  assert.equal(evil.split('\r\n').filter((l) => l.startsWith('m=')).length, 1, evil);
  assert.equal(evil.split('\r\n').filter((l) => l.startsWith('a=tool:')).length, 1, evil);
});
