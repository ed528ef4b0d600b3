/**
 * Virtual-time simulation of sender -> network -> player -> sound card, for deterministic player
 * tests: the sender emits a tone in packets, the network delays/drops/reorders them by a seeded
 * plan, the sound card pulls 10 ms blocks (its clock may run off the sender's by some ppm).
 */
import { Player, type PlayerOptions, type PlayerStats } from '../../src/player/player';
import { L16Decoder, OpusDecoder, type AudioDecoder } from '../../src/codec/decoder';
import { L16Encoder } from '../../src/codec/l16';
import { OpusEncoder } from '../../src/codec/opus';
import { ToneGenerator } from '../../src/audio/tone';

export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export interface SimOptions {
  codec: 'l16' | 'opus';
  seconds: number;
  hz?: number;
  seed?: number;
  /** uniform extra delay 0..jitterMs */
  jitterMs?: number;
  lossPct?: number;
  reorderPct?: number;
  duplicatePct?: number;
  /** sound card clock relative to the sender's, ppm (+: the card runs fast) */
  sinkPpm?: number;
  player?: Partial<PlayerOptions>;
  /** sender events: pause (no packets) or restart (new timestamp base) at a time */
  pauseAt?: { atSec: number; forSec: number };
  restartAtSec?: number;
  /** the sender bursts ahead: the packets of [atSec, atSec + ms) all arrive at atSec */
  burst?: { atSec: number; ms: number };
  /** sender hiccups: the packets of [atSec, atSec + ms) all arrive at atSec + ms */
  late?: { atSec: number; ms: number }[];
  startTs?: number;
  /** the sound card's first pull comes this long after the sender's first packet left (s; default 0) */
  cardStartSec?: number;
  /**
   * the output is a timer sink (stdout, a file): the player is phase-aware and the card's clock
   * takes the player's alignment (Player.readAlignNs), as src/session/play.ts does
   */
  timerSink?: boolean;
  /** sample level snapshots every N seconds */
  statsEverySec?: number;
}

export interface SimResult {
  out: Float32Array;
  rate: number;
  channels: number;
  stats: PlayerStats;
  snapshots: { t: number; s: PlayerStats }[];
  /** for each packet: first output time it could be heard vs arrival, not tracked: use latencies from level */
  sent: number;
}

export function simulate(o: SimOptions): SimResult {
  const rate = 48000;
  const channels = 2;
  const ptime = o.codec === 'opus' ? 0.02 : 0.005;
  const frame = Math.round(rate * ptime);
  const rnd = prng(o.seed ?? 1);
  const tone = new ToneGenerator({ rate, channels }, o.hz ?? 630, -12);
  const enc = o.codec === 'opus' ? new OpusEncoder({ channels, bitrate: 128000, fec: true }) : new L16Encoder();
  const dec: AudioDecoder = o.codec === 'opus' ? new OpusDecoder(channels) : new L16Decoder(channels, rate);
  const player = new Player(dec, { clockRate: rate, channels, ...o.player });
  if (o.timerSink) player.setPhaseAware(true);
  // packets: send time, arrival time
  const packets: { arrive: number; ts: number; payload: Uint8Array }[] = [];
  const n = Math.round(o.seconds / ptime);
  let ts = o.startTs ?? 12345;
  for (let i = 0; i < n; i++) {
    const t = i * ptime;
    const payload = Uint8Array.from(enc.encode(tone.next(frame)));
    if (o.restartAtSec !== undefined && Math.abs(t - o.restartAtSec) < ptime / 2) ts = (ts + 987654321) >>> 0;
    const paused = o.pauseAt && t >= o.pauseAt.atSec && t < o.pauseAt.atSec + o.pauseAt.forSec;
    const thisTs = ts;
    ts = (ts + frame) >>> 0;
    if (paused) continue;
    if (rnd() * 100 < (o.lossPct ?? 0)) continue;
    let delay = 0.002 + rnd() * ((o.jitterMs ?? 0) / 1000);
    if (o.burst && t >= o.burst.atSec && t < o.burst.atSec + o.burst.ms / 1000) delay -= t - o.burst.atSec;
    for (const h of o.late ?? []) if (t >= h.atSec && t < h.atSec + h.ms / 1000) delay += h.atSec + h.ms / 1000 - t;
    if (rnd() * 100 < (o.reorderPct ?? 0)) delay += 2 * ptime;
    packets.push({ arrive: t + delay, ts: thisTs, payload });
    if (rnd() * 100 < (o.duplicatePct ?? 0)) packets.push({ arrive: t + delay + 0.001, ts: thisTs, payload });
  }
  packets.sort((a, b) => a.arrive - b.arrive);
  // the sound card pulls 10 ms of its own time; by the sender's clock that is 10 ms * (1 - ppm)
  const block = rate / 100;
  const cardPeriod = 0.01 / (1 + (o.sinkPpm ?? 0) / 1e6);
  const total = Math.floor((o.seconds - (o.cardStartSec ?? 0)) / cardPeriod); // the card stops when the sender does
  const out = new Float32Array(total * block * channels);
  const snapshots: { t: number; s: PlayerStats }[] = [];
  let pi = 0;
  let nextSnap = o.statsEverySec ?? Infinity;
  let shift = 0;
  for (let k = 0; k < total; k++) {
    let now = (o.cardStartSec ?? 0) + k * cardPeriod + shift;
    if (o.timerSink) {
      const d = player.readAlignNs(BigInt(Math.round(now * 1e9)), block);
      if (d) {
        shift += Number(d) / 1e9;
        now += Number(d) / 1e9;
      }
      if (now > o.seconds) break; // the card started later by the shift: it stops with the sender
    }
    while (pi < packets.length && packets[pi].arrive <= now) {
      player.push(packets[pi].ts, packets[pi].payload, BigInt(Math.round(packets[pi].arrive * 1e9)));
      pi++;
    }
    out.set(player.read(block, BigInt(Math.round(now * 1e9))), k * block * channels);
    if (now >= nextSnap) {
      snapshots.push({ t: now, s: player.stats() });
      nextSnap += o.statsEverySec!;
    }
  }
  return { out, rate, channels, stats: player.stats(), snapshots, sent: n };
}
