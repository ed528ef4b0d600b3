import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketCounter, packetFindings, packetTable, silenceFindings } from '../../src/diag/packets';
import { opusTocSamples, readRtpHeader, RTP_HEADER_ERRORS, type RtpHeaderFields } from '../../src/diag/counter';
import { recommendLatency } from '../../src/diag/jitter';
import { defaultRecvBuffer, nearbyPorts, parseProcNetIgmp, parseProcNetUdpDrops } from '../../src/diag/listen';
import { parseRtp } from '../../src/rtp/parse';
import { opusPacketSamples } from '../../src/codec/opus-wasm';
import { RtpStreamStats, type StreamStats } from '../../src/rtp/stats';
import { buildBye, buildSenderReport } from '../../src/rtp/rtcp';
import { mulberry32 } from '../support/prng';
import type { Finding } from '../../src/diag/report';

const MS = 1_000_000n;
const T0 = 5_000_000_000n;
const A = { address: '192.0.2.10', port: 40000 };
const B = { address: '192.0.2.20', port: 40002 };

function rtp(o: { seq: number; ts: number; ssrc: number; pt: number; payload: Buffer | number; marker?: boolean }): Buffer {
  const payload = typeof o.payload === 'number' ? Buffer.alloc(o.payload, 0x11) : o.payload;
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = (o.marker ? 0x80 : 0) | o.pt;
  b.writeUInt16BE(o.seq & 0xffff, 2);
  b.writeUInt32BE(o.ts >>> 0, 4);
  b.writeUInt32BE(o.ssrc >>> 0, 8);
  payload.copy(b, 12);
  return b;
}

function ids(f: Finding[]): string[] {
  return f.map((x) => x.id);
}

test('readRtpHeader validates exactly like parseRtp (valid, mutated and random datagrams)', () => {
  const r = mulberry32(11);
  const h: RtpHeaderFields = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadBytes: 0 };
  const bufs: Buffer[] = [];
  for (let k = 0; k < 3000; k++) {
    const base = rtp({ seq: k, ts: k * 960, ssrc: 0xabcdef01, pt: 96, payload: 1 + Math.floor(r() * 60), marker: k % 7 === 0 });
    bufs.push(base);
    const m = Buffer.from(base);
    // flip header bits: version, padding, extension, CSRC count, RTCP types, the last (padding) byte
    m[0] = Math.floor(r() * 256);
    if (r() < 0.3) m[1] = 195 + Math.floor(r() * 15);
    if (r() < 0.5) m[m.length - 1] = Math.floor(r() * 80);
    if (r() < 0.3 && m.length > 16) { m[12] = 0xbe; m[13] = 0xde; m[14] = 0; m[15] = Math.floor(r() * 20); }
    bufs.push(m);
    const rnd = Buffer.alloc(Math.floor(r() * 80));
    for (let i = 0; i < rnd.length; i++) rnd[i] = Math.floor(r() * 256);
    bufs.push(rnd);
  }
  const seen = new Set<string>();
  for (const b of bufs) {
    const p = parseRtp(b);
    const e = readRtpHeader(b, h);
    if (p.ok) {
      assert.equal(e, -1);
      assert.deepEqual(
        { m: h.marker, pt: h.payloadType, seq: h.sequence, ts: h.timestamp, ssrc: h.ssrc, off: h.payloadOffset, n: h.payloadBytes },
        { m: p.packet.marker, pt: p.packet.payloadType, seq: p.packet.sequence, ts: p.packet.timestamp, ssrc: p.packet.ssrc, off: p.packet.payload.byteOffset - b.byteOffset, n: p.packet.payload.length },
      );
      seen.add('ok');
    } else {
      assert.equal(RTP_HEADER_ERRORS[e], p.error, b.toString('hex'));
      seen.add(p.error);
    }
  }
  assert.equal(seen.size, 8, [...seen].join(','));
});

