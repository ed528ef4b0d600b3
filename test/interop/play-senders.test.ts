/**
 * rtpcast play against real senders on 127.0.0.1: rtpcast send, ffmpeg, GStreamer and
 * PulseAudio's module-rtp-send. Each sender sends a tone of a known frequency; rtpcast play
 * records it (--out OUT.wav --json) and the test checks the recording (frequency, gaps, length,
 * channels, level) and play's final statistics (no concealment on a clean path, no loss).
 *
 * How each run ends:
 * - rtpcast send says goodbye (RTCP BYE): play runs with --until-bye (--duration only bounds it).
 * - ffmpeg and GStreamer send no RTCP BYE. When a stream just stops, play cannot tell the end
 *   from an outage and, by design, conceals for its 100 ms stall threshold (Opus PLC carries
 *   the tone on and then warbles): that would be measured as tone, gaps and concealment that
 *   are not in the stream. So these senders append 2 s of digital silence to the tone (ffmpeg:
 *   apad; GStreamer: a silent audiotestsrc mixed in with audiomixer) and play is stopped like
 *   Ctrl-C (SIGINT) once it has received the tone and 0.6 s of that silence.
 * - PulseAudio is live (it sends the sink's monitor all along): play runs with --duration.
 *
 * PulseAudio also announces the stream by SAP; here its streams are played with --port (and
 * --codec/--rate/--pt where the payload type is dynamic). `rtpcast play --sap` is tested in
 * play-sap-pulse.test.ts.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSdpStream } from '../../src/sdp/parse';
import { config, makeWorkDir, removeWorkDir, requireProgram, RTPCAST_CLI, sendTone, TONE_PEAK_DBFS, writeSdp, type StreamConfig } from '../support/peers';
import { Procs, type Proc } from '../support/procs';
import { PulseDaemon } from '../support/pulse';
import {
  checkPlayedWav, cleanConcealBoundMs, concealedMs, fmtRow, playEvents, playFinished, referenceTone, startPlay, stopPlayAfterReceiving, waitUntilSending, warnings,
  type PlayedExpectation, type PlayStatusJson, type ResultRow,
} from '../support/play-helpers';

const TONE_SECONDS = 3;
/** silence appended by senders that send no RTCP BYE */
const PAD_SECONDS = 2;
/** those senders: play is stopped once it has received this much of the stream */
const STOP_AFTER_SECONDS = TONE_SECONDS + 0.6;
/** PulseAudio (live): seconds recorded */
const LIVE_SECONDS = 4;
const MAX_GAP_MS = 30;
/** RMS of rtpcast's and the PulseAudio test's tone: -12 dBFS peak */
const TONE_RMS_DBFS = TONE_PEAK_DBFS - 20 * Math.log10(Math.SQRT2);

let nextPort = 26100;
const port = () => {
  const p = nextPort;
  nextPort += 2;
  return p;
};

const rows: ResultRow[] = [];
after(() => {
  if (!rows.length) return;
  // eslint-disable-next-line no-console
  console.log(`\nrtpcast play, per sender:\n${rows.map((r) => '  ' + fmtRow(r)).join('\n')}\n`);
});

interface CaseResult {
  stop: PlayStatusJson;
  play: Proc;
}

/**
 * Checks play's final statistics and the WAV, reports the row, and fails with everything a CI
 * log needs. The work dir is kept (and named) on failure.
 */
