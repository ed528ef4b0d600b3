/**
 * SRTP (AES_CM_128_HMAC_SHA1_80) against a real peer that does SRTP: ffmpeg's srtp protocol.
 *
 * 1. rtpcast send --srtp -> ffmpeg, from the SDP rtpcast wrote (RTP/SAVP, a=crypto, mode 0600):
 *      ffmpeg -protocol_whitelist file,udp,rtp,srtp -i s.sdp out.wav
 *    ffmpeg's SDP demuxer reads a=crypto and opens srtp://; the decoded tone is checked
 *    (frequency, duration, gaps, phase, level). The same with the SDP of another key: ffmpeg
 *    decodes nothing (it does authenticate).
 * 2. ffmpeg -f rtp -srtp_out_suite ... -srtp_out_params KEY srtp:// -> rtpcast play, from
 *    ffmpeg's SDP (RTP/AVP with a=crypto): the played tone is checked, SRTCP too.
 * 3. A third party without the key sends to play's port while rtpcast send --srtp streams
 *    through a forwarding hop of this test: forged plain RTP and SRTP under another key (same
 *    SSRC, sequence numbers just ahead, a loud 3 kHz tone), and replays of genuine packets.
 *    Every forgery is counted as an authentication failure, every replay as a replay, and the
 *    3 kHz tone is nowhere in what play wrote.
 * 4. play with the SDP of another key: nothing is played, and it says "wrong key?".
 * 5. rtpcast diag packets on an SRTP stream: recognised from its SRTCP without the SDP; with the
 *    SDP of another key, "wrong key?"; with the sender's, authenticated.
 *
 * The sender is run twice per case (once to write the SDP, once for real), so the key is
 * fixed with --srtp-key; rtpcast's own key generation is covered by test/cli/srtp-cli.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deinterleave, parseWav } from '../../src/audio/wav';
import { masterKeyFrom, SrtpProtector } from '../../src/rtp/srtp';
import { FFMPEG_SRTP_PROTOCOLS } from '../../src/sdp/crypto';
import { parseSdpStream } from '../../src/sdp/parse';
import {
  assertTone, checkTone, config, makeWorkDir, portAllocator, removeWorkDir, requireProgram, RTPCAST_CLI, sendTone, startReceiver, summary, TONE_PEAK_DBFS, writeSdp,
  type Receiver, type StreamConfig,
} from '../support/peers';
import { Procs, waitForUdpBound, type Proc } from '../support/procs';
import { checkPlayedWav, cleanConcealBoundMs, concealedMs, playFinished, referenceTone, startPlay, stopPlayAfterReceiving, warnings, type PlayStatusJson } from '../support/play-helpers';

const port = portAllocator(28700);
const TONE_SECONDS = 3;
const MAX_GAP_MS = 30;
const TONE_RMS_DBFS = TONE_PEAK_DBFS - 20 * Math.log10(Math.SQRT2);

interface SrtpStats {
  suite: string;
  rtp: number;
  rtcp: number;
  authFailed: number;
  replayed: number;
  malformed: number;
}
type StopWithSrtp = PlayStatusJson & { srtp?: SrtpStats };

/** ffmpeg reading an SDP with a=crypto: srtp must be on the protocol whitelist. */
const FFMPEG_SRTP: Receiver = {
  id: 'ffmpeg-srtp',
  name: 'ffmpeg (SRTP)',
  require: () => void requireProgram('ffmpeg'),
  argv: (c) => ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-protocol_whitelist', FFMPEG_SRTP_PROTOCOLS, '-i', c.sdpPath, '-t', String(c.sendSeconds + 2), '-y', c.out],
  bindTimeoutMs: 10_000,
  async finish(p) {
    if (!(await p.waitExit(4000))) await p.stop('SIGINT', 4000);
  },
  channels: (cfg) => (cfg.codec === 'opus' ? [2] : [cfg.channels]),
};

const b64key = () => randomBytes(30).toString('base64');

/** The SDP rtpcast wrote: private, RTP/SAVP, the key given. Then readable for the peer. */
function checkSrtpSdp(path: string, key: string): string {
  const mode = statSync(path).mode & 0o777;
  assert.equal(mode, 0o600, `rtpcast wrote the SDP holding the key with mode ${mode.toString(8)}, not 600`);
  const text = readFileSync(path, 'utf8');
  const s = parseSdpStream(text);
  assert.equal(s.protocol, 'RTP/SAVP', text);
  assert.deepEqual(s.crypto, [`1 AES_CM_128_HMAC_SHA1_80 inline:${key}`], text);
  return text;
}