test('opusTocSamples agrees with opusPacketSamples for every TOC', () => {
  for (let toc = 0; toc < 256; toc++) {
    for (const next of [0, 1, 2, 3, 0x3f, 0x41, 0x80, 0xff]) {
      for (const len of [1, 2, 10]) {
        const p = Buffer.alloc(len);
        p[0] = toc;
        if (len > 1) p[1] = next;
        assert.equal(opusTocSamples(toc, next, len), opusPacketSamples(p), `toc ${toc} next ${next} len ${len}`);
      }
    }
  }
});

test('clean L16 PT 10 stream: every packet counted, codec from the static type, rate measured', () => {
  const c = new PacketCounter();
  // 220 frames every 220/44100 s (4.99 ms)
  for (let i = 0; i < 400; i++) c.add(rtp({ seq: 65500 + i, ts: 1000 + i * 220, ssrc: 1, pt: 10, payload: 880 }), A, T0 + BigInt(Math.round((i * 220 * 1e9) / 44100)));
  const s = c.snapshot({ finish: true });
  assert.equal(s.datagrams, 400);
  assert.equal(s.streams.length, 1);
  const st = s.streams[0];
  assert.deepEqual(st.codec, { encoding: 'L16', clockRate: 44100, channels: 2, how: 'static payload type' });
  assert.equal(st.stats.packets, 400);
  assert.equal(st.stats.expected, 400);
  assert.equal(st.stats.lost, 0);
  assert.equal(st.stats.cycles, 1);
  assert.ok(Math.abs(st.estimatedRateHz! - 44100) < 1, String(st.estimatedRateHz));
  assert.ok(Math.abs(st.packetMs! - 220 / 44.1) < 1e-9);
  assert.ok(st.delaySpreadMs! <= 0.5, String(st.delaySpreadMs)); // 0.5 ms histogram bins
  assert.equal(s.senders[0].kind, 'rtp');
  assert.equal(s.senders[0].rtp, 400);
});

test('loss, duplicates and reordering are counted like RFC 3550 A.3 (via RtpStreamStats)', () => {
  const c = new PacketCounter();
  const order: number[] = [];
  for (let i = 0; i < 200; i++) {
    if (i === 10 || i === 20 || i === 21) continue;
    if (i === 40) { order.push(41, 40); continue; }
    if (i === 41) continue;
    order.push(i);
    if (i === 30) order.push(30);
  }
  order.forEach((i, k) => c.add(rtp({ seq: i, ts: i * 960, ssrc: 0x5eed, pt: 0, payload: 160 }), A, T0 + BigInt(k) * 20n * MS));
  const st = c.snapshot({ finish: true }).streams[0];
  assert.equal(st.stats.expected, 200);
  assert.equal(st.stats.packets, 198); // 197 distinct + 1 duplicate
  assert.equal(st.stats.lost, 2); // A.3: 3 lost, minus the duplicate
  assert.equal(st.stats.duplicates, 1);
  assert.equal(st.stats.reordered, 1);
  assert.equal(st.codec.encoding, 'PCMU');
  // an independent RtpStreamStats fed the same arrivals gives the same numbers (one implementation)
  const ref = new RtpStreamStats(8000);
  order.forEach((i, k) => ref.update({ arrivalNs: T0 + BigInt(k) * 20n * MS, sequence: i, timestamp: i * 960, ssrc: 0x5eed, payloadType: 0, marker: false, payloadBytes: 160 }));
  const r = ref.snapshot();
  assert.deepEqual([st.stats.jitterTs, st.stats.lost, st.stats.maxSkewMs], [r.jitterTs, r.lost, r.maxSkewMs]);
  const f = packetFindings(c.snapshot(), { port: 5004, durationSec: 4 });
  assert.ok(ids(f).includes('packets.duplicates') && ids(f).includes('packets.reordered') && ids(f).includes('packets.loss'));
  assert.equal(f.find((x) => x.id === 'packets.loss')!.severity, 'warn');
});

