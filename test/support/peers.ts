/**
 * Real peers for the interop tests (ffmpeg, VLC, GStreamer): where they are, the exact commands
 * that make them record what they received to a WAV file in their own decoded format, and the
 * checks that the recorded signal is the tone rtpcast sent.
 *
 * Nothing here is skipped: a missing program or user makes the test FAIL with the command that
 * installs or creates it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { analyzeTone, type ToneReport } from '../../src/audio/analysis';
import { deinterleave, parseWav, type DecodedPcm } from '../../src/audio/wav';
import { findProgram } from '../../src/os/programs';
import { parseSdpStream, type SdpStream } from '../../src/sdp/parse';
import { gstReceiveElements } from '../../src/sdp/receivers';
import type { StreamDescription } from '../../src/stream/description';
import type { Destination } from '../../src/transport/destination';
import { assertUdpPortFree, Procs, sleep, waitForUdpBound, type Proc } from './procs';

// ---------------------------------------------------------------------------------------------
// Programs

/** The rtpcast CLI as built by `tsc` (this file runs from dist/test/support). */
export const RTPCAST_CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

const INSTALL: Record<string, string> = {
  ffmpeg: 'sudo apt-get install ffmpeg',
  cvlc: 'sudo apt-get install vlc-bin vlc-plugin-base (or: sudo apt-get install vlc)',
  'gst-launch-1.0': 'sudo apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good',
  'gst-inspect-1.0': 'sudo apt-get install gstreamer1.0-tools',
  ss: 'sudo apt-get install iproute2',
  ip: 'sudo apt-get install iproute2',
  runuser: 'sudo apt-get install util-linux',
  zbarimg: 'sudo apt-get install zbar-tools',
  chromium: 'sudo apt-get install chromium',
};

/** PATH lookup; throws "NAME not found: <how to install>" (tests fail, never skip). */
export function requireProgram(name: string): string {
  const p = findProgram(name);
  if (!p) throw new Error(`${name} not found: ${INSTALL[name] ?? `install ${name} and put it on PATH`}`);
  return p;
}

/** GStreamer elements the receive pipeline uses, with the package each comes from. */
const GST_ELEMENTS: Record<string, string> = {
  udpsrc: 'gstreamer1.0-plugins-good',
  rtpjitterbuffer: 'gstreamer1.0-plugins-good',
  rtpL16depay: 'gstreamer1.0-plugins-good',
  rtpopusdepay: 'gstreamer1.0-plugins-good',
  opusdec: 'gstreamer1.0-plugins-base',
  audioconvert: 'gstreamer1.0-plugins-base',
  audioresample: 'gstreamer1.0-plugins-base',
  wavenc: 'gstreamer1.0-plugins-good',
  filesink: 'libgstreamer1.0-0',
};

let gstChecked = false;

/** gst-launch-1.0 plus every element the tests need (checked once per test file). */
export function requireGStreamer(): void {
  requireProgram('gst-launch-1.0');
  if (gstChecked) return;
  requireProgram('gst-inspect-1.0');
  const missing = Object.keys(GST_ELEMENTS).filter((e) => spawnSync('gst-inspect-1.0', ['--exists', e], { timeout: 20_000 }).status !== 0);
  if (missing.length) {
    const pkgs = [...new Set(missing.map((e) => GST_ELEMENTS[e]))];
    throw new Error(`GStreamer element(s) ${missing.join(', ')} not found: sudo apt-get install ${pkgs.join(' ')}`);
  }
  gstChecked = true;
}

/** VLC refuses to run as root; as root the tests run it as this user. */
export const VLC_USER = 'rtpcast-test';

/**
 * argv prefix that runs VLC: `runuser -u rtpcast-test --` as root (VLC exits with "VLC is not
 * supposed to be run as root"), nothing for an ordinary user.
 */
export function vlcPrefix(): string[] {
  requireProgram('cvlc');
  if (!process.getuid || process.getuid() !== 0) return [];
  requireProgram('runuser');
  const r = spawnSync('id', ['-u', VLC_USER], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) {
    throw new Error(`user ${VLC_USER} does not exist (VLC refuses to run as root, so the tests run it as ${VLC_USER}): create it: sudo useradd --system --create-home ${VLC_USER}`);
  }
  return ['runuser', '-u', VLC_USER, '--'];
}