describe('interop SRTP: rtpcast send --srtp -> ffmpeg (srtp protocol, from the SDP)', () => {
  for (const cfg of [config('l16-48k-stereo'), config('opus-stereo')]) {
    const p = port();
    test(`ffmpeg decrypts ${cfg.label} and decodes the tone`, { timeout: 60_000 }, async (t) => {
      FFMPEG_SRTP.require();
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`srtp-ffmpeg-${cfg.id}`);
      let keep = false;
      try {
        const key = b64key();
        const flags = ['--srtp', '--srtp-key', key];
        const dest = `127.0.0.1:${p}`;
        const sdpPath = join(dir, 's.sdp');
        const out = join(dir, 'out.wav');
        const printed = await writeSdp(procs, cfg, cfg.hz, [dest], sdpPath, [], flags);
        const sdpText = checkSrtpSdp(sdpPath, key);
        assert.ok(printed[0].commands.some((c) => c.player === 'ffmpeg' && c.command.includes(`-protocol_whitelist ${FFMPEG_SRTP_PROTOCOLS}`)), `rtpcast printed no ffmpeg command that allows srtp: ${JSON.stringify(printed)}`);
        assert.ok(!JSON.stringify(printed).includes(key), 'the key must not appear in the printed commands');
        const ctx = { sdpPath, sdp: parseSdpStream(sdpText), out, sendSeconds: TONE_SECONDS, printed: printed[0].commands };
        const rec = await startReceiver(procs, FFMPEG_SRTP, ctx);
        const sender = await sendTone(procs, cfg, cfg.hz, [dest], sdpPath, TONE_SECONDS, [], flags);
        await FFMPEG_SRTP.finish(rec, ctx);
        const check = checkTone(out, { hz: cfg.hz, sendSeconds: TONE_SECONDS, sentChannels: cfg.channels, channels: FFMPEG_SRTP.channels(cfg) });
        t.diagnostic(`ffmpeg (SRTP) | ${cfg.label} | ${summary(check)}`);
        keep = check.failures.length > 0;
        assertTone(check, `ffmpeg receiving SRTP ${cfg.label} (tone ${cfg.hz} Hz, ${TONE_SECONDS} s)`, { receiver: rec, sender, sdpText, extra: keep ? `files kept in ${dir}` : undefined });
      } finally {
        await procs.cleanup();
        if (!keep) removeWorkDir(dir);
      }
    });
  }

  const p = port();
  test('ffmpeg with the SDP of another key decodes nothing (it authenticates)', { timeout: 60_000 }, async () => {
    FFMPEG_SRTP.require();
    requireProgram('ss');
    const cfg = config('l16-48k-stereo');
    const procs = new Procs();
    const dir = makeWorkDir('srtp-ffmpeg-wrongkey');
    try {
      const dest = `127.0.0.1:${p}`;
      const sdpPath = join(dir, 's.sdp');
      const out = join(dir, 'out.wav');
      const printed = await writeSdp(procs, cfg, cfg.hz, [dest], sdpPath, [], ['--srtp', '--srtp-key', b64key()]);
      const sdpText = readFileSync(sdpPath, 'utf8');
      const ctx = { sdpPath, sdp: parseSdpStream(sdpText), out, sendSeconds: TONE_SECONDS, printed: printed[0].commands };
      const rec = await startReceiver(procs, FFMPEG_SRTP, ctx);
      // the real run with another key (the SDP file it writes is ignored: ffmpeg read the first)
      await sendTone(procs, cfg, cfg.hz, [dest], join(dir, 'other.sdp'), TONE_SECONDS, [], ['--srtp', '--srtp-key', b64key()]);
      await FFMPEG_SRTP.finish(rec, ctx);
      const check = checkTone(out, { hz: cfg.hz, sendSeconds: TONE_SECONDS, sentChannels: 2, channels: [2] });
      const active = check.perChannel.map((c) => c.activeSeconds);
      assert.ok(active.every((a) => a === 0), `ffmpeg decoded ${active.join('/')} s of sound from packets under another key:\n${rec.describe()}`);
    } finally {
      await procs.cleanup();
      removeWorkDir(dir);
    }
  });
});