test('two SSRCs from two senders; a dynamic-PT L16 stream and an Opus stream are recognised after the probe', () => {
  const c = new PacketCounter();
  const opus = Buffer.alloc(200, 0x55);
  opus[0] = 0xfc; // CELT FB 20 ms stereo, one frame
  for (let i = 0; i < 150; i++) {
    const t = T0 + BigInt(i) * 20n * MS;
    c.add(rtp({ seq: 100 + i, ts: i * 960, ssrc: 0xaaaa, pt: 96, payload: opus }), A, t);
    for (let j = 0; j < 4; j++) c.add(rtp({ seq: 7 + i * 4 + j, ts: 77 + (i * 4 + j) * 240, ssrc: 0xbbbb, pt: 97, payload: 960 }), B, t + BigInt(j) * 5n * MS);
  }
  const s = c.snapshot({ finish: true });
  assert.equal(s.streams.length, 2);
  const a = s.streams.find((x) => x.ssrc === 0xaaaa)!;
  const b = s.streams.find((x) => x.ssrc === 0xbbbb)!;
  assert.equal(a.sender, '192.0.2.10:40000');
  assert.deepEqual(a.codec, { encoding: 'opus', clockRate: 48000, channels: null, how: 'Opus TOC' });
  assert.equal(a.stats.packets, 150);
  assert.equal(b.sender, '192.0.2.20:40002');
  assert.deepEqual(b.codec, { encoding: 'L16', clockRate: 48000, channels: 2, how: 'L16 by payload size and rate' });
  assert.equal(b.stats.packets, 600);
  assert.equal(b.stats.lost, 0);
  assert.ok(Math.abs(b.packetMs! - 5) < 1e-9);
  const f = packetFindings(s, { port: 5004, durationSec: 3 });
  assert.ok(ids(f).includes('packets.several-streams'));
  const table = packetTable(s);
  assert.equal(table.rows.length, 2);
  assert.match(table.rows.map((r) => r.join(' ')).join('\n'), /0x0000aaaa 96 opus\/48000/);
});

test('an SDP clock rate overrides guessing; a static type sent at the wrong rate is a rate mismatch', () => {
  const c = new PacketCounter({ payloadTypes: { 96: { encoding: 'L16', clockRate: 44100, channels: 2 } } });
  // 48 kHz L16: 240 ticks every 5 ms, for 3 s
  for (let i = 0; i < 600; i++) c.add(rtp({ seq: i, ts: i * 240, ssrc: 9, pt: 96, payload: 960 }), A, T0 + BigInt(i) * 5n * MS);
  const st = c.snapshot({ finish: true }).streams[0];
  assert.equal(st.codec.how, 'sdp');
  assert.ok(Math.abs(st.estimatedRateHz! - 48000) < 5, String(st.estimatedRateHz));
  const f = packetFindings(c.snapshot(), { port: 5004, durationSec: 3 });
  const m = f.find((x) => x.id === 'packets.rate-mismatch');
  assert.ok(m, JSON.stringify(ids(f)));
  assert.equal(m.severity, 'problem');
  assert.match(m.title, /the sender is 48000 Hz, the receiver assumes 44100: audio will play 8\.8% slow/);
});

