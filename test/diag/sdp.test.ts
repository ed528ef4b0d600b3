import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalIp, lintSdp, type SdpFinding, type SdpLintData, type SdpLintOptions } from '../../src/diag/sdp';
import { exitCodeOf, type DiagReport } from '../../src/diag/report';
import { buildSdp } from '../../src/sdp/build';
import { parseSdpStream } from '../../src/sdp/parse';
import { describeStream } from '../../src/stream/description';
import type { Destination } from '../../src/transport/destination';
import { mulberry32 } from '../support/prng';

const DIR = join(__dirname, '../../../test/fixtures/sdp');
const fixture = (name: string): Buffer => readFileSync(join(DIR, name));
/** the test machine owns the unicast addresses the fixtures use */
const LOCAL = ['127.0.0.1', '::1', '192.168.1.20'];
const lint = (name: string, o: SdpLintOptions = {}) => lintSdp(fixture(name), { name, localAddresses: LOCAL, ...o });
const dataOf = (r: DiagReport) => r.data as SdpLintData;
/** "severity id @line" for every finding, in report order */
const summary = (r: DiagReport) => (r.findings as SdpFinding[]).map((f) => `${f.severity} ${f.id}${f.line !== undefined ? ` @${f.line}` : ''}`);
const ids = (r: DiagReport) => r.findings.map((f) => f.id);
const text = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join('');
const find = (r: DiagReport, id: string) => r.findings.find((f) => f.id === id);

// ---- every fixture, finding by finding ---------------------------------------------------------

const EXPECTED: Record<string, string[]> = {
  // rtpcast's own (node dist/src/cli/main.js send --tone ... --sdp -)
  'rtpcast-l16-44100-stereo.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable'],
  'rtpcast-l16-48000-stereo.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable'],
  'rtpcast-l16-48000-multicast.sdp': ['info sdp.line-endings', 'info sdp.c-multicast @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable'],
  'rtpcast-opus-stereo.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.opus-stereo @8', 'info sdp.opus-fec @8', 'ok sdp.playable'],
  'rtpcast-opus-mono.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.opus-stereo @8', 'info sdp.opus-fec @8', 'ok sdp.playable'],
  // ffmpeg 5.1 (-f rtp -sdp_file)
  'ffmpeg-5.1-l16-44100-mono.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.rtpmap-implicit @7', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @7', 'ok sdp.playable'],
  'ffmpeg-5.1-l16-48000-multicast.sdp': ['info sdp.line-endings', 'info sdp.c-multicast @4', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @9', 'ok sdp.playable'],
  'ffmpeg-5.1-opus-stereo.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.ptime-missing @7', 'info sdp.opus-stereo @10', 'ok sdp.playable'],
  'ffmpeg-5.1-pcm_s16le-no-rtpmap.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.rtpmap-missing @7'],
  // PulseAudio 16.1 module-rtp-send (the SAP payload as sent)
  'pulseaudio-16.1-default-multicast.sdp': ['info sdp.line-endings', 'warn sdp.c-ttl-missing @4', 'info sdp.c-multicast @4', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @8', 'ok sdp.playable'],
  'pulseaudio-16.1-l16-48000.sdp': ['info sdp.line-endings', 'warn sdp.c-ttl-missing @4', 'info sdp.c-multicast @4', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @8', 'ok sdp.playable'],
  'pulseaudio-16.1-ttl4.sdp': ['info sdp.line-endings', 'warn sdp.c-ttl-missing @4', 'info sdp.c-multicast @4', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @8', 'ok sdp.playable'],
  'pulseaudio-16.1-opus.sdp': ['info sdp.line-endings', 'warn sdp.c-ttl-missing @4', 'info sdp.c-multicast @4', 'info sdp.ptime-missing @7', 'info sdp.opus-stereo @8', 'ok sdp.playable'],
  'pulseaudio-16.1-unicast.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.ptime-missing @7', 'info sdp.l16-byte-order @8', 'ok sdp.playable'],
  // PipeWire 0.3.65 module-rtp-sink, VLC 3.0.24 --sout '#rtp{...}'
  'pipewire-0.3.65-rtp-sink.sdp': ['info sdp.line-endings', 'info sdp.c-multicast @4', 'info sdp.l16-byte-order @9', 'ok sdp.ptime-mtu @11', 'ok sdp.playable'],
  'vlc-3.0.24-l16-48000.sdp': ['info sdp.line-endings', 'ok sdp.c-local @5', 'info sdp.ptime-missing @11', 'info sdp.l16-byte-order @14', 'ok sdp.playable'],
  'vlc-3.0.24-opus-multicast.sdp': ['info sdp.line-endings', 'info sdp.c-multicast @5', 'info sdp.ptime-missing @11', 'info sdp.opus-stereo @15', 'ok sdp.playable'],
  // written by hand
  'ipv6-multicast-ssm.sdp': ['info sdp.line-endings', 'warn sdp.c-address-count @4', 'info sdp.c-ipv6-scope @4', 'info sdp.opus-param @8', 'info sdp.opus-stereo @8', 'info sdp.source-filter @10', 'info sdp.rtcp @11', 'ok sdp.playable'],
  'broken-rtpmap-missing.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.rtpmap-missing @6'],
  'broken-opus-mono-rtpmap.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.opus-rtpmap @7', 'info sdp.opus-stereo @7'],
  'broken-opus-44100.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.opus-rtpmap @7', 'info sdp.opus-stereo @8'],
  'broken-multicast-no-ttl.sdp': ['info sdp.line-endings', 'warn sdp.c-ttl-missing @4', 'info sdp.c-multicast @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable'],
  'broken-ttl-zero.sdp': ['info sdp.line-endings', 'problem sdp.c-ttl-zero @4', 'info sdp.c-multicast @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8'],
  'broken-ptime-too-big.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.l16-byte-order @7', 'problem sdp.ptime-mtu @8'],
  'broken-no-c.sdp': ['info sdp.line-endings', 'problem sdp.c-missing @5', 'info sdp.l16-byte-order @6'],
  'broken-garbage-line.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.garbage @6', 'problem sdp.garbage @8', 'info sdp.l16-byte-order @9', 'problem sdp.unknown-type @10', 'ok sdp.ptime-mtu @11'],
  'broken-no-v.sdp': ['info sdp.line-endings', 'problem sdp.v-first @1', 'ok sdp.c-local @3', 'info sdp.l16-byte-order @6', 'ok sdp.ptime-mtu @7'],
  'broken-static-pt-conflict.sdp': ['info sdp.line-endings', 'ok sdp.c-local @4', 'problem sdp.rtpmap-static-conflict @7'],
  'broken-strict-parsers.sdp': ['info sdp.line-endings', 'warn sdp.s-empty @3', 'warn sdp.order @5', 'ok sdp.c-local @5', 'warn sdp.blank-line @6', 'warn sdp.m-port-odd @7', 'info sdp.l16-byte-order @8', 'ok sdp.ptime-mtu @9', 'ok sdp.playable'],
  'broken-bom.sdp': ['info sdp.line-endings', 'warn sdp.bom @1', 'ok sdp.c-local @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable'],
};