function verdict(t: TestContext, what: { sender: string; stream: string; hz: number; channels: number; pt?: number; sentPackets?: number }, out: string, exp: PlayedExpectation, r: CaseResult, procs: Proc[], dir: string): boolean {
  const check = checkPlayedWav(out, exp);
  const { stop, play } = r;
  const f = [...check.failures];
  const start = playEvents(play).find((e) => e.event === 'start');
  if (start?.event !== 'start') f.push('play printed no start event');
  else if (check.pcm && check.pcm.channels !== start.stream.channels) f.push(`the WAV has ${check.pcm.channels} channel(s), play took the stream as ${start.stream.channels}`);
  const st = stop.stream;
  if (!st) f.push('play received no RTP (no stream statistics in the stop event)');
  else {
    if (st.lostPct !== 0) f.push(`stream.lostPct ${st.lostPct.toFixed(2)}% on a clean loopback (${st.lost} of ${st.expected} packets)`);
    if (what.pt !== undefined && st.payloadType !== what.pt) f.push(`played payload type ${st.payloadType}, the sender sends ${what.pt}`);
    if (what.sentPackets !== undefined && st.packets !== what.sentPackets) {
      f.push(
        `the sender sent ${what.sentPackets} RTP packets, play counted ${st.packets} (of ${st.expected} expected, ${st.lost} lost): ` +
          `${what.sentPackets - st.packets} packet(s) neither counted nor lost` +
          (what.sentPackets - st.packets === 1 ? ' (with --port alone, the first packet, whose payload type tells play the format, is dropped: src/session/play.ts returns after start(specFromFirstPacket(...)))' : ''),
      );
    }
  }
  const bound = cleanConcealBoundMs(stop);
  const c = concealedMs(stop);
  if (c > bound) {
    f.push(
      `concealed ${c.toFixed(1)} ms (plc ${stop.player.concealedMs.plc.toFixed(1)} + fade ${stop.player.concealedMs.fade.toFixed(1)}) on a clean loopback; ` +
        `the packets were at most ${st?.maxSkewMs.toFixed(1)} ms late and there were ${stop.player.underruns} underrun(s), which allow ${bound.toFixed(1)} ms`,
    );
  }
  if (stop.player.concealedMs.fec > 0) f.push(`Opus FEC rebuilt ${stop.player.concealedMs.fec.toFixed(1)} ms on a loss-free path`);
  if (stop.dropped.wrongPt || stop.dropped.malformed) f.push(`dropped packets: ${JSON.stringify(stop.dropped)}`);
  if (stop.others.length) f.push(`other senders seen: ${JSON.stringify(stop.others)}`);
  const row: ResultRow = { sender: what.sender, stream: what.stream, hz: what.hz, check, stop };
  rows.push(row);
  t.diagnostic(fmtRow(row));
  if (f.length) {
    assert.fail(
      [
        `${what.sender} (${what.stream}, ${what.hz} Hz) played by rtpcast: ${f.length} problem(s):`,
        ...f.map((x) => `  - ${x}`),
        `per channel: ${JSON.stringify(check.perChannel)}`,
        `gaps: ${JSON.stringify(check.gaps)}`,
        `stop event: ${JSON.stringify(stop)}`,
        `warnings: ${JSON.stringify(warnings(play))}`,
        `files kept in ${dir}`,
        ...procs.map((p) => `--- ${p.argv[0].endsWith('node') ? 'rtpcast' : p.argv[0]} ---\n${p.describe().split('\n').filter((l) => !l.includes('"event":"status"')).join('\n')}`),
      ].join('\n'),
    );
  }
  return f.length === 0;
}

// ---------------------------------------------------------------------------------------------
// 1. rtpcast send