describe('interop SRTP: ffmpeg -f rtp srtp:// -> rtpcast play (ffmpeg\'s SDP)', () => {
  const cases = [
    { id: 'l16', label: 'L16 48 kHz stereo', hz: 730, codec: ['-c:a', 'pcm_s16be'] },
    { id: 'opus', label: 'Opus stereo 128 kb/s', hz: 1030, codec: ['-c:a', 'libopus', '-b:a', '128k'] },
  ];
  for (const c of cases) {
    const p = port();
    test(`rtpcast play decrypts ffmpeg's ${c.label}, ${c.hz} Hz`, { timeout: 60_000 }, async (t) => {
      requireProgram('ffmpeg');
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`srtp-play-ffmpeg-${c.id}`);
      let keep = false;
      try {
        const key = b64key();
        const sdp = join(dir, 's.sdp');
        const out = join(dir, 'out.wav');
        const ref = join(dir, 'ref.wav');
        const ff = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin'];
        const sine = (secs: number) => `sine=frequency=${c.hz}:sample_rate=48000:duration=${secs}`;
        const srtpOut = ['-f', 'rtp', '-srtp_out_suite', 'AES_CM_128_HMAC_SHA1_80', '-srtp_out_params', key];
        const r0 = await procs.run([...ff, '-f', 'lavfi', '-i', sine(TONE_SECONDS), '-ac', '2', '-c:a', 'pcm_s16le', '-y', ref], 20_000);
        assert.equal(r0.exit?.code, 0, r0.describe());
        const reference = referenceTone(ref, c.hz);
        // a short run writes ffmpeg's SDP (with a=crypto)
        const r1 = await procs.run([...ff, '-re', '-f', 'lavfi', '-i', sine(0.05), '-ac', '2', ...c.codec, ...srtpOut, '-sdp_file', sdp, `srtp://127.0.0.1:${p}`], 20_000);
        assert.equal(r1.exit?.code, 0, r1.describe());
        const sdpText = readFileSync(sdp, 'utf8');
        assert.deepEqual(parseSdpStream(sdpText).crypto, [`1 AES_CM_128_HMAC_SHA1_80 inline:${key}`], `ffmpeg's SDP:\n${sdpText}`);
        const play = await startPlay(procs, [sdp, '--out', out, '--json', '--duration', String(TONE_SECONDS + 12)], p);
        const sender = procs.start([...ff, '-re', '-f', 'lavfi', '-i', `${sine(TONE_SECONDS)},apad=pad_dur=2`, '-ac', '2', ...c.codec, ...srtpOut, `srtp://127.0.0.1:${p}`]);
        const stop = (await stopPlayAfterReceiving(play, TONE_SECONDS + 0.6, 20_000)) as StopWithSrtp;
        const se = await sender.waitExit(15_000);
        assert.ok(se && se.code === 0, sender.describe());
        const check = checkPlayedWav(out, { hz: c.hz, channels: 2, toneSeconds: reference.activeSeconds, levelDbfs: reference.levelDbfs, maxGapMs: MAX_GAP_MS });
        const f = [...check.failures];
        const s = stop.srtp;
        if (!s) f.push('the stop event has no srtp statistics');
        else {
          if (s.authFailed || s.malformed || s.replayed) f.push(`SRTP drops on a clean path: ${JSON.stringify(s)}`);
          if (stop.stream && s.rtp !== stop.stream.packets) f.push(`${s.rtp} packets decrypted, ${stop.stream.packets} counted by the stream`);
          if (s.rtp < (TONE_SECONDS * 1000) / 25) f.push(`only ${s.rtp} SRTP packets decrypted`);
          if (s.rtcp < 1) f.push('no SRTCP packet from ffmpeg was decrypted (ffmpeg sends an RTCP SR at the start)');
        }
        if (stop.stream && stop.stream.lostPct !== 0) f.push(`loss ${stop.stream.lostPct}% on loopback`);
        t.diagnostic(`ffmpeg SRTP ${c.label} -> play: srtp ${JSON.stringify(s)}; ${check.perChannel.map((r) => `f=${r.frequencyHz.toFixed(2)} active=${r.activeSeconds.toFixed(3)} level=${r.levelDbfs.toFixed(2)}`).join(' | ')}`);
        keep = f.length > 0;
        assert.deepEqual(f, [], `${f.join('\n')}\nfiles kept in ${dir}\n${play.describe()}\n${sender.describe()}`);
      } finally {
        await procs.cleanup();
        if (!keep) removeWorkDir(dir);
      }
    });
  }
});