// ---------------------------------------------------------------------------------------------
// Streams rtpcast sends

export interface StreamConfig {
  id: string;
  label: string;
  /** rtpcast send flags choosing the stream */
  args: string[];
  codec: 'l16' | 'opus';
  /** channels sent */
  channels: 1 | 2;
  /** payload type the SDP must carry */
  expectPt: number;
  /** tone for this config: not phase-continuous across a lost 5 ms (L16) or 20 ms (Opus) packet */
  hz: number;
}

export const CONFIGS: readonly StreamConfig[] = [
  { id: 'l16-44k-stereo', label: 'L16 44.1 kHz stereo (PT 10)', args: ['--codec', 'l16', '--rate', '44100', '--channels', '2'], codec: 'l16', channels: 2, expectPt: 10, hz: 630 },
  { id: 'l16-44k-mono', label: 'L16 44.1 kHz mono (PT 11)', args: ['--codec', 'l16', '--rate', '44100', '--channels', '1'], codec: 'l16', channels: 1, expectPt: 11, hz: 730 },
  { id: 'l16-48k-stereo', label: 'L16 48 kHz stereo (PT 96)', args: ['--codec', 'l16', '--rate', '48000', '--channels', '2'], codec: 'l16', channels: 2, expectPt: 96, hz: 870 },
  { id: 'opus-stereo', label: 'Opus stereo (PT 96)', args: ['--codec', 'opus', '--channels', '2'], codec: 'opus', channels: 2, expectPt: 96, hz: 1030 },
  { id: 'opus-mono', label: 'Opus mono (PT 96)', args: ['--codec', 'opus', '--channels', '1'], codec: 'opus', channels: 1, expectPt: 96, hz: 930 },
];

export function config(id: string): StreamConfig {
  const c = CONFIGS.find((x) => x.id === id);
  if (!c) throw new Error(`no stream config ${id}`);
  return c;
}

/** Seconds of tone sent in each test. */
export const SEND_SECONDS = 3;
/** rtpcast's default tone level (peak dBFS); RMS of a sine is 3.01 dB lower. */
export const TONE_PEAK_DBFS = -12;

/** argv of `rtpcast send` with a tone to `dests`. */
export function senderArgv(cfg: StreamConfig, hz: number, dests: string[], sdpPath: string, durationSec: number, output: '--quiet' | '--json' = '--quiet', extra: string[] = []): string[] {
  return [
    // a file given in `extra` (--input) is the source instead of the tone
    process.execPath, RTPCAST_CLI, 'send', ...(extra.includes('--input') ? [] : ['--tone', String(hz)]), ...cfg.args,
    ...dests.flatMap((d) => ['--dest', d]), ...extra,
    '--sdp', sdpPath, '--duration', String(durationSec), output,
  ];
}

export interface ReceiverCommandInfo {
  player: string;
  command: string;
  note?: string;
}

/** The receiver commands rtpcast printed (its `--json` start event), per destination. */
export function printedCommands(jsonStdout: string): { destination: string; path: string | null; commands: ReceiverCommandInfo[] }[] {
  for (const line of jsonStdout.split('\n')) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line) as { event: string; sdp?: { destination: string; path: string | null; commands: ReceiverCommandInfo[] }[] };
    if (ev.event === 'start' && ev.sdp) return ev.sdp;
  }
  throw new Error(`no "start" event with sdp in rtpcast's --json output:\n${jsonStdout}`);
}

/**
 * Runs rtpcast once, very briefly (nothing listens yet), only to write the SDP file(s) the
 * receivers are then started from. Returns the printed receiver commands.
 */
export async function writeSdp(procs: Procs, cfg: StreamConfig, hz: number, dests: string[], sdpPath: string, prefix: readonly string[] = [], extra: string[] = []): Promise<ReturnType<typeof printedCommands>> {
  const p = await procs.run([...prefix, ...senderArgv(cfg, hz, dests, sdpPath, 0.01, '--json', extra)], 20_000);
  if (p.exit?.code !== 0) throw new Error(`rtpcast send (writing the SDP) failed:\n${p.describe()}`);
  return printedCommands(p.stdout);
}

