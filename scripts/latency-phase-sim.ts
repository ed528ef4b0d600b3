/**
 * Where the last ms of rtpcast play's latency go (issue #4), in virtual time: a clean stream of
 * 20 ms packets (1 ms of uniform arrival jitter by default) read in 10 ms blocks by a timer output
 * starting at each phase 0-9 ms against the packets, for 60 s. For every sample played: the time
 * it was read minus its packet's arrival (the latency the player adds, as bench-play measures
 * it on stdout, without the pipe). Two players: the worst-phase target (no phase awareness, the
 * behaviour before) and a timer output's (phase-aware target, reads aligned: readAlignNs).
 *
 *   node dist/scripts/latency-phase-sim.js [--jitter MS] [--seconds N]
 */
import { Player } from '../src/player/player';
import { L16Decoder } from '../src/codec/decoder';
import { prng } from '../test/support/player-sim';


interface Row { phaseMs: number; targetMs: number; p50: number; p95: number; max: number; underruns: number }

export function runPhase(phaseMs: number, timerSink: boolean, jitterMs = 1, seconds = 60): Row {
  const rate = 48000;
  const frame = 960;
  const block = 480;
  const rnd = prng(Math.round(phaseMs * 10) + 1);
  const p = new Player(new L16Decoder(1, rate), { clockRate: rate, channels: 1 });
  p.setPhaseAware(timerSink);
  const n = Math.round(seconds / 0.02);
  const arrival: number[] = [];
  for (let i = 0; i < n; i++) arrival.push(i * 0.02 + 0.001 + rnd() * jitterMs / 1000);
  const payload = new Uint8Array(frame * 2);
  const priv = p as unknown as { playTs: number; pending?: Float32Array; resampler: { pendingFrames: number } };
  // the media position being output: the playout point minus what is decoded and not yet played
  const pos = () => priv.playTs - (priv.pending ? priv.pending.length : 0) - priv.resampler.pendingFrames;
  const lat: number[] = [];
  let pi = 0;
  let shift = 0;
  for (let k = 0; ; k++) {
    let now = 0.05 + phaseMs / 1000 + k * 0.01 + shift;
    if (now > seconds - 1) break;
    if (timerSink) {
      const d = p.readAlignNs(BigInt(Math.round(now * 1e9)), block);
      if (d) {
        shift += Number(d) / 1e9;
        now += Number(d) / 1e9;
      }
    }
    while (pi < n && arrival[pi] <= now) {
      p.push(1000 + pi * frame, payload, BigInt(Math.round(arrival[pi] * 1e9)));
      pi++;
    }
    const playing = p.stats().state === 'playing';
    const before = playing ? pos() : 0;
    p.read(block, BigInt(Math.round(now * 1e9)));
    if (playing && now > 10) {
      const after = pos();
      for (let s = before; s < after; s += 48) {
        const i = Math.floor((s - 1000) / frame);
        if (i >= 0 && i < n) lat.push((now - arrival[i]) * 1000);
      }
    }
  }
  lat.sort((a, b) => a - b);
  const q = (x: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * x))];
  const st = p.stats();
  return { phaseMs, targetMs: st.targetMs, p50: q(0.5), p95: q(0.95), max: lat[lat.length - 1], underruns: st.underruns };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (k: string, d: number) => (argv.includes(k) ? Number(argv[argv.indexOf(k) + 1]) : d);
  const jitter = arg('--jitter', 1);
  const seconds = arg('--seconds', 60);
  console.log(`| read phase ms | worst-phase target ms | latency p50 / p95 / max ms | underruns | timer output: target ms | latency p50 / p95 / max ms | underruns |`);
  console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  const f = (x: number) => x.toFixed(1);
  const all: [Row, Row][] = [];
  for (let ph = 0; ph < 10; ph++) {
    const a = runPhase(ph, false, jitter, seconds);
    const b = runPhase(ph, true, jitter, seconds);
    all.push([a, b]);
    console.log(`| ${ph} | ${f(a.targetMs)} | ${f(a.p50)} / ${f(a.p95)} / ${f(a.max)} | ${a.underruns} | ${f(b.targetMs)} | ${f(b.p50)} / ${f(b.p95)} / ${f(b.max)} | ${b.underruns} |`);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`| median | ${f(med(all.map((x) => x[0].targetMs)))} | ${f(med(all.map((x) => x[0].p50)))} / ${f(med(all.map((x) => x[0].p95)))} / - | ${all.reduce((s, x) => s + x[0].underruns, 0)} in all | ${f(med(all.map((x) => x[1].targetMs)))} | ${f(med(all.map((x) => x[1].p50)))} / ${f(med(all.map((x) => x[1].p95)))} / - | ${all.reduce((s, x) => s + x[1].underruns, 0)} in all |`);
}