/** A UDP hop between sender and player (RTP and RTCP), through which the test replays genuine packets. */
async function forwarder(listenPort: number, toPort: number): Promise<{ rtp: Socket; rtcp: Socket; forwarded: Buffer[]; close(): Promise<void> }> {
  const forwarded: Buffer[] = [];
  const out = createSocket('udp4');
  await new Promise<void>((r) => out.bind(0, '127.0.0.1', () => r()));
  const open = async (lp: number, tp: number, keep: boolean) => {
    const s = createSocket('udp4');
    s.on('message', (m) => {
      if (keep) forwarded.push(m);
      out.send(m, tp, '127.0.0.1');
    });
    await new Promise<void>((r) => s.bind(lp, '127.0.0.1', () => r()));
    return s;
  };
  const rtp = await open(listenPort, toPort, true);
  const rtcp = await open(listenPort + 1, toPort + 1, false);
  return {
    rtp, rtcp, forwarded,
    close: async () => {
      await Promise.all([rtp, rtcp, out].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Amplitude of the component at `cycles` per sample in x[start..start+n), Hann-windowed. */
function hannAmplitude(x: Float32Array, start: number, n: number, cycles: number): number {
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const ph = 2 * Math.PI * cycles * i;
    re += x[start + i] * w * Math.cos(ph);
    im -= x[start + i] * w * Math.sin(ph);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

/** L16 48 kHz stereo RTP packet (5 ms) of a full-scale 3 kHz tone. */
function loudPacket(seq: number, ts: number, ssrc: number): Buffer {
  const b = Buffer.alloc(12 + 960);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  for (let i = 0; i < 240; i++) {
    const v = Math.round(32000 * Math.sin((2 * Math.PI * 3000 * (ts + i)) / 48000));
    b.writeInt16BE(v, 12 + i * 4);
    b.writeInt16BE(v, 14 + i * 4);
  }
  return b;
}

describe('interop SRTP: injection and replay on the port of rtpcast play', () => {
  const playPort = port();
  const hopPort = port();
  test('forged packets (no key, another key) are counted as authentication failures and never heard; replays are counted as replays', { timeout: 60_000 }, async (t) => {
    requireProgram('ss');
    const cfg: StreamConfig = config('l16-48k-stereo');
    const hz = cfg.hz;
    const procs = new Procs();
    const dir = makeWorkDir('srtp-inject');
    let keep = false;
    const hop = await forwarder(hopPort, playPort);
    const attacker = createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    let timer: NodeJS.Timeout | undefined;
    try {
      const key = b64key();
      const flags = ['--srtp', '--srtp-key', key];
      const sdp = join(dir, 's.sdp');
      const out = join(dir, 'out.wav');
      await writeSdp(procs, cfg, hz, [`127.0.0.1:${playPort}`], sdp, [], flags);
      const play = await startPlay(procs, [sdp, '--out', out, '--json', '--until-bye', '--duration', String(TONE_SECONDS + 10)], playPort);
      // every 20 ms while the stream runs: one forgery of each kind, and one replay of a genuine packet
      const wrongKey = new SrtpProtector(masterKeyFrom(randomBytes(30)));
      let forged = 0;
      let replays = 0;
      timer = setInterval(() => {
        const last = hop.forwarded[hop.forwarded.length - 1];
        if (!last || hop.forwarded.length < 10) return;
        const seq = last.readUInt16BE(2);
        const ts = last.readUInt32BE(4);
        const ssrc = last.readUInt32BE(8);
        // just ahead of the real stream, same SSRC: accepted, these would play instead of the tone
        attacker.send(loudPacket(seq + 1, ts + 240, ssrc), playPort, '127.0.0.1');
        attacker.send(wrongKey.protectRtp(loudPacket(seq + 2, ts + 480, ssrc)), playPort, '127.0.0.1');
        forged += 2;
        attacker.send(hop.forwarded[hop.forwarded.length - 5], playPort, '127.0.0.1');
        replays++;
      }, 20);
      const sender = await sendTone(procs, cfg, hz, [`127.0.0.1:${hopPort}`], join(dir, 'sender.sdp'), TONE_SECONDS, [], flags);
      clearInterval(timer);
      timer = undefined;
      const stop = (await playFinished(play, 15_000)) as StopWithSrtp;
      const f: string[] = [];
      const s = stop.srtp;
      if (!s) f.push('the stop event has no srtp statistics');
      else {
        if (s.authFailed !== forged) f.push(`${forged} forged packets sent, ${s.authFailed} counted as authentication failures`);
        if (s.replayed !== replays) f.push(`${replays} genuine packets replayed, ${s.replayed} counted as replays`);
        if (s.rtp !== hop.forwarded.length) f.push(`${hop.forwarded.length} genuine packets forwarded, ${s.rtp} decrypted`);
      }
      if (forged < 100) f.push(`only ${forged} forgeries were sent: the test did not run long enough to show anything`);
      if (!warnings(play).some((w) => /failed SRTP authentication while the stream authenticates/.test(w))) f.push(`no warning about injected packets: ${JSON.stringify(warnings(play))}`);
      if (stop.others.length) f.push(`forgeries reached the sender lock: ${JSON.stringify(stop.others)}`);
      if (stop.stream && stop.stream.duplicates) f.push(`${stop.stream.duplicates} duplicates reached the stream statistics (replays must stop at SRTP)`);
      const check = checkPlayedWav(out, { hz, channels: 2, toneSeconds: TONE_SECONDS, levelDbfs: TONE_RMS_DBFS, maxGapMs: MAX_GAP_MS });
      f.push(...check.failures);
      // concealment only for lateness (the forwarding hop adds jitter), as on any clean path
      if (concealedMs(stop) > cleanConcealBoundMs(stop)) f.push(`concealed ${concealedMs(stop).toFixed(1)} ms, more than lateness explains (${cleanConcealBoundMs(stop).toFixed(1)} ms)`);
      // the injected 3 kHz tone, if one packet got through, is 5 ms at full scale: its amplitude in
      // a 20 ms Hann window would be about 0.1; the real 870 Hz tone leaks < 1e-5 into 3 kHz there
      const pcm = parseWav(readFileSync(out));
      const left = deinterleave(pcm.samples, pcm.channels)[0];
      let worst = 0;
      for (let i = 0; i + 960 <= left.length; i += 240) worst = Math.max(worst, hannAmplitude(left, i, 960, 3000 / pcm.rate));
      if (worst > 0.005) f.push(`the injected 3 kHz tone is audible: amplitude ${worst.toFixed(4)} in some 20 ms window`);
      t.diagnostic(`forged ${forged}, replayed ${replays}, genuine ${hop.forwarded.length}; play srtp ${JSON.stringify(s)}; 3 kHz amplitude at most ${worst.toExponential(1)} (injected: 0.98); ${check.perChannel.map((r) => `f=${r.frequencyHz.toFixed(2)} active=${r.activeSeconds.toFixed(3)}`).join(' | ')}`);
      keep = f.length > 0;
      assert.deepEqual(f, [], `${f.join('\n')}\nfiles kept in ${dir}\n${play.describe().split('\n').filter((l) => !l.includes('"event":"status"')).join('\n')}\n${sender.describe()}`);
    } finally {
      if (timer) clearInterval(timer);
      attacker.close();
      await hop.close();
      await procs.cleanup();
      if (!keep) removeWorkDir(dir);
    }
  });
});

describe('interop SRTP: rtpcast play with the wrong key', () => {
  const p = port();
  test('nothing is played, every packet is counted, and play says "wrong key?"', { timeout: 60_000 }, async () => {
    requireProgram('ss');
    const cfg = config('opus-stereo');
    const procs = new Procs();
    const dir = makeWorkDir('srtp-wrongkey');
    try {
      const sdp = join(dir, 's.sdp');
      const out = join(dir, 'out.wav');
      await writeSdp(procs, cfg, cfg.hz, [`127.0.0.1:${p}`], sdp, [], ['--srtp', '--srtp-key', b64key()]);
      const play = await startPlay(procs, [sdp, '--out', out, '--json', '--duration', String(TONE_SECONDS + 1.5)], p);
      const sender: Proc = await sendTone(procs, cfg, cfg.hz, [`127.0.0.1:${p}`], join(dir, 'sender.sdp'), TONE_SECONDS, [], ['--srtp', '--srtp-key', b64key()]);
      const stop = (await playFinished(play, 15_000)) as StopWithSrtp;
      const s = stop.srtp;
      assert.ok(s, `no srtp statistics:\n${play.describe()}`);
      assert.equal(s.rtp, 0, 'a packet under another key was decrypted');
      assert.ok(s.authFailed >= (TONE_SECONDS * 1000) / 20 - 5, `only ${s.authFailed} authentication failures for ${TONE_SECONDS} s of 20 ms packets`);
      assert.equal(stop.stream?.packets ?? 0, 0, 'packets under another key reached the stream statistics');
      const w = warnings(play).find((x) => /failed SRTP authentication and none passed: wrong key\?/.test(x));
      assert.ok(w, `no "wrong key?" warning: ${JSON.stringify(warnings(play))}\n${sender.describe()}`);
      assert.ok(w.includes(sdp), `the warning names the SDP: ${w}`);
      const pcm = parseWav(readFileSync(out));
      const peak = pcm.samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assert.equal(peak, 0, 'play wrote sound although nothing authenticated');
    } finally {
      await procs.cleanup();
      removeWorkDir(dir);
    }
  });
});

describe('interop SRTP: rtpcast diag packets on an SRTP stream', () => {
  const p = port();
  test('without the SDP: SRTCP tells it is SRTP (not "port off by one"); with the SDP of another key: "wrong key?"', { timeout: 60_000 }, async () => {
    requireProgram('ss');
    const cfg = config('opus-stereo');
    const procs = new Procs();
    const dir = makeWorkDir('srtp-diag');
    try {
      const wrong = join(dir, 'wrong.sdp');
      await writeSdp(procs, cfg, cfg.hz, [`127.0.0.1:${p}`], wrong, [], ['--srtp', '--srtp-key', b64key()]);
      const diag = (args: string[]) => procs.start([process.execPath, RTPCAST_CLI, 'diag', 'packets', '--port', String(p), '--json', ...args]);
      type Report = { findings: { id: string; severity: string; title: string }[]; conclusion?: string };
      const report = async (d: Proc): Promise<Report> => {
        const e = await d.waitExit(30_000);
        assert.ok(e, `diag did not finish:\n${d.describe()}`);
        const j = JSON.parse(d.stdout) as Report | Report[];
        return Array.isArray(j) ? j[0] : j;
      };
      // 1: listening before the sender starts, so its first SRTCP (an SR at the start) is seen
      const d1 = diag(['--duration', '3']);
      await waitForUdpBound(p + 1, d1);
      const sender = procs.start([...senderArgvFor(cfg, p, join(dir, 's.sdp')), '--srtp', '--duration', '8']);
      const r1 = await report(d1);
      const ids1 = r1.findings.map((f) => f.id);
      assert.ok(ids1.includes('packets.srtp-detected'), `no SRTP finding: ${JSON.stringify(r1.findings)}`);
      for (const bad of ['packets.rtcp-port-other', 'packets.no-rtcp']) assert.ok(!ids1.includes(bad), `${bad} for SRTCP: ${JSON.stringify(r1.findings)}`);
      assert.ok(!r1.findings.some((f) => f.severity === 'problem'), `problems on a healthy SRTP stream: ${JSON.stringify(r1.findings)}`);
      // 2: the SDP of another key
      const r2 = await report(diag(['--duration', '1.5', '--sdp', wrong]));
      const w = r2.findings.find((f) => f.id === 'packets.srtp-wrong-key');
      assert.ok(w && w.severity === 'problem' && /wrong key\?/.test(w.title), JSON.stringify(r2.findings));
      assert.equal(r2.conclusion, w.title);
      // 3: the sender's own SDP (written when it started)
      const r3 = await report(diag(['--duration', '1.5', '--sdp', join(dir, 's.sdp')]));
      const ok = r3.findings.find((f) => f.id === 'packets.srtp');
      assert.ok(ok && ok.severity === 'ok', JSON.stringify(r3.findings));
      await sender.stop('SIGINT', 5000);
    } finally {
      await procs.cleanup();
      removeWorkDir(dir);
    }
  });
});

function senderArgvFor(cfg: StreamConfig, p: number, sdp: string): string[] {
  return [process.execPath, RTPCAST_CLI, 'send', '--tone', String(cfg.hz), ...cfg.args, '--dest', `127.0.0.1:${p}`, '--sdp', sdp, '--quiet'];
}