/** Runs the real send, bounded; fails on a non-zero exit. */
export async function sendTone(procs: Procs, cfg: StreamConfig, hz: number, dests: string[], sdpPath: string, durationSec = SEND_SECONDS, prefix: readonly string[] = [], extra: string[] = []): Promise<Proc> {
  const p = await procs.run([...prefix, ...senderArgv(cfg, hz, dests, sdpPath, durationSec, '--quiet', extra)], (durationSec + 15) * 1000);
  if (p.exit?.code !== 0) throw new Error(`rtpcast send failed:\n${p.describe()}`);
  return p;
}

/** A temp dir VLC's user can write to (removed by the caller). */
export function makeWorkDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rtpcast-interop-${tag}-`));
  chmodSync(dir, 0o777);
  return dir;
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Reads an SDP file rtpcast wrote, makes it readable for VLC's user, checks the payload type. */
export function readSdp(path: string, cfg: StreamConfig): { text: string; stream: SdpStream } {
  chmodSync(path, 0o644);
  const text = readFileSync(path, 'utf8');
  const stream = parseSdpStream(text);
  assert.equal(stream.payloadType, cfg.expectPt, `${cfg.label}: the SDP carries payload type ${stream.payloadType}, expected ${cfg.expectPt}:\n${text}`);
  return { text, stream };
}

// ---------------------------------------------------------------------------------------------
// Receivers

export interface ReceiveContext {
  sdpPath: string;
  sdp: SdpStream;
  /** WAV file to write */
  out: string;
  /** seconds of tone sent (the receiver records longer) */
  sendSeconds: number;
  /** the receiver commands rtpcast printed for this SDP */
  printed: ReceiverCommandInfo[];
}

export interface Receiver {
  id: string;
  name: string;
  /** checks the programs/users it needs (throws with the install command) */
  require(): void;
  argv(ctx: ReceiveContext): string[];
  /** how long the receiver may take to bind its RTP port */
  bindTimeoutMs: number;
  /** after the sender finished: make the receiver finish its WAV and exit */
  finish(p: Proc, ctx: ReceiveContext): Promise<void>;
  /** channel counts this peer correctly decodes the stream to */
  channels(cfg: StreamConfig): number[];
  /** when the receiver never bound its port: what is known to cause that */
  whyNotStarted?(ctx: ReceiveContext): string | undefined;
}

/**
 * ffmpeg from the SDP. No -ar/-ac: the WAV keeps what ffmpeg decoded. ffmpeg ends by itself on
 * rtpcast's RTCP BYE (libavformat's RTP demuxer treats BYE as end of stream); `-t` bounds it if
 * the BYE is lost. Opus: ffmpeg takes the channel count from `a=rtpmap:96 opus/48000/2` and
 * ignores `sprop-stereo`, so it always decodes Opus to 2 channels at 48 kHz; for a mono stream
 * the two channels are identical, which is correct (RFC 7587 6.1: the receiver may decode mono
 * as stereo).
 */
export const FFMPEG: Receiver = {
  id: 'ffmpeg',
  name: 'ffmpeg',
  require: () => void requireProgram('ffmpeg'),
  argv: (c) => ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-i', c.sdpPath, '-t', String(c.sendSeconds + 2), '-y', c.out],
  bindTimeoutMs: 10_000,
  async finish(p) {
    if (!(await p.waitExit(4000))) await p.stop('SIGINT', 4000); // SIGINT: ffmpeg still writes the WAV trailer
  },
  channels: (cfg) => (cfg.codec === 'opus' ? [2] : [cfg.channels]),
};

/** The caps/elements rtpcast uses, built from the SDP the way a receiver would. */
export function descriptionFromSdp(s: SdpStream): { description: StreamDescription; dest: Destination } {
  const enc = s.encoding.toLowerCase();
  if (enc !== 'opus' && enc !== 'l16') throw new Error(`SDP encoding ${s.encoding} is neither L16 nor opus`);
  const codec = enc === 'opus' ? 'opus' : 'l16';
  const sampleRate = codec === 'opus' ? 48000 : s.clockRate;
  const ptimeMs = s.ptimeMs ?? 20;
  const dest: Destination = { host: s.address, address: s.address, family: s.family, port: s.port, multicast: s.multicast };
  const description: StreamDescription = {
    codec, payloadType: s.payloadType, clockRate: s.clockRate, sampleRate, channels: s.channels,
    frameSamples: Math.round((sampleRate * ptimeMs) / 1000), ptimeMs, destinations: [dest], ttl: s.ttl ?? 1, name: 'from SDP',
  };
  return { description, dest };
}

/** Splits a gst-launch element description into argv words, keeping "quoted" values whole. */
export function gstWords(element: string): string[] {
  return element.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
}

/**
 * `gst-launch-1.0 -q -e <rtpcast's receive elements> ! wavenc ! filesink location=OUT`.
 * The elements (udpsrc caps, jitter buffer, depayloader, decoder) are exactly the ones rtpcast
 * prints. `-e` turns SIGINT into EOS, so wavenc writes the final header sizes.
 * Opus mono: rtpcast's caps carry no `sprop-stereo`, so opusdec decodes 2 identical channels
 * (observed with GStreamer 1.22; with `sprop-stereo=(string)0` in the caps it decodes 1): both
 * are correct decodes of a mono stream, and L == R is checked.
 */