test('raw PCM like the seed\'s script: named, with its format, and the fix is rtpcast send', () => {
  const c = new PacketCounter();
  const frames = 1024;
  const periodNs = BigInt(Math.round((frames / 44100) * 1e9));
  for (let k = 0; k < 200; k++) {
    const b = Buffer.alloc(4096);
    for (let f = 0; f < frames; f++) {
      b.writeInt16LE(Math.round(9000 * Math.sin((2 * Math.PI * 440 * (k * frames + f)) / 44100)), f * 4);
      b.writeInt16LE(Math.round(7000 * Math.sin((2 * Math.PI * 550 * (k * frames + f)) / 44100)), f * 4 + 2);
    }
    c.add(b, A, T0 + BigInt(k) * periodNs);
  }
  const s = c.snapshot({ finish: true });
  assert.equal(s.streams.length, 0, JSON.stringify(s.streams.map((x) => x.ssrcHex)));
  const sd = s.senders[0];
  assert.equal(sd.kind, 'raw-pcm');
  assert.equal(sd.rawPcm!.byteOrder, 's16le');
  assert.equal(sd.rawPcm!.channels, 2);
  assert.ok(Math.abs(sd.rawPcm!.bytesPerSec! - 176400) < 200, String(sd.rawPcm!.bytesPerSec));
  assert.deepEqual(sd.rawPcm!.rateGuesses, [{ rate: 44100, channels: 2 }]);
  const f = packetFindings(s, { port: 50500, durationSec: 5 });
  const raw = f.find((x) => x.id === 'packets.raw-pcm')!;
  assert.equal(raw.severity, 'problem');
  assert.equal(raw.title, 'raw PCM without RTP from 192.0.2.10:40000: no player can know its format');
  assert.match(raw.detail!, /s16le, stereo/);
  assert.match(raw.detail!, /176\.4 kB\/s = 44100 Hz x 2 channel/);
  assert.match(raw.fix!, /^send RTP with an SDP: rtpcast send --input - --format s16le --input-rate 44100 --input-channels 2 --dest THIS_HOST:50500 --sdp stream\.sdp/);
});

test('RTCP on the RTP port and on port + 1, garbage and malformed RTP are each counted', () => {
  const c = new PacketCounter();
  for (let i = 0; i < 50; i++) c.add(rtp({ seq: i, ts: i * 160, ssrc: 77, pt: 8, payload: 160 }), A, T0 + BigInt(i) * 20n * MS);
  const sr = buildSenderReport({ ssrc: 77, ntp: 1n << 32n, rtpTimestamp: 1, packetCount: 2, octetCount: 3, cname: 'a@b' });
  c.add(sr, A, T0 + 1000n * MS); // rtcp-mux
  c.addRtcpPort(sr, { address: A.address, port: A.port + 1 });
  c.addRtcpPort(buildBye(77), { address: A.address, port: A.port + 1 });
  c.addRtcpPort(Buffer.from('hello'), { address: A.address, port: A.port + 1 });
  const r = mulberry32(5);
  for (let i = 0; i < 100; i++) {
    const g = Buffer.alloc(301); // odd length: never PCM
    for (let j = 0; j < g.length; j++) g[j] = Math.floor(r() * 256);
    g[0] = 0x11; // version 0
    c.add(g, B, T0 + BigInt(i) * MS);
  }
  const bad = rtp({ seq: 1, ts: 1, ssrc: 1, pt: 96, payload: 10 });
  bad[0] |= 0x20; // padding bit, last byte 0x11 > payload
  bad[bad.length - 1] = 0xff;
  c.add(bad, { address: '192.0.2.30', port: 1 }, T0);
  const s = c.snapshot({ finish: true });
  const a = s.senders.find((x) => x.address === A.address)!;
  assert.equal(a.rtp, 50);
  assert.equal(a.rtcp, 1);
  assert.deepEqual(s.rtcpPort, { datagrams: 3, valid: 2, senders: ['192.0.2.10:40001'] });
  const st = s.streams[0];
  assert.equal(st.rtcpSenderReports, 2);
  assert.equal(st.bye, true);
  const g = s.senders.find((x) => x.address === B.address)!;
  assert.equal(g.kind, 'unknown');
  assert.equal(g.notRtp, 100);
  const m = s.senders.find((x) => x.address === '192.0.2.30')!;
  assert.deepEqual(m.malformedBy, { 'bad-padding': 1 });
  const f = packetFindings(s, { port: 5004, durationSec: 2 });
  for (const id of ['packets.rtcp', 'packets.rtcp-port-other', 'packets.not-rtp', 'packets.malformed', 'packets.bye', 'packets.several-streams']) {
    if (id === 'packets.several-streams') assert.ok(!ids(f).includes(id));
    else assert.ok(ids(f).includes(id), `${id} missing: ${ids(f).join(', ')}`);
  }
});