test('every fixture has its expected findings (ids, severities, lines), and every fixture is covered', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.sdp')).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
  for (const f of files) assert.deepEqual(summary(lint(f)), EXPECTED[f], f);
});

test('every non-ok finding names its rule or peer and carries a fix; problems and warnings name their line', () => {
  for (const f of Object.keys(EXPECTED)) {
    for (const x of lint(f).findings as SdpFinding[]) {
      if (x.severity === 'problem' || x.severity === 'warn') {
        assert.ok(x.fix, `${f}: ${x.id} has no fix`);
        if (x.id !== 'sdp.too-big') assert.ok(x.line !== undefined, `${f}: ${x.id} has no line`);
      }
      if (x.severity !== 'ok' && x.id !== 'sdp.rtpcast-unreadable') assert.match(x.detail ?? '', /\[RFC \d+/, `${f}: ${x.id} names no RFC`);
      if (x.rule) assert.ok(x.detail?.endsWith(`[${x.rule}]`), `${f}: ${x.id} rule not in detail`);
    }
  }
});

// ---- peers' SDPs: nothing a receiver would fail on ----------------------------------------------

const PEERS = Object.keys(EXPECTED).filter((f) => /^(rtpcast|ffmpeg|pulseaudio|pipewire|vlc)-/.test(f) && f !== 'ffmpeg-5.1-pcm_s16le-no-rtpmap.sdp');

test('rtpcast, ffmpeg, PulseAudio, PipeWire and VLC SDPs have no problem; rtpcast\'s only ok/info', () => {
  assert.equal(PEERS.length, 16);
  for (const f of PEERS) {
    const r = lint(f);
    assert.ok(!r.findings.some((x) => x.severity === 'problem'), `${f}: ${summary(r)}`);
    assert.equal(exitCodeOf(r), 0, f);
    if (f.startsWith('rtpcast-')) assert.ok(r.findings.every((x) => x.severity === 'ok' || x.severity === 'info'), `${f}: ${summary(r)}`);
  }
});

test('the parsed stream in data matches what rtpcast play reads (parseSdpStream) for every playable fixture', () => {
  for (const f of Object.keys(EXPECTED)) {
    const d = dataOf(lint(f));
    if (!d.playable) continue;
    const p = parseSdpStream(fixture(f).toString('utf8'));
    const s = d.stream;
    // IPv6: parseSdpStream reads "ff02::1:5/3" as TTL 3; in RFC 4566 5.7 it is an address count
    // (IPv6 has no TTL in c=), so diag reports no ttl. Compare the TTL for IPv4 only.
    const ttl = (x: number | undefined) => (s.family === 4 ? x : 'n/a');
    assert.deepEqual(
      { encoding: s.encoding?.toLowerCase(), rate: s.rate, channels: s.channels, pt: s.pt, address: s.address, port: s.port, ttl: ttl(s.ttl), ptime: s.ptime, fmtp: s.fmtp },
      { encoding: p.encoding.toLowerCase(), rate: p.clockRate, channels: p.channels, pt: p.payloadType, address: p.address, port: p.port, ttl: ttl(p.ttl), ptime: p.ptimeMs, fmtp: p.fmtp },
      f,
    );
  }
});

test('data: stream details of rtpcast, PulseAudio and ffmpeg SDPs', () => {
  const l16 = dataOf(lint('rtpcast-l16-48000-stereo.sdp'));
  assert.deepEqual(l16.stream, {
    fmtp: {}, proto: 'RTP/AVP', port: 5004, pt: 96, address: '127.0.0.1', family: 4, multicast: false,
    direction: 'recvonly', encoding: 'L16', rate: 48000, ptime: 5, channels: 2, packetBytes: 1000,
  });
  assert.equal(l16.lineEndings, 'CRLF');
  assert.equal(l16.sessionName, 'rtpcast');
  assert.equal(l16.file, 'rtpcast-l16-48000-stereo.sdp');
  const pa = dataOf(lint('pulseaudio-16.1-default-multicast.sdp'));
  assert.equal(pa.lineEndings, 'LF');
  assert.equal(pa.sessionName, 'PulseAudio RTP Stream on vm');
  assert.deepEqual({ ...pa.stream }, { fmtp: {}, proto: 'RTP/AVP', port: 46838, pt: 10, address: '224.0.0.56', family: 4, multicast: true, direction: 'recvonly', encoding: 'L16', rate: 44100, channels: 2 });
  const mc = dataOf(lint('rtpcast-l16-48000-multicast.sdp'));
  assert.equal(mc.stream.ttl, 4);
  const ff = dataOf(lint('ffmpeg-5.1-opus-stereo.sdp'));
  assert.equal(ff.tool, 'libavformat LIBAVFORMAT_VERSION');
  assert.deepEqual([ff.stream.encoding, ff.stream.rate, ff.stream.channels, ff.stream.fmtp], ['opus', 48000, 2, { 'sprop-stereo': '1' }]);
  const paOpus = dataOf(lint('pulseaudio-16.1-opus.sdp'));
  assert.deepEqual([paOpus.stream.encoding, paOpus.stream.channels], ['OPUS', 1], 'no sprop-stereo: mono, as rtpcast play decodes it');
});

// ---- the commands that play it ----------------------------------------------------------------

test('playable SDPs carry the VLC (incl. Debian avformat), ffplay, ffmpeg and GStreamer commands', () => {
  for (const f of Object.keys(EXPECTED)) {
    const r = lint(f);
    const d = dataOf(r);
    const problems = r.findings.some((x) => x.severity === 'problem');
    assert.equal(d.playable, !problems, f);
    if (!d.playable) {
      assert.equal(d.commands, undefined, f);
      assert.equal(find(r, 'sdp.playable'), undefined, f);
      continue;
    }
    const by = (p: string) => d.commands!.filter((c) => c.player === p);
    assert.equal(by('VLC')[0].command, `vlc ${f}`, f);
    assert.equal(by('VLC')[0].note, `Debian/Ubuntu VLC (no live555): cvlc --demux=avformat ${f}`, f);
    assert.equal(by('ffplay')[0].command, `ffplay -nodisp -protocol_whitelist file,udp,rtp -i ${f}`, f);
    assert.equal(by('ffmpeg')[0].command, `ffmpeg -protocol_whitelist file,udp,rtp -i ${f} out.wav`, f);
    assert.match(by('GStreamer')[0].command, /^gst-launch-1\.0 udpsrc /, f);
    assert.equal(find(r, 'sdp.playable')?.severity, 'ok', f);
  }
  const cmd = (f: string, p: string) => dataOf(lint(f)).commands!.filter((c) => c.player === p).map((c) => c.command);
  assert.deepEqual(cmd('rtpcast-l16-48000-stereo.sdp', 'GStreamer'), [
    'gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=audio,clock-rate=48000,encoding-name=L16,payload=96,channels=2" ! rtpjitterbuffer latency=100 ! rtpL16depay ! audioconvert ! audioresample ! autoaudiosink',
  ]);
  assert.deepEqual(cmd('rtpcast-opus-mono.sdp', 'GStreamer'), [
    'gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96" ! rtpjitterbuffer latency=100 ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! autoaudiosink',
  ]);
  // multicast: GStreamer joins the group; static PT 10 also plays without the SDP in VLC
  assert.match(cmd('pulseaudio-16.1-default-multicast.sdp', 'GStreamer')[0], /^gst-launch-1\.0 udpsrc address=224\.0\.0\.56 port=46838 caps="[^"]*clock-rate=44100,encoding-name=L16,payload=10,channels=2"/);
  assert.deepEqual(cmd('pulseaudio-16.1-default-multicast.sdp', 'VLC'), ['vlc pulseaudio-16.1-default-multicast.sdp', 'vlc rtp://@224.0.0.56:46838']);
  assert.deepEqual(cmd('rtpcast-l16-44100-stereo.sdp', 'VLC'), ['vlc rtpcast-l16-44100-stereo.sdp', 'vlc rtp://@:5004']);
  // without a name the commands use a placeholder path; a path with spaces is quoted
  assert.equal(dataOf(lintSdp(fixture('rtpcast-opus-stereo.sdp'))).commands![1].command, 'ffplay -nodisp -protocol_whitelist file,udp,rtp -i stream.sdp');
  assert.equal(dataOf(lintSdp(fixture('rtpcast-opus-stereo.sdp'), { name: 'my stream.sdp' })).commands![1].command, 'ffplay -nodisp -protocol_whitelist file,udp,rtp -i "my stream.sdp"');
  assert.match(find(lint('rtpcast-opus-stereo.sdp'), 'sdp.playable')!.detail!, /cvlc --demux=avformat/);
  assert.doesNotMatch(find(lint('rtpcast-l16-44100-stereo.sdp'), 'sdp.playable')!.detail!, /avformat/, 'static PT: Debian VLC plays it');
});

// ---- rtpcast's writer, every shape it produces: only ok/info ----------------------------------------

test('every SDP rtpcast send writes (codecs, rates, channels, ptimes, v4/v6, unicast/multicast) lints clean', () => {
  const dests: Destination[] = [
    { host: '192.168.1.20', address: '192.168.1.20', family: 4, port: 5004, multicast: false },
    { host: '::1', address: '::1', family: 6, port: 5006, multicast: false },
    { host: '239.255.12.42', address: '239.255.12.42', family: 4, port: 5004, multicast: true },
    { host: 'ff05::4242', address: 'ff05::4242', family: 6, port: 5008, multicast: true },
  ];
  const configs: Parameters<typeof describeStream>[0][] = [];
  for (const rate of [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000]) {
    for (const channels of [1, 2, 6, 8]) configs.push({ codec: 'l16', rate, channels });
  }
  configs.push({ codec: 'l16', rate: 48000, channels: 2, ptime: 1 }, { codec: 'l16', rate: 48000, channels: 2, ptime: 7.5 }, { codec: 'l16', rate: 44100, channels: 2, payloadType: 100 });
  for (const ptime of [2.5, 5, 10, 20, 40, 60, 120]) {
    // rtpcast refuses long Opus packets at high bitrates (they could exceed the MTU)
    for (const channels of [1, 2]) for (const fec of [true, false]) configs.push({ codec: 'opus', channels, ptime, fec, ttl: 3, bitrate: ptime > 40 ? 24000 : undefined });
  }
  let n = 0;
  for (const c of configs) {
    for (const dest of dests) {
      const sdp = buildSdp(describeStream(c, [dest]), dest, { originAddress: dest.family === 6 ? '::1' : '192.168.1.10', sessionId: 42 });
      const r = lintSdp(sdp, { localAddresses: ['192.168.1.20', '::1'] });
      const bad = r.findings.filter((f) => f.severity !== 'ok' && f.severity !== 'info');
      assert.deepEqual(bad, [], `${JSON.stringify(c)} to ${dest.address}:\n${sdp}`);
      assert.equal(dataOf(r).playable, true, sdp);
      n++;
    }
  }
  assert.ok(n > 250);
});

// ---- the rules one by one (inline SDPs) -----------------------------------------------------------

const HEAD = ['v=0', 'o=- 1 1 IN IP4 192.168.1.10', 's=test', 'c=IN IP4 192.168.1.20', 't=0 0'];
const L16 = ['m=audio 5004 RTP/AVP 96', 'a=rtpmap:96 L16/48000/2', 'a=ptime:5'];
const ok = text(...HEAD, ...L16);
const lintText = (t: string | Uint8Array, o: SdpLintOptions = { localAddresses: ['192.168.1.20'] }) => lintSdp(t, o);

test('the base SDP of the inline cases is clean', () => {
  assert.deepEqual(summary(lintText(ok)), ['info sdp.line-endings', 'ok sdp.c-local @4', 'info sdp.l16-byte-order @7', 'ok sdp.ptime-mtu @8', 'ok sdp.playable']);
});

test('structure: empty, NUL, BOM, non-UTF-8, control characters, long lines, huge files', () => {
  assert.deepEqual(summary(lintText('')), ['problem sdp.empty']);
  assert.deepEqual(summary(lintText(' \r\n\r\n')), ['problem sdp.empty']);
  assert.ok(summary(lintText(ok.replace('s=test', 's=te\0st'))).includes('problem sdp.nul @3'));
  // bytes that are not UTF-8 (latin-1 "é" in s=) are found exactly; a decoded string by U+FFFD
  const latin1 = Buffer.from(ok.replace('s=test', 's=caf\xe9'), 'latin1');
  assert.ok(summary(lintText(latin1)).includes('warn sdp.not-utf8 @3'));
  assert.ok(summary(lintText(latin1.toString('utf8'))).includes('warn sdp.not-utf8 @3'));
  assert.ok(!ids(lintText(Buffer.from(ok.replace('s=test', 's=café'), 'utf8'))).includes('sdp.not-utf8'));
  // a BOM given as a string is found too
  assert.ok(summary(lintText(`\uFEFF${ok}`)).includes('warn sdp.bom @1'));
  assert.ok(summary(lintText(ok.replace('s=test', 's=te\x07st'))).includes('warn sdp.control-char @3'));
  assert.ok(summary(lintText(ok.replace('s=test', `s=${'x'.repeat(2000)}`))).includes('warn sdp.line-long @3'));
  const huge = lintText(ok + Array.from({ length: 200 }, (_, i) => `a=x-pad${i}:${'y'.repeat(100)}\r\n`).join(''));
  assert.equal(find(huge, 'sdp.too-big')?.severity, 'warn');
  assert.match(find(huge, 'sdp.too-big')!.title, /first 16383/);
});

test('line endings: CRLF, LF and mixed are all info; the PulseAudio SAP caveat is named for CRLF', () => {
  const crlf = find(lintText(ok), 'sdp.line-endings')!;
  assert.equal(crlf.severity, 'info');
  assert.match(crlf.detail!, /module-rtp-recv/);
  const lf = lintText(ok.replace(/\r\n/g, '\n'));
  assert.equal(dataOf(lf).lineEndings, 'LF');
  assert.equal(find(lf, 'sdp.line-endings')!.severity, 'info');
  const mixed = lintText(ok.replace('s=test\r\n', 's=test\n'));
  assert.equal(dataOf(mixed).lineEndings, 'mixed');
  assert.match(find(mixed, 'sdp.line-endings')!.title, /mixed \(7 CRLF, 1 LF\)/);
  // no newline at the end is fine
  assert.equal(exitCodeOf(lintText(ok.replace(/\r\n$/, ''))), 0);
});

test('structure: v=0 first, v= version, o= s= t= present and well-formed, order, duplicates, unknown types, garbage', () => {
  const without = (type: string) => text(...HEAD.filter((l) => !l.startsWith(`${type}=`)), ...L16);
  assert.ok(summary(lintText(without('o'))).includes('problem sdp.o-missing'));
  assert.ok(summary(lintText(without('s'))).includes('problem sdp.s-missing'));
  assert.ok(summary(lintText(without('t'))).includes('problem sdp.t-missing @5'));
  assert.ok(summary(lintText(without('v'))).includes('problem sdp.v-first @1'));
  assert.ok(summary(lintText(ok.replace('v=0', 'v=1'))).includes('problem sdp.v-version @1'));
  assert.ok(summary(lintText(`\r\n${ok}`)).includes('problem sdp.v-first @1'), 'a blank first line');
  assert.match(find(lintText(text('s=x', ...HEAD, ...L16)), 'sdp.v-first')!.title, /v= is on line 2/);
  assert.ok(summary(lintText(ok.replace('o=- 1 1 IN IP4 192.168.1.10', 'o=- abc 1 IN IP4 192.168.1.10'))).includes('warn sdp.o-malformed @2'));
  assert.ok(summary(lintText(ok.replace('t=0 0', 't=now'))).includes('warn sdp.t-malformed @5'));
  // a= before t= (session order), c= after a= inside the media section, i= twice
  const order = lintText(text(...HEAD.slice(0, 4), 'a=recvonly', 't=0 0', 'm=audio 5004 RTP/AVP 96', 'a=rtpmap:96 L16/48000/2', 'c=IN IP4 192.168.1.20'));
  assert.deepEqual(order.findings.filter((f) => f.id === 'sdp.order').map((f) => [f.line, f.title]), [
    [6, 't= (line 6) comes after a= (line 5)'],
    [9, 'c= (line 9) comes after a= (line 8)'],
  ]);
  assert.ok(summary(lintText(text(...HEAD, 'r=604800 3600 0', ...L16))).every((s) => !s.includes('sdp.order')), 'r= right after t= is in order');
  assert.ok(summary(lintText(text(...HEAD.slice(0, 4), 'r=604800 3600 0', 't=0 0', ...L16))).includes('warn sdp.order @5'));
  assert.ok(summary(lintText(text(...HEAD, 's=again', ...L16))).includes('warn sdp.duplicate @6'));
  assert.ok(summary(lintText(text(...HEAD, ...L16, 't=0 0'))).includes('warn sdp.order @9'), 't= inside a media section');
  // unknown letters (an upper-case V too), lines without "=", spaces around "="
  const unk = lintText(text(...HEAD, 'y=foo', ...L16));
  assert.ok(summary(unk).includes('problem sdp.unknown-type @6'));
  assert.match(find(lintText(text('V=0', ...HEAD.slice(1), ...L16)), 'sdp.unknown-type')!.fix!, /lower case: v=0/);
  assert.match(find(lintText(ok.replace('a=ptime:5', 'a = ptime:5')), 'sdp.garbage')!.fix!, /Write it as a=ptime:5/);
  assert.ok(summary(lintText(ok.replace('t=0 0', 't=0 0\r\nhello world'))).includes('problem sdp.garbage @6'));
  // trailing blanks on c= are what PulseAudio/PipeWire trip on
  assert.ok(summary(lintText(ok.replace('c=IN IP4 192.168.1.20', 'c=IN IP4 192.168.1.20 '))).includes('warn sdp.trailing-space @4'));
  // two blank lines: one finding naming the first and the count
  const blanks = find(lintText(ok.replace('t=0 0\r\n', 't=0 0\r\n\r\n\r\n')), 'sdp.blank-line')!;
  assert.deepEqual([blanks.severity, blanks.line, blanks.title], ['warn', 6, '2 empty lines (first: line 6)']);
});

test('c=: missing, malformed, hostname, family mismatch, TTL rules, address counts', () => {
  const c = (v: string) => lintText(ok.replace('c=IN IP4 192.168.1.20', `c=${v}`));
  assert.deepEqual(find(c('IN IP4'), 'sdp.c-malformed')?.line, 4);
  assert.equal(find(c('IN IP4 receiver.local'), 'sdp.c-hostname')?.severity, 'problem');
  assert.equal(find(c('IN IP4 not_an_address!'), 'sdp.c-malformed')?.severity, 'problem');
  assert.match(find(c('IN IP6 192.168.1.20'), 'sdp.c-malformed')!.title, /says IP6 but 192\.168\.1\.20 is an IPv4 address/);
  assert.equal(find(c('IN IP4 239.1.2.3'), 'sdp.c-ttl-missing')?.severity, 'warn');
  assert.equal(find(c('IN IP4 239.1.2.3/0'), 'sdp.c-ttl-zero')?.severity, 'problem');
  assert.equal(find(c('IN IP4 239.1.2.3/256'), 'sdp.c-ttl-range')?.severity, 'problem');
  assert.equal(find(c('IN IP4 239.1.2.3/x'), 'sdp.c-ttl-range')?.severity, 'problem');
  assert.equal(find(c('IN IP4 239.1.2.3/16/3'), 'sdp.c-address-count')?.severity, 'warn');
  assert.equal(find(c('IN IP4 239.1.2.3/16/1'), 'sdp.c-address-count'), undefined);
  assert.match(find(c('IN IP4 224.0.0.56/4'), 'sdp.c-multicast')!.detail!, /link-local: routers never forward it/);
  assert.equal(find(c('IN IP4 192.168.1.20/4'), 'sdp.c-ttl-unicast')?.severity, 'warn');
  assert.equal(find(c('IN IP4 0.0.0.0'), 'sdp.c-any')?.severity, 'info');
  assert.equal(find(c('IN IP6 ff01::1'), 'sdp.c-ipv6-scope')?.severity, 'problem');
  assert.match(find(c('IN IP6 ff05::1'), 'sdp.c-ipv6-scope')!.title, /site-local scope/);
  assert.match(find(c('IN IP6 ff0e::1'), 'sdp.c-ipv6-scope')!.title, /global scope/);
  assert.equal(find(c('IN IP6 ff02::1/1/2'), 'sdp.c-malformed')?.severity, 'problem');
  // media-level c= wins over session-level
  const media = lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 96', 'c=IN IP4 239.9.9.9/2', 'a=rtpmap:96 L16/48000/2'));
  assert.equal(dataOf(media).stream.address, '239.9.9.9');
});

test('c=: this machine\'s address or not (localAddresses), IPv6 forms compared canonically', () => {
  assert.equal(find(lintText(ok, { localAddresses: ['10.0.0.5'] }), 'sdp.c-not-local')?.severity, 'warn');
  assert.match(find(lintText(ok, { localAddresses: ['10.0.0.5'] }), 'sdp.c-not-local')!.detail!, /must be its own \(or use 0\.0\.0\.0\)/);
  assert.equal(find(lintText(ok, {}), 'sdp.c-unicast')?.severity, 'info', 'not known: an info');
  const v6 = text('v=0', 'o=- 1 1 IN IP6 fe80::1', 's=x', 'c=IN IP6 FE80:0:0:0::A', 't=0 0', ...L16);
  assert.equal(find(lintText(v6, { localAddresses: ['fe80::a%eth0'] }), 'sdp.c-local')?.severity, 'ok');
  assert.equal(canonicalIp('::ffff:192.168.1.1'), '0:0:0:0:0:ffff:c0a8:101');
  assert.equal(canonicalIp('2001:DB8::0:1'), '2001:db8:0:0:0:0:0:1');
  assert.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
});

test('m=: missing, other media, malformed, port 0 / odd / count, transports, payload types', () => {
  assert.deepEqual(summary(lintText(text(...HEAD))), ['info sdp.line-endings', 'problem sdp.m-missing']);
  const video = lintText(text(...HEAD, 'm=video 5006 RTP/AVP 96', 'a=rtpmap:96 H264/90000'));
  assert.deepEqual(summary(video), ['info sdp.line-endings', 'problem sdp.m-missing', 'info sdp.m-other @6']);
  const m = (v: string) => lintText(ok.replace('m=audio 5004 RTP/AVP 96', `m=${v}`));
  assert.equal(find(m('audio five RTP/AVP 96'), 'sdp.m-malformed')?.line, 6);
  assert.equal(find(m('audio 0 RTP/AVP 96'), 'sdp.m-port-zero')?.severity, 'problem');
  assert.equal(find(m('audio 70000 RTP/AVP 96'), 'sdp.m-malformed')?.severity, 'problem');
  assert.match(find(m('audio 5005 RTP/AVP 96'), 'sdp.m-port-odd')!.detail!, /listens for RTP on 5006/);
  assert.equal(find(m('audio 5004/2 RTP/AVP 96'), 'sdp.m-port-count')?.severity, 'warn');
  assert.equal(find(m('audio 5004 RTP/SAVP 96'), 'sdp.srtp')?.severity, 'info');
  assert.equal(find(lintText(ok + 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n'), 'sdp.srtp')?.line, 9);
  assert.equal(find(m('audio 5004 RTP/AVPF 96'), 'sdp.m-proto')?.severity, 'info');
  assert.equal(find(m('audio 5004 udp 96'), 'sdp.m-proto')?.severity, 'problem');
  assert.match(find(m('audio 5004 UDP/TLS/RTP/SAVPF 96'), 'sdp.m-proto')!.detail!, /DTLS/);
  assert.equal(find(m('audio 5004 RTP/AVP 96 97'), 'sdp.m-multiple-pt')?.severity, 'info');
  assert.equal(find(m('audio 5004 RTP/AVP 128'), 'sdp.pt-invalid')?.severity, 'problem');
  assert.equal((find(m('audio 5004 RTP/AVP 73'), 'sdp.pt-invalid') as SdpFinding).rule, 'RFC 5761');
  const two = lintText(text(...HEAD, ...L16, 'm=audio 5010 RTP/AVP 97', 'a=rtpmap:97 opus/48000/2'));
  assert.deepEqual([find(two, 'sdp.m-multiple-audio')?.line, dataOf(two).stream.port], [9, 5004]);
});

test('rtpmap: missing for dynamic types (ffmpeg-specific hint), static types implicit or contradicted, malformed, duplicate, unused, wrong level', () => {
  const noMap = lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 97'));
  assert.match(find(noMap, 'sdp.rtpmap-missing')!.fix!, /a=rtpmap:97 L16\/48000\/2/);
  assert.match(find(lint('ffmpeg-5.1-pcm_s16le-no-rtpmap.sdp'), 'sdp.rtpmap-missing')!.fix!, /pcm_s16be/);
  assert.match(find(lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 35')), 'sdp.rtpmap-missing')!.title, /not statically assigned/);
  assert.equal(find(lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 0')), 'sdp.rtpmap-implicit')?.severity, 'info');
  assert.equal(find(lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 11', 'a=rtpmap:11 L16/44100/2')), 'sdp.rtpmap-static-conflict')?.severity, 'problem');
  assert.equal(find(lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 11', 'a=rtpmap:11 L16/44100')), 'sdp.rtpmap-static-conflict'), undefined, 'channels default to 1');
  assert.equal(find(lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000')), 'sdp.encoding-other')?.severity, 'info');
  assert.equal(find(lintText(ok.replace('a=rtpmap:96 L16/48000/2', 'a=rtpmap:96 L16 / 48000 / 2')), 'sdp.rtpmap-malformed')?.line, 7);
  assert.equal(find(lintText(ok + 'a=rtpmap:96 L16/44100/2\r\n'), 'sdp.rtpmap-duplicate')?.line, 9);
  assert.equal(find(lintText(ok + 'a=rtpmap:97 opus/48000/2\r\n'), 'sdp.rtpmap-unused')?.severity, 'info');
  // rtpmap above the m= line: ffmpeg never sees it, so the type stays unmapped
  const level = lintText(text(...HEAD, 'a=rtpmap:96 L16/48000/2', 'm=audio 5004 RTP/AVP 96'));
  assert.deepEqual(summary(level), ['info sdp.line-endings', 'ok sdp.c-local @4', 'warn sdp.attr-level @6', 'problem sdp.rtpmap-missing @7']);
});

test('L16: channel default, case, unusual rates and channel counts; packet size at a=ptime against the MTU', () => {
  const r = (map: string, ptime = 'a=ptime:5', c = 'c=IN IP4 192.168.1.20') => lintText(text(...HEAD.slice(0, 3), c, 't=0 0', 'm=audio 5004 RTP/AVP 96', map, ptime));
  assert.equal(find(r('a=rtpmap:96 L16/48000'), 'sdp.rtpmap-channels-default')?.severity, 'info');
  assert.equal(dataOf(r('a=rtpmap:96 L16/48000')).stream.channels, 1);
  assert.equal(find(r('a=rtpmap:96 l16/48000/2'), 'sdp.rtpmap-case')?.severity, 'info');
  assert.equal(find(r('a=rtpmap:96 L16/47999/2'), 'sdp.l16-rate')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:96 L16/48000/12', 'a=ptime:1'), 'sdp.l16-channels')?.severity, 'warn');
  // 48 kHz stereo: 7.6 ms = 1460 + 40 = 1500 bytes fits over IPv4; 7.7 ms does not
  assert.equal(find(r('a=rtpmap:96 L16/48000/2', 'a=ptime:7.6'), 'sdp.ptime-mtu')?.severity, 'ok');
  const big = find(r('a=rtpmap:96 L16/48000/2', 'a=ptime:7.7'), 'sdp.ptime-mtu')!;
  assert.deepEqual([big.severity, big.line, big.title], ['problem', 8, '7.7 ms of L16 48000 Hz 2 ch = 1520-byte packets, more than the 1500-byte MTU']);
  assert.match(big.fix!, /a=ptime:7\.5 or less \(rtpcast send --ptime 7\.5\)/);
  // IPv6 headers are 20 bytes bigger
  assert.equal(find(r('a=rtpmap:96 L16/48000/2', 'a=ptime:7.6', 'c=IN IP6 ::1'), 'sdp.ptime-mtu')?.severity, 'problem');
  assert.equal(find(r('a=rtpmap:96 L16/48000/2', 'a=ptime:abc'), 'sdp.ptime-invalid')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:96 L16/48000/2', 'a=ptime:0'), 'sdp.ptime-invalid')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:96 L16/48000/2', 'a=sendrecv'), 'sdp.ptime-missing')?.severity, 'info');
  assert.equal(find(lintText(text(...HEAD, 'a=ptime:5', 'm=audio 5004 RTP/AVP 96', 'a=rtpmap:96 L16/48000/2')), 'sdp.attr-level')?.line, 6);
});

test('Opus: rtpmap must be opus/48000/2; stereo/sprop-stereo; parameter ranges; FEC; ptime', () => {
  const r = (...extra: string[]) => lintText(text(...HEAD, 'm=audio 5004 RTP/AVP 111', ...extra));
  assert.equal(find(r('a=rtpmap:111 opus/48000'), 'sdp.opus-rtpmap')?.severity, 'problem');
  assert.equal(find(r('a=rtpmap:111 OPUS/48000/2'), 'sdp.opus-rtpmap'), undefined, 'case-insensitive');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 stereo=1; sprop-stereo=0'), 'sdp.opus-stereo')?.severity, 'warn');
  assert.equal(dataOf(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 stereo=1; sprop-stereo=0')).stream.channels, 2, 'as rtpcast play: either one');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 stereo=2'), 'sdp.opus-param')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 maxplaybackrate=96000'), 'sdp.opus-param')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 maxaveragebitrate=1000'), 'sdp.opus-param')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 maxaveragebitrate=64000'), 'sdp.opus-param'), undefined);
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 useinbandfec=1'), 'sdp.opus-fec')?.severity, 'info');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 stereo'), 'sdp.fmtp-malformed')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=fmtp:112 stereo=1'), 'sdp.fmtp-unused')?.severity, 'info');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=ptime:7'), 'sdp.opus-ptime')?.severity, 'warn');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=ptime:30'), 'sdp.opus-ptime'), undefined, '3 x 10 ms frames');
  assert.equal(find(r('a=rtpmap:111 opus/48000/2', 'a=ptime:240'), 'sdp.opus-ptime')?.severity, 'warn');
});

test('direction, source-filter (RFC 4570), a=rtcp (RFC 3605), rtcp-mux', () => {
  const r = (...extra: string[]) => lintText(ok + text(...extra));
  assert.equal(find(r('a=inactive'), 'sdp.direction')?.severity, 'warn');
  assert.equal(find(r('a=sendonly'), 'sdp.direction')?.severity, 'info');
  assert.equal(find(r('a=recvonly', 'a=sendrecv'), 'sdp.direction-duplicate')?.line, 10);
  assert.equal(dataOf(lintText(text(...HEAD, 'a=recvonly', ...L16))).stream.direction, 'recvonly', 'session level counts');
  assert.equal(find(r('a=source-filter: incl IN IP4 192.168.1.20 192.168.1.10'), 'sdp.source-filter')?.severity, 'info');
  assert.equal(find(r('a=source-filter:incl IN IP4 * 192.168.1.10'), 'sdp.source-filter')?.severity, 'info');
  assert.equal(find(r('a=source-filter: incl IN IP4 239.1.1.1 192.168.1.10'), 'sdp.source-filter-mismatch')?.severity, 'warn');
  assert.equal(find(r('a=source-filter: include 192.168.1.10'), 'sdp.source-filter-malformed')?.severity, 'warn');
  assert.match(find(r('a=rtcp:6000'), 'sdp.rtcp')!.title, /RTCP on port 6000 \(not RTP port \+ 1 = 5005\)/);
  assert.match(find(r('a=rtcp:5005 IN IP4 192.168.1.10'), 'sdp.rtcp')!.title, /^RTCP on port 5005 at 192\.168\.1\.10$/);
  assert.equal(find(r('a=rtcp:port'), 'sdp.rtcp-malformed')?.severity, 'warn');
  assert.equal(find(r('a=rtcp-mux'), 'sdp.rtcp-mux')?.severity, 'info');
});

test('never throws, always answers with check "sdp", on random and mangled input', () => {
  const rnd = mulberry32(4566);
  const pieces = ['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=', 'c=IN IP4 239.1.1.1/', 'c=IN IP6 ff02::1/', 't=0 0', 'm=audio', 'm=audio 5004 RTP/AVP', 'm=audio 5004 RTP/AVP 96 x', 'a=rtpmap:96', 'a=rtpmap:96 opus/48000/2', 'a=fmtp:96 ;;=;', 'a=ptime:', 'a=source-filter:', 'a=rtcp:', '', '\r', '=', 'é', '\0', 'a=fmtp:96 stereo=1'];
  for (let i = 0; i < 500; i++) {
    const n = Math.floor(rnd() * 12);
    const t = Array.from({ length: n }, () => pieces[Math.floor(rnd() * pieces.length)]).join(rnd() < 0.5 ? '\r\n' : '\n');
    const r = lintSdp(t, { localAddresses: rnd() < 0.5 ? ['1.2.3.4'] : undefined });
    assert.equal(r.check, 'sdp');
    assert.ok(Array.isArray(r.findings));
    const bytes = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
    assert.equal(lintSdp(bytes).check, 'sdp');
  }
});
