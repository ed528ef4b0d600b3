/**
 * Helpers for the `rtpcast play` interop tests (test/interop/play-*.test.ts): start `rtpcast play
 * --json --out OUT.wav` and wait until it really listens, read its JSON events, stop it, and check
 * what it wrote against the tone a real sender sent.
 *
 * Everything is bounded in time; programs run through Procs (own process group, killed at the end).
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { analyzeTone, findGaps, type ToneReport } from '../../src/audio/analysis';
import { deinterleave, parseWav, type DecodedPcm } from '../../src/audio/wav';
import type { PlayerStats } from '../../src/player/player';
import { RTPCAST_CLI } from './peers';
import { assertUdpPortFree, sleep, waitForUdpBound, type Proc, type Procs } from './procs';

// ---------------------------------------------------------------------------------------------
// rtpcast play's --json events

/** RTP stream statistics as `rtpcast play --json` prints them (StreamStats, bigints as numbers). */
export interface PlayStreamJson {
  ssrc: number;
  payloadType: number;
  clockRate: number;
  packets: number;
  expected: number;
  lost: number;
  lostPct: number;
  duplicates: number;
  reordered: number;
  jitterMs: number;
  maxJitterMs: number;
  arrivalDeltaMs: { min: number | null; mean: number | null; max: number | null };
  maxSkewMs: number;
  driftPpm: number | null;
  durationSec: number;
  firstArrivalNs: number | null;
  lastArrivalNs: number | null;
}

/** A `status` or `stop` event (PlayStatus). */
export interface PlayStatusJson {
  event: 'status' | 'stop';
  time: string;
  elapsedSec: number;
  player: PlayerStats;
  stream?: PlayStreamJson;
  sender?: string;
  others: { sender: string; ssrc: number; packets: number }[];
  dropped: { malformed: number; wrongPt: number; filtered: number; rtcp: number; untracked: number };
  filteredFrom: Record<string, number>;
  beforeOutput: number;
  flood: { active: boolean; episodes: number; seconds: number; peakPerSec: number; refusedEstimate: number; drained: number };
}

/** The `start` event. */
export interface PlayStartJson {
  event: 'start';
  time: string;
  stream: { codec: 'l16' | 'opus'; payloadType: number; clockRate: number; channels: number; port: number; from: string };
  listening: string;
  output: string;
}

export type PlayEvent = PlayStartJson | PlayStatusJson | { event: 'warning'; time: string; message: string };

/** The complete JSON lines rtpcast play printed so far (a line still being written is left out). */
export function playEvents(p: Proc): PlayEvent[] {
  const lines = p.stdout.split('\n');
  lines.pop(); // after the last '\n': empty, or incomplete
  const out: PlayEvent[] = [];
  for (const l of lines) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l) as PlayEvent);
    } catch {
      throw new Error(`rtpcast play --json printed a line that is not JSON: ${l}\n${p.describe()}`);
    }
  }
  return out;
}

export function startEvent(p: Proc): PlayStartJson | undefined {
  return playEvents(p).find((e): e is PlayStartJson => e.event === 'start');
}

export function stopEvent(p: Proc): PlayStatusJson | undefined {
  return playEvents(p).find((e): e is PlayStatusJson => e.event === 'stop');
}

export function statusEvents(p: Proc): PlayStatusJson[] {
  return playEvents(p).filter((e): e is PlayStatusJson => e.event === 'status');
}

export function warnings(p: Proc): string[] {
  return playEvents(p).flatMap((e) => (e.event === 'warning' ? [e.message] : []));
}