export const GSTREAMER: Receiver = {
  id: 'gstreamer',
  name: 'GStreamer',
  require: requireGStreamer,
  argv(c) {
    const { description, dest } = descriptionFromSdp(c.sdp);
    const elements = [...gstReceiveElements(description, dest), 'wavenc', `filesink location=${c.out}`];
    const words = elements.flatMap((e, i) => (i ? ['!', ...gstWords(e)] : gstWords(e)));
    return ['gst-launch-1.0', '-q', '-e', ...words];
  },
  bindTimeoutMs: 10_000,
  async finish(p) {
    await sleep(600); // > the 100 ms jitter buffer latency: everything sent is through
    await p.stop('SIGINT', 5000);
  },
  channels: (cfg) => (cfg.codec === 'opus' && cfg.channels === 1 ? [1, 2] : [cfg.channels]),
};

/** VLC's transcode+WAV output (VLC has no raw file writer that keeps the decoded format). */
function vlcSout(out: string): string {
  return `#transcode{acodec=s16l}:std{access=file,mux=wav,dst=${out}}`;
}

/** Waits until `path` stops growing for `stableMs` (at most `maxMs`). */
async function waitFileStable(path: string, stableMs: number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < until) {
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size !== last) {
      last = size;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) return;
    await sleep(100);
  }
}

const vlcFinish = async (p: Proc, c: ReceiveContext) => {
  // VLC buffers ~1 s (network-caching); wait until the WAV stops growing, then SIGTERM: VLC quits
  // cleanly and its WAV muxer writes the final sizes (parseWav would also read a header left at 0).
  await waitFileStable(c.out, 800, 6000);
  await p.stop('SIGTERM', 5000);
};

/**
 * VLC through its avformat demux (libavformat's SDP/RTP reader inside VLC; decoding, transcode
 * and the WAV muxer are VLC's own). This is the way Debian's VLC 3.0 (built without live555)
 * receives dynamic payload types at all; working command, as the tests run it:
 *
 *   runuser -u rtpcast-test -- cvlc -I dummy --demux=avformat s.sdp \
 *       --sout '#transcode{acodec=s16l}:std{access=file,mux=wav,dst=out.wav}'
 *
 * then SIGTERM once the sender has finished and the file stopped growing.
 * Opus decodes to 2 channels (the rtpmap's count), identical for a mono stream.
 */
export const VLC_AVFORMAT: Receiver = {
  id: 'vlc-avformat',
  name: 'VLC (--demux=avformat)',
  require: () => void vlcPrefix(),
  argv: (c) => [...vlcPrefix(), 'cvlc', '-I', 'dummy', '--demux=avformat', c.sdpPath, '--sout', vlcSout(c.out)],
  bindTimeoutMs: 10_000,
  finish: vlcFinish,
  channels: (cfg) => (cfg.codec === 'opus' ? [2] : [cfg.channels]),
};

/** Payload types Debian's VLC 3.0 sap demux accepts in an SDP (modules/services_discovery/sap.c, IsWellKnownPayload). */
export const VLC_STATIC_PTS = [0, 3, 8, 10, 11, 12, 14, 32, 33];