describe('rtpcast play <- rtpcast send (its own SDP, --until-bye)', () => {
  const cases: { cfg: StreamConfig; hz: number }[] = [
    { cfg: config('l16-44k-stereo'), hz: 630 },
    { cfg: config('l16-48k-stereo'), hz: 870 },
    { cfg: config('opus-stereo'), hz: 1030 },
    { cfg: config('opus-mono'), hz: 730 },
  ];
  for (const { cfg, hz } of cases) {
    const p = port();
    test(`rtpcast send ${cfg.label}, ${hz} Hz`, { timeout: 60_000 }, async (t) => {
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`play-rtpcast-${cfg.id}`);
      let ok = false;
      try {
        const sdp = join(dir, 's.sdp');
        const out = join(dir, 'out.wav');
        await writeSdp(procs, cfg, hz, [`127.0.0.1:${p}`], sdp);
        const play = await startPlay(procs, [sdp, '--out', out, '--json', '--until-bye', '--duration', String(TONE_SECONDS + 10)], p);
        const sender = await sendTone(procs, cfg, hz, [`127.0.0.1:${p}`], sdp, TONE_SECONDS);
        const stop = await playFinished(play, 15_000);
        assert.ok(warnings(play).some((w) => w.includes('goodbye')), `play never saw rtpcast's RTCP BYE:\n${play.describe()}`);
        ok = verdict(t, { sender: 'rtpcast send', stream: cfg.label, hz, channels: cfg.channels, pt: cfg.expectPt }, out, {
          hz, channels: cfg.channels, toneSeconds: TONE_SECONDS, levelDbfs: TONE_RMS_DBFS, maxGapMs: MAX_GAP_MS,
        }, { stop, play }, [play, sender], dir);
      } finally {
        await procs.cleanup();
        if (ok) removeWorkDir(dir);
      }
    });
  }
});