/** Polls the events until `pred` holds for one of them (at most `ms`); fails early if play exits. */
export async function waitForEvent<T extends PlayEvent>(p: Proc, pred: (e: PlayEvent) => e is T, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const e = playEvents(p).find(pred);
    if (e) return e;
    if (!p.running) throw new Error(`rtpcast play exited before ${what}:\n${p.describe()}`);
    if (Date.now() > until) throw new Error(`rtpcast play: no ${what} within ${ms} ms:\n${p.describe()}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Running rtpcast play

export function playArgv(args: readonly string[]): string[] {
  return [process.execPath, RTPCAST_CLI, 'play', ...args];
}

/**
 * Starts `rtpcast play ARGS` (ARGS must contain --json) and waits until it is bound to `port`
 * and, unless `waitStart` is false, has printed its `start` event.
 *
 * Why both: play binds its RTP socket before it opens the output, and listens to the socket
 * only once the output is open (the `start` event is printed just before). A sender started as
 * soon as `ss` shows the port could lose its first packets, unseen by any statistic. With
 * `--port` alone (no SDP, no --codec) play prints `start` only when the first packet arrives,
 * so there `waitStart` must be false for a sender that has not started yet.
 */
export async function startPlay(procs: Procs, args: readonly string[], port: number, o: { waitStart?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Proc> {
  if (!args.includes('--json')) throw new Error('startPlay: pass --json');
  assertUdpPortFree(port);
  const p = procs.start(playArgv(args), { env: o.env });
  await waitForUdpBound(port, p, 10_000);
  if (o.waitStart ?? true) await waitForEvent(p, (e): e is PlayStartJson => e.event === 'start', 10_000, 'start event');
  return p;
}

/** Waits for play to exit by itself (--until-bye / --duration), at most `ms`; returns its stop event. */
export async function playFinished(p: Proc, ms: number): Promise<PlayStatusJson> {
  const e = await p.waitExit(ms);
  if (!e) {
    await p.stop('SIGINT', 3000);
    throw new Error(`rtpcast play did not finish within ${ms} ms:\n${p.describe()}`);
  }
  return checkedStop(p);
}

/**
 * For senders that end without an RTCP BYE: waits until play has received `seconds` of the
 * stream (stream.durationSec in a status event, printed every second), then stops it like
 * Ctrl-C (SIGINT). Returns the stop event.
 */
export async function stopPlayAfterReceiving(p: Proc, seconds: number, ms: number): Promise<PlayStatusJson> {
  await waitForEvent(p, (e): e is PlayStatusJson => e.event === 'status' && (e.stream?.durationSec ?? 0) >= seconds, ms, `a status event with ${seconds} s of stream received`);
  await p.stop('SIGINT', 5000);
  return checkedStop(p);
}

function checkedStop(p: Proc): PlayStatusJson {
  const x = p.exit;
  if (!x || x.code !== 0) throw new Error(`rtpcast play failed:\n${p.describe()}`);
  const s = stopEvent(p);
  if (!s) throw new Error(`rtpcast play printed no stop event:\n${p.describe()}`);
  return s;
}

/**
 * Binds host:port for a moment and waits until `count` datagrams have arrived (at most `ms`), then
 * frees the port. For live senders that take a while to start sending (PulseAudio's
 * module-rtp-send on a fresh daemon starts 0.7-2 s after it is loaded): the receiver under test
 * is started only once the sender really streams, so that its whole recording can be judged.
 */
export async function waitUntilSending(port: number, count: number, ms: number, host = '127.0.0.1'): Promise<{ firstAfterMs: number }> {
  const s = createSocket('udp4');
  const t0 = Date.now();
  try {
    return await new Promise((resolve, reject) => {
      let n = 0;
      let first = -1;
      const timer = setTimeout(() => reject(new Error(`nothing (${n} datagrams) arrived on ${host}:${port} within ${ms} ms: the sender does not send`)), ms);
      s.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on('message', () => {
        if (first < 0) first = Date.now() - t0;
        if (++n >= count) {
          clearTimeout(timer);
          resolve({ firstAfterMs: first });
        }
      });
      s.bind(port, host);
    });
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------
// What play wrote

export interface PlayedExpectation {
  hz: number;
  /** channels the WAV must have */
  channels: number;
  /** seconds of tone sent: the active span must be within `durationTolerance` of it */
  toneSeconds?: number;
  /** default 0.03 */
  durationTolerance?: number;
  /** a live sender playing all along: the active span must cover this fraction of the WAV */
  liveMinFraction?: number;
  /** RMS level of each channel sent, dBFS (checked within 2 dB) */
  levelDbfs?: number;
  /** longest silent gap allowed inside the active span, ms */
  maxGapMs: number;
}

export interface PlayedCheck {
  pcm?: DecodedPcm;
  /** per channel */
  perChannel: ToneReport[];
  /** per channel: the gaps findGaps saw */
  gaps: { startSec: number; durationMs: number }[][];
  failures: string[];
}

export const FREQ_TOLERANCE = 0.005;
export const LEVEL_TOLERANCE_DB = 2;

/** Reads the WAV play wrote and checks the tone in every channel; collects every failure. */
export function checkPlayedWav(path: string, e: PlayedExpectation): PlayedCheck {
  const out: PlayedCheck = { perChannel: [], gaps: [], failures: [] };
  if (!existsSync(path)) {
    out.failures.push(`rtpcast play wrote no file (${path})`);
    return out;
  }
  let pcm: DecodedPcm;
  try {
    pcm = parseWav(readFileSync(path));
  } catch (err) {
    out.failures.push(`${path} is not a readable WAV (${statSync(path).size} bytes): ${(err as Error).message}`);
    return out;
  }
  out.pcm = pcm;
  if (pcm.channels !== e.channels) out.failures.push(`the WAV has ${pcm.channels} channel(s), the stream ${e.channels}`);
  const seconds = pcm.samples.length / pcm.channels / pcm.rate;
  deinterleave(pcm.samples, pcm.channels).forEach((samples, c) => {
    const r = analyzeTone({ rate: pcm.rate, channels: 1, samples }, { expectHz: e.hz });
    const g = findGaps(samples, pcm.rate);
    out.perChannel.push(r);
    out.gaps.push(g.gaps);
    const ch = pcm.channels > 1 ? `channel ${c + 1}: ` : '';
    if (r.activeSeconds === 0) {
      out.failures.push(`${ch}silent (no 10 ms window above -40 dBFS in ${r.seconds.toFixed(3)} s)`);
      return;
    }
    if (Math.abs(r.frequencyHz - e.hz) > FREQ_TOLERANCE * e.hz) out.failures.push(`${ch}frequency ${r.frequencyHz.toFixed(3)} Hz, sent ${e.hz} Hz (tolerance 0.5%)`);
    if (e.toneSeconds !== undefined) {
      const tol = e.durationTolerance ?? 0.03;
      if (Math.abs(r.activeSeconds - e.toneSeconds) > tol * e.toneSeconds) out.failures.push(`${ch}${r.activeSeconds.toFixed(3)} s of tone played, ${e.toneSeconds} s sent (tolerance ${(tol * 100).toFixed(0)}%)`);
    }
    if (e.liveMinFraction !== undefined && r.activeSeconds < e.liveMinFraction * seconds) {
      out.failures.push(`${ch}${r.activeSeconds.toFixed(3)} s of tone in a ${seconds.toFixed(3)} s capture of a live sender (at least ${(e.liveMinFraction * 100).toFixed(0)}% expected)`);
    }
    if (g.longestMs > e.maxGapMs) out.failures.push(`${ch}${g.gaps.length} gap(s) in the tone, the longest ${g.longestMs.toFixed(1)} ms (limit ${e.maxGapMs} ms): ${g.gaps.map((x) => `${x.durationMs.toFixed(1)} ms at ${x.startSec.toFixed(3)} s`).join(', ')}`);
    if (e.levelDbfs !== undefined && Math.abs(r.levelDbfs - e.levelDbfs) > LEVEL_TOLERANCE_DB) {
      out.failures.push(`${ch}level ${r.levelDbfs.toFixed(2)} dBFS RMS, sent ${e.levelDbfs.toFixed(2)} dBFS RMS (tolerance ${LEVEL_TOLERANCE_DB} dB)`);
    }
  });
  return out;
}

/** The WAV a generator writes (the reference for what a sender sends): RMS level and tone length. */
export function referenceTone(path: string, hz: number): { levelDbfs: number; activeSeconds: number; channels: number; rate: number } {
  if (!existsSync(path)) throw new Error(`the reference generator wrote no file (${path})`);
  const pcm = parseWav(readFileSync(path));
  const chans = deinterleave(pcm.samples, pcm.channels).map((s) => analyzeTone({ rate: pcm.rate, channels: 1, samples: s }, { expectHz: hz }));
  const levels = chans.map((c) => c.levelDbfs);
  if (Math.max(...levels) - Math.min(...levels) > 0.1) throw new Error(`reference ${path}: channels differ in level (${levels.join(', ')} dBFS)`);
  return { levelDbfs: levels[0], activeSeconds: chans[0].activeSeconds, channels: pcm.channels, rate: pcm.rate };
}

// ---------------------------------------------------------------------------------------------
// Concealment on a clean path

/**
 * On a loss-free path, play conceals only when its buffer runs dry: a packet came later than
 * the playout latency allowed. By design (src/player/player.ts) an underrun is concealed in
 * place, so the latency grows by exactly the audio made up, and the player starts at the
 * lowest latency a packet allows and learns the arrival spread. So the total made up on a
 * clean path is bounded by how late the latest packet was, measured against the first one
 * (stream.maxSkewMs: the largest |arrival - ideal timeline| anchored at the first packet),
 * plus at most one chunk per underrun (concealment comes in chunks of at most one packet and at
 * most what the output takes at once: 10 ms blocks for a WAV file).
 * A sender that paces evenly (rtpcast send, GStreamer, PulseAudio) has a skew of a few ms;
 * more means the sender is bursty (ffmpeg -re paces 1024-sample blocks: 21.3 ms) or the
 * machine was too busy to read the socket in time.
 */
export function cleanConcealBoundMs(s: PlayStatusJson): number {
  const st = s.stream;
  if (!st) return 0;
  return Math.max(0, st.maxSkewMs) + s.player.underruns * Math.min(packetMs(s), CHUNK_MS);
}

/** the largest chunk play conceals at once: a packet, or what the output asks for at once (10 ms blocks for a file, +1 frame of resampling) */
const CHUNK_MS = 10.1;

/** Mean packet duration of the stream, ms. */
export function packetMs(s: PlayStatusJson): number {
  const st = s.stream;
  if (!st || st.packets < 2) return 20;
  return (st.durationSec * 1000) / (st.expected - 1);
}

export function concealedMs(s: PlayStatusJson): number {
  return s.player.concealedMs.plc + s.player.concealedMs.fade;
}

// ---------------------------------------------------------------------------------------------
// Report lines

export interface ResultRow {
  sender: string;
  stream: string;
  hz: number;
  check: PlayedCheck;
  stop: PlayStatusJson;
}

export function fmtRow(r: ResultRow): string {
  const ch = r.check.perChannel;
  const f = ch.length ? ch.map((c) => c.frequencyHz.toFixed(2)).join('/') : '-';
  const act = ch.length ? Math.min(...ch.map((c) => c.activeSeconds)).toFixed(3) : '-';
  const gap = ch.length ? Math.max(...ch.map((c) => c.longestGapMs)).toFixed(1) : '-';
  const lvl = ch.length ? ch.map((c) => c.levelDbfs.toFixed(2)).join('/') : '-';
  const p = r.stop.player;
  const st = r.stop.stream;
  return [
    r.sender.padEnd(34),
    r.stream.padEnd(26),
    `${r.hz} Hz -> ${f} Hz`.padEnd(28),
    `${r.check.pcm?.channels ?? '-'} ch`,
    `active ${act} s`,
    `gap ${gap} ms`,
    `level ${lvl} dBFS`,
    `concealed plc ${p.concealedMs.plc.toFixed(1)} fade ${p.concealedMs.fade.toFixed(1)} fec ${p.concealedMs.fec.toFixed(1)} ms (bound ${cleanConcealBoundMs(r.stop).toFixed(1)})`,
    `underruns ${p.underruns}`,
    `late ${p.late}`,
    `loss ${st ? st.lostPct.toFixed(2) : '-'}% (${st?.packets ?? 0}/${st?.expected ?? 0} pkts)`,
    `latency ${p.bufferedMs.toFixed(1)}/${p.targetMs.toFixed(1)} ms`,
    `jitter ${st ? st.jitterMs.toFixed(2) : '-'} ms skew ${st ? st.maxSkewMs.toFixed(1) : '-'} ms max-interarrival ${st?.arrivalDeltaMs.max?.toFixed(1) ?? '-'} ms`,
    `phase breaks ${ch.map((c) => c.phaseBreaks).join('/')}`,
  ].join(' | ');
}