test('the source filter ignores other senders; a lone RTP-looking datagram is unconfirmed, not a stream', () => {
  const c = new PacketCounter({ source: '::ffff:192.0.2.10' });
  c.add(rtp({ seq: 1, ts: 1, ssrc: 1, pt: 96, payload: 10 }), B, T0);
  c.add(rtp({ seq: 1, ts: 1, ssrc: 1, pt: 96, payload: 10 }), A, T0);
  const s = c.snapshot({ finish: true });
  assert.deepEqual(s.ignored, { '192.0.2.20': 1 });
  assert.equal(s.streams.length, 0);
  assert.equal(s.senders[0].unconfirmed, 1);
});

test('a sender restart (new sequence numbers, same SSRC) is a resync, not loss', () => {
  const c = new PacketCounter();
  for (let i = 0; i < 100; i++) c.add(rtp({ seq: i, ts: i * 160, ssrc: 3, pt: 0, payload: 160 }), A, T0 + BigInt(i) * 20n * MS);
  for (let i = 0; i < 100; i++) c.add(rtp({ seq: 30000 + i, ts: 9e6 + i * 160, ssrc: 3, pt: 0, payload: 160 }), A, T0 + BigInt(100 + i) * 20n * MS);
  const st = c.snapshot({ finish: true }).streams[0];
  assert.equal(st.stats.resyncs, 1);
  assert.equal(st.stats.lost, 0);
  assert.equal(st.stats.packets, 200);
});

test('RFC 3550 jitter and the delay spread from known delays', () => {
  const c = new PacketCounter();
  const r = mulberry32(9);
  const delays: number[] = [];
  for (let i = 0; i < 500; i++) delays.push(r() * 30); // ms, uniform [0, 30) like the relay's jitter (without the order clamp)
  // fed in arrival order (20 ms apart, delays up to 30 ms: some arrive out of order)
  const arrival = delays.map((d, i) => ({ i, at: T0 + BigInt(i) * 20n * MS + BigInt(Math.round(d * 1e6)) })).sort((a, b) => (a.at < b.at ? -1 : 1));
  for (const x of arrival) c.add(rtp({ seq: x.i, ts: x.i * 160, ssrc: 4, pt: 0, payload: 160 }), A, x.at);
  const st = c.snapshot({ finish: true }).streams[0];
  let jj = 0;
  for (let k = 1; k < arrival.length; k++) jj += (Math.abs(delays[arrival[k].i] - delays[arrival[k - 1].i]) - jj) / 16;
  assert.ok(Math.abs(st.stats.jitterMs - jj) < 0.01, `${st.stats.jitterMs} vs ${jj}`);
  assert.ok(st.stats.reordered > 0);
  // p95 - min of uniform [0, 30) delays relative to the first packet: about 0.95 * 30
  assert.ok(Math.abs(st.delaySpreadMs! - 28.5) < 2, String(st.delaySpreadMs));
});

function fakeStats(o: { jitterMs: number; lostPct: number; burstR?: number; bursts?: number }): StreamStats {
  const s = new RtpStreamStats(48000).snapshot();
  return { ...s, jitterMs: o.jitterMs, maxJitterMs: o.jitterMs * 2, lostPct: o.lostPct, burst: { ...s.burst, burstR: o.burstR ?? 1, bursts: o.bursts ?? 0 } };
}