describe('rtpcast play --port alone <- rtpcast send L16 44.1 kHz (static payload type, no SDP)', () => {
  const p = port();
  const hz = 630;
  test(`rtpcast send L16 44.1 kHz stereo (PT 10), ${hz} Hz, played with --port only: every packet sent is received`, { timeout: 60_000 }, async (t) => {
    requireProgram('ss');
    const procs = new Procs();
    const dir = makeWorkDir('play-rtpcast-port-only');
    let ok = false;
    try {
      const out = join(dir, 'out.wav');
      // no SDP, no --codec: play learns L16/44100/2 from payload type 10 in the first packet, so it
      // prints `start` only then (waitStart false)
      const play = await startPlay(procs, ['--port', String(p), '--out', out, '--json', '--until-bye', '--duration', String(TONE_SECONDS + 10)], p, { waitStart: false });
      const sender = await procs.run([process.execPath, RTPCAST_CLI, 'send', '--tone', String(hz), '--codec', 'l16', '--rate', '44100', '--channels', '2', '--dest', `127.0.0.1:${p}`, '--duration', String(TONE_SECONDS), '--json'], (TONE_SECONDS + 15) * 1000);
      assert.equal(sender.exit?.code, 0, sender.describe());
      const sent = sender.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { event: string; packets?: number }).find((e) => e.event === 'stop')?.packets;
      assert.ok(sent !== undefined && sent > 0, `rtpcast send printed no stop event with a packet count:\n${sender.describe()}`);
      const stop = await playFinished(play, 15_000);
      const start = playEvents(play).find((e) => e.event === 'start');
      assert.equal(start?.event === 'start' ? start.stream.payloadType : undefined, 10, `play did not take the stream as payload type 10:\n${play.describe()}`);
      ok = verdict(t, { sender: 'rtpcast send (play --port only)', stream: 'L16 44.1 kHz stereo (PT 10)', hz, channels: 2, pt: 10, sentPackets: sent }, out, {
        hz, channels: 2, toneSeconds: TONE_SECONDS, levelDbfs: TONE_RMS_DBFS, maxGapMs: MAX_GAP_MS,
      }, { stop, play }, [play, sender], dir);
    } finally {
      await procs.cleanup();
      if (ok) removeWorkDir(dir);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. ffmpeg (its own SDP)

describe('rtpcast play <- ffmpeg -f rtp (ffmpeg\'s SDP)', () => {
  const cases = [
    { id: 'l16', label: 'L16 48 kHz stereo', hz: 730, codec: ['-acodec', 'pcm_s16be'] },
    { id: 'opus', label: 'Opus stereo 128 kb/s', hz: 1030, codec: ['-acodec', 'libopus', '-b:a', '128k'] },
  ];
  for (const c of cases) {
    const p = port();
    test(`ffmpeg ${c.label}, ${c.hz} Hz`, { timeout: 60_000 }, async (t) => {
      requireProgram('ffmpeg');
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`play-ffmpeg-${c.id}`);
      let ok = false;
      try {
        const sdp = join(dir, 's.sdp');
        const sdpReal = join(dir, 'send.sdp');
        const out = join(dir, 'out.wav');
        const ref = join(dir, 'ref.wav');
        const ff = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin'];
        const sine = (secs: number) => `sine=frequency=${c.hz}:sample_rate=48000:duration=${secs}`;
        // what is sent, as PCM: the level to expect
        const r0 = await procs.run([...ff, '-f', 'lavfi', '-i', sine(TONE_SECONDS), '-ac', '2', '-c:a', 'pcm_s16le', '-y', ref], 20_000);
        assert.equal(r0.exit?.code, 0, r0.describe());
        const reference = referenceTone(ref, c.hz);
        // a short run writes ffmpeg's SDP (ffmpeg writes it when it starts sending)
        const r1 = await procs.run([...ff, '-re', '-f', 'lavfi', '-i', sine(0.05), '-ac', '2', ...c.codec, '-f', 'rtp', '-sdp_file', sdp, `rtp://127.0.0.1:${p}`], 20_000);
        assert.equal(r1.exit?.code, 0, r1.describe());
        const sdpText = readFileSync(sdp, 'utf8');
        const s = parseSdpStream(sdpText);
        const play = await startPlay(procs, [sdp, '--out', out, '--json', '--duration', String(TONE_SECONDS + PAD_SECONDS + 10)], p);
        const sender = procs.start([...ff, '-re', '-f', 'lavfi', '-i', `${sine(TONE_SECONDS)},apad=pad_dur=${PAD_SECONDS}`, '-ac', '2', ...c.codec, '-f', 'rtp', '-sdp_file', sdpReal, `rtp://127.0.0.1:${p}`]);
        const stop = await stopPlayAfterReceiving(play, STOP_AFTER_SECONDS, 20_000);
        const se = await sender.waitExit(15_000);
        assert.ok(se, `ffmpeg did not finish:\n${sender.describe()}`);
        assert.equal(se.code, 0, sender.describe());
        const sReal = parseSdpStream(readFileSync(sdpReal, 'utf8'));
        assert.deepEqual([sReal.payloadType, sReal.encoding, sReal.clockRate, sReal.channels], [s.payloadType, s.encoding, s.clockRate, s.channels], 'the real run described the stream as the SDP play was given');
        t.diagnostic(`ffmpeg SDP: ${sdpText.trim().split(/\r?\n/).filter((l) => /^(m=|a=rtpmap|a=fmtp)/.test(l)).join(' | ')}; reference ${reference.levelDbfs.toFixed(2)} dBFS RMS, ${reference.activeSeconds.toFixed(3)} s`);
        ok = verdict(t, { sender: 'ffmpeg', stream: `${c.label} (PT ${s.payloadType})`, hz: c.hz, channels: 2, pt: s.payloadType }, out, {
          hz: c.hz, channels: 2, toneSeconds: reference.activeSeconds, levelDbfs: reference.levelDbfs, maxGapMs: MAX_GAP_MS,
        }, { stop, play }, [play, sender], dir);
      } finally {
        await procs.cleanup();
        if (ok) removeWorkDir(dir);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 3. GStreamer (no SDP: flags)

const GST_SEND_ELEMENTS: Record<string, string> = {
  audiotestsrc: 'gstreamer1.0-plugins-base',
  audioconvert: 'gstreamer1.0-plugins-base',
  audiomixer: 'gstreamer1.0-plugins-base',
  rtpL16pay: 'gstreamer1.0-plugins-good',
  rtpopuspay: 'gstreamer1.0-plugins-good',
  opusenc: 'gstreamer1.0-plugins-base',
  udpsink: 'gstreamer1.0-plugins-good',
  wavenc: 'gstreamer1.0-plugins-good',
  filesink: 'libgstreamer1.0-0',
};

function requireGstSend(): void {
  requireProgram('gst-launch-1.0');
  requireProgram('gst-inspect-1.0');
  const missing = Object.keys(GST_SEND_ELEMENTS).filter((e) => spawnSync('gst-inspect-1.0', ['--exists', e], { timeout: 20_000 }).status !== 0);
  if (missing.length) throw new Error(`GStreamer element(s) ${missing.join(', ')} not found: sudo apt-get install ${[...new Set(missing.map((e) => GST_SEND_ELEMENTS[e]))].join(' ')}`);
}

describe('rtpcast play <- gst-launch-1.0 udpsink (flags, no SDP)', () => {
  const BUFFERS = (TONE_SECONDS * 48000) / 960;
  const cases = [
    { id: 'l16', label: 'L16 48 kHz stereo (rtpL16pay)', hz: 870, tail: ['rtpL16pay'], flags: ['--codec', 'l16', '--rate', '48000', '--channels', '2', '--pt', '96'] },
    { id: 'opus', label: 'Opus stereo (opusenc, rtpopuspay)', hz: 630, tail: ['opusenc', '!', 'rtpopuspay'], flags: ['--codec', 'opus', '--pt', '96'] },
  ];
  for (const c of cases) {
    const p = port();
    test(`GStreamer ${c.label}, ${c.hz} Hz`, { timeout: 60_000 }, async (t) => {
      requireGstSend();
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`play-gst-${c.id}`);
      let ok = false;
      try {
        const out = join(dir, 'out.wav');
        const ref = join(dir, 'ref.wav');
        const tone = ['audiotestsrc', `freq=${c.hz}`, `num-buffers=${BUFFERS}`, 'samplesperbuffer=960', '!', 'audio/x-raw,rate=48000,channels=2'];
        const r0 = await procs.run(['gst-launch-1.0', '-q', ...tone, '!', 'audioconvert', '!', 'wavenc', '!', 'filesink', `location=${ref}`], 20_000);
        assert.equal(r0.exit?.code, 0, r0.describe());
        const reference = referenceTone(ref, c.hz);
        const play = await startPlay(procs, ['--port', String(p), ...c.flags, '--out', out, '--json', '--duration', String(TONE_SECONDS + PAD_SECONDS + 10)], p);
        // rtpL16pay and rtpopuspay use payload type 96 by default (pt property). The silence after
        // the tone comes from a second audiotestsrc mixed in (audiomixer): one continuous stream.
        // (concat would restart the segment, and opusenc then leaves a 312-sample hole in the RTP
        // timestamps at the switch, which play rightly rebuilds with FEC.)
        const sender = procs.start([
          'gst-launch-1.0', '-q', 'audiomixer', 'name=m', '!', 'audioconvert', '!', ...c.tail, '!', 'udpsink', 'host=127.0.0.1', `port=${p}`,
          ...tone, '!', 'm.',
          'audiotestsrc', 'wave=silence', `num-buffers=${((TONE_SECONDS + PAD_SECONDS) * 48000) / 960}`, 'samplesperbuffer=960', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'm.',
        ]);
        const stop = await stopPlayAfterReceiving(play, STOP_AFTER_SECONDS, 20_000);
        const se = await sender.waitExit(15_000);
        assert.ok(se, `gst-launch-1.0 did not finish:\n${sender.describe()}`);
        assert.equal(se.code, 0, sender.describe());
        t.diagnostic(`reference ${reference.levelDbfs.toFixed(2)} dBFS RMS, ${reference.activeSeconds.toFixed(3)} s`);
        ok = verdict(t, { sender: 'GStreamer', stream: `${c.label} (PT 96)`, hz: c.hz, channels: 2, pt: 96 }, out, {
          hz: c.hz, channels: 2, toneSeconds: reference.activeSeconds, levelDbfs: reference.levelDbfs, maxGapMs: MAX_GAP_MS,
        }, { stop, play }, [play, sender], dir);
      } finally {
        await procs.cleanup();
        if (ok) removeWorkDir(dir);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 4. PulseAudio module-rtp-send (live)

describe('rtpcast play <- PulseAudio module-rtp-send (live, --port)', () => {
  let pulse: PulseDaemon | undefined;
  before(async () => {
    pulse = await PulseDaemon.start([
      { name: 'rtp44', rate: 44100, channels: 2 },
      { name: 'rtp48', rate: 48000, channels: 2 },
    ]);
  });
  after(async () => {
    await pulse?.stop();
  });

  // PulseAudio 16 sends s16be as the static payload type 10 (L16/44100/2) when the sink is 44.1 kHz
  // stereo; any other format as payload type 127 (its SAP announcement carries the rtpmap); with
  // enable_opus=1, Opus 20 ms frames as payload type 127.
  const cases = [
    { id: 'l16-44k', sink: 'rtp44', rate: 44100, label: 'L16 44.1 kHz stereo (PT 10)', hz: 730, module: [] as string[], flags: [] as string[], pt: 10, waitStart: true },
    { id: 'l16-48k', sink: 'rtp48', rate: 48000, label: 'L16 48 kHz stereo (PT 127)', hz: 870, module: [], flags: ['--codec', 'l16', '--rate', '48000', '--channels', '2', '--pt', '127'], pt: 127, waitStart: true },
    { id: 'opus', sink: 'rtp48', rate: 48000, label: 'Opus stereo (enable_opus=1, PT 127)', hz: 1030, module: ['enable_opus=1'], flags: ['--codec', 'opus', '--pt', '127'], pt: 127, waitStart: true },
  ];
  for (const c of cases) {
    const p = port();
    test(`PulseAudio ${c.label}, ${c.hz} Hz`, { timeout: 60_000 }, async (t) => {
      assert.ok(pulse, 'the PulseAudio daemon did not start');
      requireProgram('ss');
      const procs = new Procs();
      const dir = makeWorkDir(`play-pulse-${c.id}`);
      let ok = false;
      let moduleIndex: string | undefined;
      let app: Proc | undefined;
      try {
        const out = join(dir, 'out.wav');
        const args = ['load-module', 'module-rtp-send', `source=${c.sink}.monitor`, 'destination_ip=127.0.0.1', `port=${p}`, ...c.module];
        moduleIndex = pulse.pactl(args).trim();
        t.diagnostic(`pactl ${args.join(' ')} -> module ${moduleIndex}`);
        // the "application": paplay playing a -12 dBFS tone into the sink, started before play so
        // that the whole capture is tone
        app = await pulse.playTone(`tone-${c.id}`, c.hz, c.sink, 30, c.rate);
        const probe = await waitUntilSending(p, 20, 10_000);
        t.diagnostic(`PulseAudio's first packet came ${probe.firstAfterMs} ms after the probe bound the port`);
        // --port alone: play learns the format from the first packet's (static) payload type and
        // prints `start` then; PulseAudio is already sending, so waiting for it is safe
        const play = await startPlay(procs, ['--port', String(p), ...c.flags, '--out', out, '--json', '--duration', String(LIVE_SECONDS)], p, { waitStart: c.waitStart });
        const stop = await playFinished(play, (LIVE_SECONDS + 10) * 1000);
        ok = verdict(t, { sender: 'PulseAudio module-rtp-send', stream: c.label, hz: c.hz, channels: 2, pt: c.pt }, out, {
          hz: c.hz, channels: 2, liveMinFraction: 0.9, levelDbfs: TONE_RMS_DBFS, maxGapMs: MAX_GAP_MS,
        }, { stop, play }, [play, app], dir);
      } finally {
        await procs.cleanup();
        await app?.stop('SIGTERM', 2000);
        if (moduleIndex && /^\d+$/.test(moduleIndex)) {
          try {
            pulse?.pactl(['unload-module', moduleIndex]);
          } catch {
            /* the daemon is stopped in after() anyway */
          }
        }
        if (ok) removeWorkDir(dir);
      }
    });
  }

});
