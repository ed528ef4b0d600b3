/**
 * The multi-room measurement (issue #7): one real `rtpcast send` and two real
 * `rtpcast play --sync` processes on one machine, each player on a clock skewed on purpose
 * (--clock-offset-ms, --clock-drift-ppm), each logging when every output block left by the TRUE
 * monotonic clock (--timeline-out). Used by test/interop/play-sync.test.ts (half a minute) and
 * scripts/bench-sync.ts (ten minutes).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWavS16, parseWav } from '../../src/audio/wav';
import { parseTimeline, skewSummary, timelineSkew, type TimelineEntry } from '../../src/sync/timeline';
import { RTPCAST_CLI } from './peers';
import { assertUdpPortFree, Procs, waitForUdpBound, type Proc } from './procs';
import { mulberry32 } from './prng';

export interface PlayerClock {
  offsetMs: number;
  driftPpm: number;
}

export interface SyncRunOptions {
  dir: string;
  /** seconds each player plays */
  seconds: number;
  /** ports: RTP of player i = base + 10 i; the sync service = base + 99 */
  basePort: number;
  players: PlayerClock[];
  latencyMs?: number;
  /** write each player's output to a WAV (for the signal check) instead of discarding it */
  wav?: boolean;
}

export interface PlayerResult {
  clock: PlayerClock;
  timeline: TimelineEntry[];
  rate: number;
  stop: Record<string, unknown> & { sync?: { offsetMs?: number; driftPpm?: number; state: string; jumps: number; exchanges: number } };
  wavPath?: string;
  proc: Proc;
}

/** a white-noise WAV (48 kHz stereo, s16): its cross-correlation has one sharp peak, unlike a tone's */
export function writeNoiseWav(path: string, seconds: number, seed = 7): void {
  const rnd = mulberry32(seed);
  const n = Math.round(seconds * 48000);
  const x = new Float32Array(n * 2);
  for (let i = 0; i < x.length; i++) x[i] = (rnd() * 2 - 1) * 0.25;
  writeFileSync(path, encodeWavS16(x, 48000, 2));
}

export interface SyncRun {
  players: PlayerResult[];
  /** the sender's warnings still in the tail of its output (the first ones of a long run may be gone) */
  senderWarnings: string[];
  /** times the sender fell more than 200 ms behind and re-anchored (its stop event's `resyncs`) */
  senderResyncs: number;
}

export async function runSyncExperiment(procs: Procs, o: SyncRunOptions): Promise<SyncRun> {
  const syncPort = o.basePort + 99;
  const ports = o.players.map((_, i) => o.basePort + 10 * i);
  for (const p of [...ports, syncPort]) assertUdpPortFree(p);
  const input = join(o.dir, 'noise.wav');
  writeNoiseWav(input, o.seconds + 8);
  const sdp = join(o.dir, 'room.sdp');
  const send = procs.start([process.execPath, RTPCAST_CLI, 'send', '--input', input, '--codec', 'l16', ...ports.flatMap((p) => ['--dest', `127.0.0.1:${p}`]), '--sync-port', String(syncPort), '--sdp', sdp, '--json']);
  await waitForUdpBound(syncPort, send, 10_000);
  const plays = o.players.map((c, i) => {
    const tl = join(o.dir, `player${i}.timeline`);
    const wav = o.wav ? join(o.dir, `player${i}.wav`) : undefined;
    const sdpI = o.players.length > 1 ? join(o.dir, `room-127.0.0.1-${ports[i]}.sdp`) : sdp;
    const p = procs.start([
      process.execPath, RTPCAST_CLI, 'play', sdpI, '--sync', `127.0.0.1:${syncPort}`,
      '--clock-offset-ms', String(c.offsetMs), '--clock-drift-ppm', String(c.driftPpm),
      '--timeline-out', tl, '--out', wav ?? '-', '--duration', String(o.seconds), '--json',
      ...(o.latencyMs !== undefined ? ['--latency', String(o.latencyMs)] : []),
    ]);
    return { p, tl, wav, c };
  });
  const results: PlayerResult[] = [];
  for (const { p, tl, wav, c } of plays) {
    const x = await p.waitExit(o.seconds * 1000 + 30_000);
    if (!x || x.code !== 0) throw new Error(`rtpcast play failed or hung:\n${p.describe()}`);
    const events = (wav ? p.stdout : p.stderr).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const stop = events.find((e) => e.event === 'stop') as PlayerResult['stop'] | undefined;
    if (!stop) throw new Error(`rtpcast play printed no stop event:\n${p.describe()}`);
    const t = parseTimeline(readFileSync(tl, 'utf8'));
    results.push({ clock: c, timeline: t.entries, rate: t.rate, stop, wavPath: wav, proc: p });
  }
  await send.stop('SIGINT', 5000);
  const senderWarnings = send.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; message?: string }).filter((e) => e.event === 'warning').map((e) => e.message!);
  const stopLine = send.stdout.split('\n').filter((l) => l.startsWith('{"event":"stop"')).pop();
  if (!stopLine) throw new Error(`rtpcast send printed no stop event:\n${send.describe()}`);
  const senderResyncs = (JSON.parse(stopLine) as { resyncs: number }).resyncs;
  return { players: results, senderWarnings, senderResyncs };
}