test('recommendLatency: the player\'s budget from the spread or 4 x jitter; FEC for isolated losses only', () => {
  const a = recommendLatency(fakeStats({ jitterMs: 5, lostPct: 0 }), { packetMs: 20, codec: 'opus' });
  assert.equal(a.basis, 'jitter');
  assert.equal(a.networkMs, 20);
  assert.equal(a.latencyMs, 55); // 20 + 20 + 10 + 2 = 52 -> 55
  assert.equal(a.fecHelps, false);
  assert.equal(a.findings.find((f) => f.id === 'jitter.fec')!.severity, 'ok');
  assert.equal(a.findings[0].title, 'recommended playout latency: 55 ms (rtpcast play --latency 55)');
  const b = recommendLatency(fakeStats({ jitterMs: 5, lostPct: 3 }), { packetMs: 20, codec: 'opus', delaySpreadMs: 28.5 });
  assert.equal(b.basis, 'delay-spread');
  assert.equal(b.latencyMs, 65); // 28.5 + 20 + 10 + 2 = 60.5 -> 65
  assert.equal(b.fecHelps, true);
  assert.ok(Math.abs(b.fecRecoverable - 0.97) < 1e-9);
  assert.match(b.findings.find((f) => f.id === 'jitter.fec')!.title, /^Opus FEC would rebuild about 97% of the lost packets/);
  const c = recommendLatency(fakeStats({ jitterMs: 1, lostPct: 3, burstR: 4, bursts: 5 }), { packetMs: 20, codec: 'opus' });
  assert.equal(c.fecHelps, false);
  assert.ok(Math.abs(c.meanLossRun - 4 / 0.97) < 1e-9);
  assert.equal(c.findings.find((f) => f.id === 'jitter.fec')!.severity, 'warn');
  const d = recommendLatency(fakeStats({ jitterMs: 1, lostPct: 2 }), { packetMs: 5, codec: 'l16' });
  assert.equal(d.latencyMs, 25); // 4 + 5 + 10 + 2 = 21 -> 25
  assert.equal(d.fecHelps, true);
  assert.equal(d.findings.find((f) => f.id === 'jitter.fec')!.fix, 'rtpcast send --codec opus   (in-band FEC is on by default)');
  const e = recommendLatency(fakeStats({ jitterMs: 50, lostPct: 0 }), { packetMs: 20, codec: 'opus' });
  assert.equal(e.findings[0].severity, 'warn');
});

test('silence findings: the wrong port is named, multicast is checked, the conclusion is the first cause found', () => {
  const scan = { seconds: 2, listened: [4990, 4991, 4994], busy: [5004], active: [{ port: 5002, datagrams: 100, bytes: 1e5, senders: ['127.0.0.1:5555'], kinds: { rtp: 32 }, payloadTypes: [96] }] };
  const z = silenceFindings({ port: 5000, durationSec: 3, firewall: null, firewallAvailable: false, scan, multicast: null });
  assert.deepEqual(ids(z.findings), ['packets.none', 'packets.firewall-skipped', 'packets.wrong-port']);
  assert.match(z.findings[2].title, /^traffic arrives on port 5002 instead: 100 datagrams/);
  assert.equal(z.conclusion, 'the sender sends to port 5002, not 5000');
  const q = silenceFindings({
    port: 5000, durationSec: 3, firewall: [{ id: 'firewall.blocked', severity: 'problem', title: 'nft drops udp dport 5000' }], firewallAvailable: true,
    scan: { ...scan, active: [] },
    multicast: { group: '239.1.2.3', route: { ok: false, device: null, text: 'RTNETLINK answers: Network is unreachable' }, joined: true, joinError: null, igmpDevices: ['lo'] },
  });
  assert.deepEqual(ids(q.findings), ['packets.none', 'firewall.blocked', 'packets.nearby-quiet', 'packets.multicast-route', 'packets.multicast-join', 'packets.multicast-ttl', 'packets.multicast-wifi', 'packets.sender-missing']);
  assert.equal(q.conclusion, 'nft drops udp dport 5000');
  assert.match(q.findings[2].title, /4990-4991, 4994/);
  // RTCP alone on a port: the sender's RTCP port, its RTP goes one below
  const w = silenceFindings({ port: 5000, durationSec: 3, firewall: null, firewallAvailable: false, multicast: null, scan: { ...scan, active: [{ ...scan.active[0], port: 5003, datagrams: 1, kinds: { rtcp: 1 }, payloadTypes: [] }, scan.active[0]] } });
  assert.deepEqual(ids(w.findings), ['packets.none', 'packets.firewall-skipped', 'packets.rtcp-elsewhere', 'packets.wrong-port']);
  assert.equal(w.conclusion, 'the sender sends to port 5002, not 5000');
});