/**
 * The Debian/Ubuntu VLC command rtpcast prints for the SDP (today `cvlc --repeat s.sdp`), run
 * as printed plus a WAV output:
 *
 *   runuser -u rtpcast-test -- cvlc --repeat s.sdp -I dummy \
 *       --sout '#transcode{acodec=s16l}:std{access=file,mux=wav,dst=out.wav}'
 *
 * Debian's VLC 3.0.x has no live555: its sap demux turns the SDP into an rtp:// item and ends
 * the first pass, so --repeat is needed. That demux only accepts payload types VLC's rtp access
 * knows statically (0, 3, 8, 10, 11, 12, 14, 32, 33), and `--rtp-dynamic-pt` only knows theora:
 * for PT 96 (L16 48 kHz, Opus) no module opens the SDP, the ps demux takes the file, and VLC
 * loops over it without ever binding the RTP port.
 */
export const VLC_PRINTED: Receiver = {
  id: 'vlc-printed',
  name: 'VLC (the Debian command rtpcast prints)',
  require: () => void vlcPrefix(),
  argv(c) {
    const vlc = c.printed.filter((x) => x.player === 'VLC');
    const m = vlc.map((x) => /Debian\/Ubuntu VLC[^:]*: (cvlc .+)$/.exec(x.note ?? '') ?? /^(cvlc .+)$/.exec(x.command)).find(Boolean);
    if (!m) throw new Error(`rtpcast printed no Debian/Ubuntu VLC (cvlc) command for this stream; it printed:\n${JSON.stringify(c.printed, null, 2)}`);
    const words = m[1].trim().split(/\s+/);
    return [...vlcPrefix(), ...words, '-I', 'dummy', '--sout', vlcSout(c.out)];
  },
  // VLC binds within ~0.2 s when it can play the SDP at all.
  bindTimeoutMs: 5000,
  whyNotStarted(c) {
    if (VLC_STATIC_PTS.includes(c.sdp.payloadType)) return undefined;
    return (
      `rtpcast printed a VLC command that cannot play this stream on Debian's VLC 3.0 (configured with --disable-live555, as cvlc -vv shows): ` +
      `its sap demux opens an SDP only for the static payload types ${VLC_STATIC_PTS.join(', ')} and this SDP uses PT ${c.sdp.payloadType}; ` +
      `VLC then reads the file with the ps demux and loops (--repeat) without ever binding port ${c.sdp.port}. ` +
      `\`cvlc --demux=avformat ${c.sdpPath}\` plays it (see the VLC --demux=avformat tests).`
    );
  },
  finish: vlcFinish,
  channels: (cfg) => (cfg.codec === 'opus' ? [1, 2] : [cfg.channels]),
};

