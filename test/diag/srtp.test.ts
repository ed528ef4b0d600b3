import { test } from 'node:test';
import assert from 'node:assert/strict';
import { srtcpShaped, SrtpSniffer, srtpFindings, type SrtpSnapshot } from '../../src/diag/srtp';
import { masterKeyFrom, SrtpProtector } from '../../src/rtp/srtp';
import { cryptoAttributeValue } from '../../src/sdp/crypto';
import type { Finding } from '../../src/diag/report';
import { lintSdp } from '../../src/diag/sdp';

const KEY = Buffer.alloc(30, 5);
const SR = Buffer.from('80c80006abcdef01' + '11'.repeat(20), 'hex');
const SDP = (crypto?: string) => `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/${crypto ? 'SAVP' : 'AVP'} 96\r\na=rtpmap:96 L16/48000/2\r\n${crypto ? `a=crypto:${crypto}\r\n` : ''}`;

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(12 + 40, 1);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(0x1234, 8);
  return b;
}

test('srtcpShaped: SRTCP yes; plain RTCP, RTP and short datagrams no', () => {
  const p = new SrtpProtector(masterKeyFrom(KEY));
  assert.equal(srtcpShaped(p.protectRtcp(SR)), true);
  assert.equal(srtcpShaped(SR), false);
  assert.equal(srtcpShaped(rtp(1)), false);
  assert.equal(srtcpShaped(Buffer.alloc(10)), false);
});

test('SrtpSniffer with the SDP key: authenticated, forged and replayed packets counted; without a key only SRTCP is seen', () => {
  const p = new SrtpProtector(masterKeyFrom(KEY));
  const s = new SrtpSniffer(SDP(cryptoAttributeValue(KEY)));
  const a = p.protectRtp(rtp(1));
  s.rtp(a);
  s.rtp(a);
  s.rtp(new SrtpProtector(masterKeyFrom(Buffer.alloc(30, 6))).protectRtp(rtp(2)));
  s.rtcp(p.protectRtcp(SR));
  s.rtcp(SR);
  assert.deepEqual(s.snapshot(), { keyed: true, sdpSaysSrtp: true, srtcpShaped: 1, rtpAuthenticated: 1, rtpAuthFailed: 1, rtpReplayed: 1, rtcpAuthenticated: 1 });
  const n = new SrtpSniffer();
  n.rtp(a);
  n.rtcp(p.protectRtcp(SR));
  assert.deepEqual(n.snapshot(), { keyed: false, sdpSaysSrtp: false, srtcpShaped: 1, rtpAuthenticated: 0, rtpAuthFailed: 0, rtpReplayed: 0, rtcpAuthenticated: 0 });
  assert.match(new SrtpSniffer(SDP('1 AES_CM_128_HMAC_SHA1_32 inline:' + KEY.toString('base64'))).snapshot().keyError ?? '', /not supported/);
});

const base: SrtpSnapshot = { keyed: false, sdpSaysSrtp: false, srtcpShaped: 0, rtpAuthenticated: 0, rtpAuthFailed: 0, rtpReplayed: 0, rtcpAuthenticated: 0 };
const plainRtcpFindings: Finding[] = [
  { id: 'packets.summary', severity: 'ok', title: 'x' },
  { id: 'packets.no-rtcp', severity: 'info', title: 'no RTCP sender reports arrived (port and port + 1)' },
  { id: 'packets.rtcp-port-other', severity: 'warn', title: '2 datagrams on port 5005 are not RTCP' },
];

test('srtpFindings: SRTCP explains "not RTCP on port + 1"; the stream is reported as SRTP', () => {
  const f = srtpFindings(plainRtcpFindings, { ...base, srtcpShaped: 2 }, { port: 5004, rtcpPortDatagrams: 2, rtcpPortValid: 0, rtpDatagrams: 500 });
  assert.deepEqual(f.map((x) => x.id), ['packets.summary', 'packets.srtp-detected']);
  assert.match(f[1].title, /^the stream is SRTP: its RTCP on port 5005 is SRTCP/);
  // more non-RTCP than SRTCP: the warnings stay
  const g = srtpFindings(plainRtcpFindings, { ...base, srtcpShaped: 1 }, { port: 5004, rtcpPortDatagrams: 3, rtcpPortValid: 0, rtpDatagrams: 500 });
  assert.ok(g.some((x) => x.id === 'packets.rtcp-port-other'));
});

test('srtpFindings: nothing on the RTP port but SRTCP on port + 1 is a problem, not "the sender sends to port + 1"', () => {
  const silence: Finding[] = [
    { id: 'packets.none', severity: 'problem', title: 'no datagrams arrived on UDP port 5004 in 5.0 s' },
    { id: 'packets.wrong-port', severity: 'problem', title: 'traffic arrives on port 5005 instead (1 datagrams that are not RTCP, from 10.0.0.1:4000)' },
  ];
  const f = srtpFindings(silence, { ...base, srtcpShaped: 1 }, { port: 5004, rtcpPortDatagrams: 1, rtcpPortValid: 0, rtpDatagrams: 0 });
  assert.deepEqual(f.map((x) => [x.id, x.severity]), [['packets.none', 'problem'], ['packets.srtp-detected', 'problem']]);
  assert.match(f[1].title, /SRTCP arrives on port 5005 \(1 packets\) but no SRTP on 5004/);
});

test('srtpFindings with a key: ok, wrong key, forged packets next to the stream', () => {
  const ok = srtpFindings([], { ...base, keyed: true, rtpAuthenticated: 100, rtcpAuthenticated: 1 }, { port: 5004, rtcpPortDatagrams: 1, rtcpPortValid: 0, rtpDatagrams: 100 });
  assert.deepEqual(ok.map((x) => [x.id, x.severity]), [['packets.srtp', 'ok']]);
  const wrong = srtpFindings([], { ...base, keyed: true, rtpAuthFailed: 100 }, { port: 5004, rtcpPortDatagrams: 0, rtcpPortValid: 0, rtpDatagrams: 100 });
  assert.deepEqual(wrong.map((x) => [x.id, x.severity]), [['packets.srtp-wrong-key', 'problem']]);
  assert.match(wrong[0].title, /wrong key\?$/);
  const forged = srtpFindings([], { ...base, keyed: true, rtpAuthenticated: 100, rtpAuthFailed: 3, rtpReplayed: 2 }, { port: 5004, rtcpPortDatagrams: 0, rtcpPortValid: 0, rtpDatagrams: 105 });
  assert.deepEqual(forged.map((x) => [x.id, x.severity]), [['packets.srtp', 'ok'], ['packets.srtp-forged', 'warn'], ['packets.srtp-replayed', 'info']]);
});

test('diag sdp: an SDP with a=crypto is played with commands that allow srtp (and no GStreamer/VLC command without the key)', () => {
  const r = lintSdp(SDP(cryptoAttributeValue(KEY)), { name: 'k.sdp' });
  const cmds = (r.data as { commands: { player: string; command: string }[] }).commands;
  assert.deepEqual(cmds.map((c) => c.player), ['rtpcast', 'ffplay', 'ffmpeg']);
  assert.ok(cmds.every((c) => c.player === 'rtpcast' || c.command.includes('-protocol_whitelist file,udp,rtp,srtp')));
  assert.ok(!JSON.stringify(cmds).includes(KEY.toString('base64')));
});