/** skew between two players (a minus b, us) for every block of a played after `fromSec` of a's first audio */
export function pairSkew(a: PlayerResult, b: PlayerResult, fromSec: number): { atSec: number; skewUs: number }[] {
  const first = a.timeline.find((e) => e.ts !== undefined);
  if (!first) return [];
  const s = timelineSkew(a.timeline, b.timeline, a.rate, first.trueNs + BigInt(Math.round(fromSec * 1e9)));
  return s.map((x) => ({ atSec: Number(x.atNs - first.trueNs) / 1e9, skewUs: x.skewUs }));
}

export { skewSummary };

/**
 * The same check on the audio itself: at true time `atNs`, which output frame each player was
 * sending (from its timeline: block start frame + the time since the block left), and the lag
 * between the two recordings there, by cross-correlation of 20 ms of noise (lag in frames, a
 * minus b: positive = a played the same sound later). Undefined when either was silent there.
 */
export function audioLagFrames(a: PlayerResult, b: PlayerResult, atNs: bigint, maxLag = 96): number | undefined {
  const pa = parseWav(readFileSync(a.wavPath!));
  const pb = parseWav(readFileSync(b.wavPath!));
  return lagAt(pa.samples, pa.channels, a.timeline, pb.samples, pb.channels, b.timeline, a.rate, atNs, maxLag);
}

export function lagAt(xa: Float32Array, cha: number, ta: TimelineEntry[], xb: Float32Array, chb: number, tb: TimelineEntry[], rate: number, atNs: bigint, maxLag: number): number | undefined {
  const frameAt = (t: TimelineEntry[]): number | undefined => {
    let i = 0;
    while (i + 1 < t.length && t[i + 1].trueNs <= atNs) i++;
    if (t[i].ts === undefined || t[i].trueNs > atNs) return undefined;
    return t[i].frame + Math.round((Number(atNs - t[i].trueNs) / 1e9) * rate);
  };
  const fa = frameAt(ta);
  const fb = frameAt(tb);
  if (fa === undefined || fb === undefined) return undefined;
  const win = Math.round(rate * 0.02);
  const left = (x: Float32Array, ch: number, f: number) => x[f * ch];
  if (fa - maxLag < 0 || fb - maxLag < 0 || (fa + win + maxLag) * cha > xa.length || (fb + win + maxLag) * chb > xb.length) return undefined;
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    // a's sound at fa + k is b's at fb + k - lag when a is `lag` frames later
    let s = 0;
    for (let k = 0; k < win; k++) s += left(xa, cha, fa + k) * left(xb, chb, fb + k - lag);
    if (s > best) {
      best = s;
      bestLag = lag;
    }
  }
  return bestLag;
}