/** Starts a receiver and waits until it is bound to the SDP's RTP port. */
export async function startReceiver(procs: Procs, r: Receiver, ctx: ReceiveContext, prefix: readonly string[] = []): Promise<Proc> {
  assertUdpPortFree(ctx.sdp.port, prefix);
  const p = procs.start([...prefix, ...r.argv(ctx)]);
  try {
    await waitForUdpBound(ctx.sdp.port, p, r.bindTimeoutMs, prefix);
  } catch (e) {
    await p.stop('SIGTERM', 3000);
    const why = r.whyNotStarted?.(ctx);
    throw new Error(`${r.name} did not start receiving from ${ctx.sdpPath}: ${(e as Error).message}${why ? `\n--- known cause ---\n${why}` : ''}\n--- SDP ---\n${readFileSync(ctx.sdpPath, 'utf8')}`);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// What the peer decoded

export interface ToneExpectation {
  hz: number;
  sendSeconds: number;
  /** channels sent */
  sentChannels: number;
  /** channel counts the peer may correctly decode to */
  channels: number[];
  peakDbfs?: number;
}

export interface ToneCheck {
  pcm?: DecodedPcm;
  /** the mono mix */
  report?: ToneReport;
  perChannel: ToneReport[];
  /** largest |L - R| when a mono stream was decoded to 2 channels */
  lrMaxDiff?: number;
  failures: string[];
}

const FREQ_TOLERANCE = 0.005;
const DURATION_TOLERANCE = 0.03;
const MAX_GAP_MS = 30;
const LEVEL_TOLERANCE_DB = 2;

/** Decodes the WAV a peer wrote and compares it with the tone sent; collects every failure. */
export function checkTone(wavPath: string, e: ToneExpectation): ToneCheck {
  const out: ToneCheck = { perChannel: [], failures: [] };
  if (!existsSync(wavPath)) {
    out.failures.push(`the receiver wrote no file (${wavPath})`);
    return out;
  }
  let pcm: DecodedPcm;
  try {
    pcm = parseWav(readFileSync(wavPath));
  } catch (err) {
    out.failures.push(`the receiver's file is not a readable WAV (${statSync(wavPath).size} bytes): ${(err as Error).message}`);
    return out;
  }
  out.pcm = pcm;
  out.report = analyzeTone(pcm, { expectHz: e.hz });
  const expectRms = (e.peakDbfs ?? TONE_PEAK_DBFS) - 20 * Math.log10(Math.SQRT2);
  if (!e.channels.includes(pcm.channels)) {
    out.failures.push(`decoded ${pcm.channels} channel(s); ${e.sentChannels} sent, this peer should decode ${e.channels.join(' or ')}`);
  }
  const chans = deinterleave(pcm.samples, pcm.channels);
  chans.forEach((samples, c) => {
    const r = analyzeTone({ rate: pcm.rate, channels: 1, samples }, { expectHz: e.hz });
    out.perChannel.push(r);
    const ch = pcm.channels > 1 ? `channel ${c + 1}: ` : '';
    if (r.activeSeconds === 0) {
      out.failures.push(`${ch}silent (no 10 ms window above -40 dBFS in ${r.seconds.toFixed(3)} s)`);
      return;
    }
    if (Math.abs(r.frequencyHz - e.hz) > FREQ_TOLERANCE * e.hz) out.failures.push(`${ch}frequency ${r.frequencyHz.toFixed(3)} Hz, sent ${e.hz} Hz (tolerance 0.5%)`);
    if (Math.abs(r.activeSeconds - e.sendSeconds) > DURATION_TOLERANCE * e.sendSeconds) out.failures.push(`${ch}${r.activeSeconds.toFixed(3)} s of tone received, ${e.sendSeconds} s sent (tolerance 3%)`);
    if (r.longestGapMs > MAX_GAP_MS) out.failures.push(`${ch}${r.gaps} gap(s), the longest ${r.longestGapMs.toFixed(1)} ms (limit ${MAX_GAP_MS} ms)`);
    if (r.phaseBreaks !== 0) out.failures.push(`${ch}${r.phaseBreaks} phase break(s): samples were lost, repeated or concealed`);
    if (Math.abs(r.levelDbfs - expectRms) > LEVEL_TOLERANCE_DB) out.failures.push(`${ch}level ${r.levelDbfs.toFixed(2)} dBFS RMS, sent ${expectRms.toFixed(2)} dBFS RMS (tolerance ${LEVEL_TOLERANCE_DB} dB)`);
  });
  if (e.sentChannels === 1 && pcm.channels === 2) {
    let d = 0;
    for (let i = 0; i + 1 < pcm.samples.length; i += 2) d = Math.max(d, Math.abs(pcm.samples[i] - pcm.samples[i + 1]));
    out.lrMaxDiff = d;
    if (d > 2 / 32768) out.failures.push(`mono stream decoded to 2 channels that differ (max |L-R| = ${d.toFixed(5)})`);
  }
  return out;
}

/** One line for the test log / report table. */
export function summary(check: ToneCheck): string {
  const r = check.report;
  if (!r) return 'no signal';
  const per = check.perChannel
    .map((c) => `f=${c.frequencyHz.toFixed(3)} Hz active=${c.activeSeconds.toFixed(3)} s level=${c.levelDbfs.toFixed(2)} dBFS gap=${c.longestGapMs.toFixed(1)} ms breaks=${c.phaseBreaks}`)
    .join(' | ');
  return `${r.rate} Hz ${r.channels} ch${check.lrMaxDiff !== undefined ? ` (L-R max ${check.lrMaxDiff.toExponential(1)})` : ''}: ${per}`;
}

/** Fails with everything a CI log needs: the problems, the ToneReports, the peer's and sender's output. */
export function assertTone(check: ToneCheck, what: string, context: { receiver?: Proc; sender?: Proc; sdpText?: string; extra?: string }): void {
  if (check.failures.length === 0) return;
  const parts = [
    `${what}: ${check.failures.length} problem(s):`,
    ...check.failures.map((f) => `  - ${f}`),
    `ToneReport (mono mix): ${JSON.stringify(check.report ?? null)}`,
    `ToneReport per channel: ${JSON.stringify(check.perChannel)}`,
  ];
  if (context.extra) parts.push(context.extra);
  if (context.receiver) parts.push(`--- receiver ---\n${context.receiver.describe()}`);
  if (context.sender) parts.push(`--- sender ---\n${context.sender.describe()}`);
  if (context.sdpText) parts.push(`--- SDP ---\n${context.sdpText}`);
  assert.fail(parts.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// One peer, one stream

export interface InteropResult {
  check: ToneCheck;
  line: string;
}

export interface InteropOptions {
  /** destination host (default 127.0.0.1); a multicast group works too */
  host?: string;
  /** argv prefix for the sender, the receiver and `ss` (e.g. `ip netns exec NS`) */
  prefix?: readonly string[];
  /** more `rtpcast send` flags (e.g. --ttl 1) */
  sendFlags?: string[];
  /** checks on the SDP before the receiver starts */
  checkSdp?(stream: SdpStream, text: string): void;
}

/**
 * The whole exchange for one peer and one stream to host:port: write the SDP, start the receiver
 * from it and wait until it is bound, send SEND_SECONDS of tone, let the receiver finish its WAV,
 * then check the decoded signal. Children are killed and the temp dir removed whatever happens
 * (the dir is kept, and named, when the signal check fails).
 */
export async function runInterop(t: TestContext, r: Receiver, cfg: StreamConfig, port: number, o: InteropOptions = {}): Promise<InteropResult> {
  r.require();
  requireProgram('ss');
  const prefix = o.prefix ?? [];
  const dest = `${o.host ?? '127.0.0.1'}:${port}`;
  const procs = new Procs();
  const dir = makeWorkDir(`${r.id}-${cfg.id}`);
  let keep = false;
  try {
    const sdpPath = join(dir, 's.sdp');
    const out = join(dir, 'out.wav');
    const sdpOut = await writeSdp(procs, cfg, cfg.hz, [dest], sdpPath, prefix, o.sendFlags);
    const { text, stream } = readSdp(sdpPath, cfg);
    o.checkSdp?.(stream, text);
    const ctx: ReceiveContext = { sdpPath, sdp: stream, out, sendSeconds: SEND_SECONDS, printed: sdpOut[0].commands };
    const rec = await startReceiver(procs, r, ctx, prefix);
    const sender = await sendTone(procs, cfg, cfg.hz, [dest], sdpPath, SEND_SECONDS, prefix, o.sendFlags);
    await r.finish(rec, ctx);
    const check = checkTone(out, { hz: cfg.hz, sendSeconds: SEND_SECONDS, sentChannels: cfg.channels, channels: r.channels(cfg) });
    const line = `${r.name} | ${cfg.label} -> ${dest} | ${summary(check)}`;
    t.diagnostic(line);
    keep = check.failures.length > 0;
    assertTone(check, `${r.name} receiving ${cfg.label} at ${dest} (tone ${cfg.hz} Hz, ${SEND_SECONDS} s)`, { receiver: rec, sender, sdpText: text, extra: keep ? `files kept in ${dir}` : undefined });
    return { check, line };
  } finally {
    await procs.cleanup();
    if (!keep) removeWorkDir(dir);
  }
}

/** Ports for one test file: base, base+2, ... (RTCP takes port+1). */
/**
 * A test's fixed port, or with RTPCAST_TEST_PORT_BASE=N the same port moved into N..N+199 (its
 * offset within its hundred-pair kept), for a machine where several jobs each own a port range.
 */
export function testPort(defaultPort: number): number {
  const base = Number(process.env.RTPCAST_TEST_PORT_BASE);
  return Number.isInteger(base) && base > 0 ? base + (defaultPort % 200) : defaultPort;
}

export function portAllocator(base: number): () => number {
  let next = testPort(base);
  return () => {
    const p = next;
    next += 2;
    return p;
  };
}