test('silence findings (F2): multicast to a group nobody joined, and a SAP announcement, are named before "the sender is missing"', () => {
  const scan = { seconds: 2, listened: [4990], busy: [], active: [] };
  const z = silenceFindings({ port: 5004, durationSec: 3, firewall: null, firewallAvailable: false, scan, multicast: null, unjoined: { groups: [{ group: '224.0.0.56', datagrams: 400, senders: ['10.0.0.2:40000'] }], announced: [] } });
  assert.deepEqual(ids(z.findings), ['packets.none', 'packets.firewall-skipped', 'packets.nearby-quiet', 'packets.multicast-not-joined']);
  assert.equal(z.findings[3].severity, 'problem');
  assert.match(z.findings[3].title, /^the audio goes to multicast group 224\.0\.0\.56 port 5004 \(400 datagrams in 2\.0 s from 10\.0\.0\.2:40000\), but nothing here joined the group$/);
  assert.match(z.findings[3].fix!, /rtpcast diag packets --group 224\.0\.0\.56 --port 5004/);
  assert.equal(z.conclusion, 'the stream is multicast to 224.0.0.56:5004 and nothing here joined the group');
  const a = silenceFindings({ port: 5004, durationSec: 3, firewall: null, firewallAvailable: false, scan, multicast: null, unjoined: { groups: [], announced: [{ name: 'Living room', origin: '10.0.0.2', group: '224.0.0.56', port: 46000, rtpmap: '127 L16/48000/2' }] } });
  assert.deepEqual(ids(a.findings), ['packets.none', 'packets.firewall-skipped', 'packets.nearby-quiet', 'packets.sap-announced']);
  assert.equal(a.findings[3].title, 'a sender (10.0.0.2) announces "Living room" by SAP: it goes to 224.0.0.56:46000 (127 L16/48000/2), not port 5004');
  assert.match(a.conclusion, /rtpcast play --sap "Living room"/);
});

test('nearby ports, /proc parsers', () => {
  const n = nearbyPorts(5000, [5001]);
  assert.ok(n.includes(4990) && n.includes(5010) && n.includes(5004) && n.includes(46000) && !n.includes(5000) && !n.includes(5001));
  const udp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:1388 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  124: 0100007F:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4343 2 0000000000000000 0`;
  assert.equal(parseProcNetUdpDrops(udp, 4242, 0), 17);
  assert.equal(parseProcNetUdpDrops(udp, null, 5001), 0);
  assert.equal(parseProcNetUdpDrops(udp, 999, 5002), null);
  const igmp = `Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter
1\tlo        :     2      V3
\t\t\t\t030201EF     1 0:00000000\t\t0
\t\t\t\t010000E0     1 0:00000000\t\t0
2\teth0      :     1      V3
\t\t\t\t010000E0     1 0:00000000\t\t0`;
  assert.deepEqual(parseProcNetIgmp(igmp), [
    { device: 'lo', group: '239.1.2.3' }, { device: 'lo', group: '224.0.0.1' }, { device: 'eth0', group: '224.0.0.1' },
  ]);
});

test('throughput: PacketCounter.add on one core (4 streams, 2 % loss)', (t) => {
  const N = 1_000_000;
  const pk: Buffer[] = [];
  for (let i = 0; i < 4096; i++) pk.push(rtp({ seq: i, ts: i * 960, ssrc: 0x100 + (i & 3), pt: 96, payload: 200 }));
  // pre-stamp sequence numbers per stream: 4 interleaved streams, each sequential
  const seqs = new Uint16Array(4);
  const c = new PacketCounter({ payloadTypes: { 96: { encoding: 'opus', clockRate: 48000 } } });
  const r = mulberry32(1);
  const senders = [{ address: '127.0.0.1', port: 1000 }, { address: '127.0.0.1', port: 1002 }];
  let added = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = i & 3;
    const b = pk[i & 4095];
    const seq = seqs[s]++;
    if (r() < 0.02) continue;
    b.writeUInt16BE(seq, 2);
    b.writeUInt32BE((seq * 960) >>> 0, 4);
    b.writeUInt32BE(0x100 + s, 8);
    c.add(b, senders[s & 1], T0 + BigInt(i) * 5000n);
    added++;
  }
  const sec = Number(process.hrtime.bigint() - start) / 1e9;
  const pps = added / sec;
  const snap = c.snapshot({ finish: true });
  const counted = snap.streams.reduce((n, x) => n + x.stats.packets, 0);
  assert.equal(counted, added, 'every packet counted');
  assert.equal(snap.datagrams, added);
  t.diagnostic(`PacketCounter.add: ${added} packets in ${sec.toFixed(2)} s = ${(pps / 1e6).toFixed(2)} M packets/s on one core`);
  assert.ok(pps > 300_000, `only ${pps.toFixed(0)} packets/s`);
});

test('F1: a dynamic payload type without an SDP -> packets.sdp-needed with the SDP that fits; static types and SDP-known streams say nothing', async () => {
  const { sdpNeededFinding, suggestedSdp } = await import('../../src/diag/packets');
  type St = Parameters<typeof sdpNeededFinding>[0];
  const l16 = { sender: '127.0.0.1:40000', ssrcHex: '0x1234abcd', payloadType: 97, probing: false, packetMs: 5, codec: { encoding: 'L16', clockRate: 48000, channels: 2, how: 'L16 by payload size and rate' } } as unknown as St;
  const f = sdpNeededFinding(l16, { port: 5004, address: '127.0.0.1' })!;
  assert.equal(f.id, 'packets.sdp-needed');
  assert.equal(f.severity, 'warn');
  assert.equal(f.title, 'payload type 97 is dynamic and no SDP was given: VLC (rtp://@:5004), ffmpeg and GStreamer cannot know the format; they need an SDP with a=rtpmap:97 L16/48000/2');
  assert.equal(suggestedSdp(l16, { port: 5004, address: '127.0.0.1' }), 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtpcast diag packets\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=tool:rtpcast diag\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L16/48000/2\r\na=ptime:5\r\na=recvonly\r\n');
  assert.match(f.detail!, /\nm=audio 5004 RTP\/AVP 97\na=rtpmap:97 L16\/48000\/2\n/);
  assert.match(f.fix!, /-protocol_whitelist file,udp,rtp -i stream\.sdp/);
  const opus = { ...l16, payloadType: 96, packetMs: 20, codec: { encoding: 'opus', clockRate: 48000, channels: null, how: 'Opus TOC' } } as unknown as St;
  assert.match(suggestedSdp(opus, { port: 6000, address: '239.1.2.3' })!, /c=IN IP4 239\.1\.2\.3\/1\r\n.*a=rtpmap:96 opus\/48000\/2\r\na=fmtp:96 stereo=1; sprop-stereo=1; useinbandfec=1\r\na=ptime:20\r\n/s);
  assert.equal(sdpNeededFinding({ ...l16, payloadType: 10 } as St, { port: 5004, address: '127.0.0.1' }), null);
  assert.equal(sdpNeededFinding({ ...l16, codec: { ...l16.codec, how: 'sdp' } } as St, { port: 5004, address: '127.0.0.1' }), null);
  const unknown = sdpNeededFinding({ ...l16, codec: { encoding: 'unknown', clockRate: 48000, channels: null, how: 'timestamp rate' } } as unknown as St, { port: 5004, address: '127.0.0.1' })!;
  assert.match(unknown.detail!, /only the sender knows/);
});

test('receive buffer: as much as net.core.rmem_max allows, between 8 and 64 MiB', () => {
  assert.equal(defaultRecvBuffer('212992\n'), 8 << 20);
  assert.equal(defaultRecvBuffer('33554432\n'), 32 << 20);
  assert.equal(defaultRecvBuffer('1073741824'), 64 << 20);
  assert.equal(defaultRecvBuffer(null), 8 << 20);
});
