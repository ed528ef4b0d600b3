/**
 * Runs a fuzz target over a range of inputs: times each one, samples the heap after a full GC,
 * collects failures (distinct by message and top stack frame) with the input that caused them.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FuzzTarget } from './targets';

/** A full garbage collection (exposes V8's gc if node was started without --expose-gc). */
export function fullGc(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
    (globalThis as { gc?: () => void }).gc = gc;
  }
  gc();
}

export interface FuzzFailure {
  target: string;
  index: number;
  seed: number;
  message: string;
  stack: string;
  input: Uint8Array;
}

export interface FuzzResult {
  target: string;
  seed: number;
  start: number;
  count: number;
  elapsedMs: number;
  /** slowest single input */
  maxInputMs: number;
  maxInputIndex: number;
  /** inputs that took more than 10 ms */
  slowInputs: number;
  /** the 5 slowest inputs, and each re-run alone at the end (3 times, the slowest kept): a
   * machine stall (GC, another process) does not repeat, a slow input does */
  slowest: { index: number; ms: number; retimedMs: number }[];
  /** max of retimedMs: the per-input time that reproduces */
  retimedMaxMs: number;
  /** heapUsed after a full GC: [input index, bytes] */
  heap: [number, number][];
  failures: FuzzFailure[];
  /** failures beyond the distinct ones kept */
  failuresTotal: number;
}

export interface RunOptions {
  seed: number;
  start?: number;
  count: number;
  /** heap samples along the run (default 10) */
  heapSamples?: number;
  maxFailures?: number;
  onProgress?(done: number, r: FuzzResult): void;
  /** written before each input: the watchdog reports it if the input never finishes */
  current?: Int32Array;
}

export function runTarget(t: FuzzTarget, o: RunOptions): FuzzResult {
  const start = o.start ?? 0;
  const inst = t.create(o.seed);
  const res: FuzzResult = { target: t.name, seed: o.seed, start, count: 0, elapsedMs: 0, maxInputMs: 0, maxInputIndex: -1, slowInputs: 0, slowest: [], retimedMaxMs: 0, heap: [], failures: [], failuresTotal: 0 };
  const seen = new Set<string>();
  const every = Math.max(1, Math.floor(o.count / (o.heapSamples ?? 10)));
  // the first sample after the first inputs: lazily built tables (Opus, V8 code) are not a leak
  const firstSampleAt = Math.min(every, 1000);
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < o.count; k++) {
    const i = start + k;
    if (k === firstSampleAt || (k > firstSampleAt && k % every === 0)) {
      fullGc();
      res.heap.push([i, process.memoryUsage().heapUsed]);
    }
    const input = inst.generate(i);
    if (o.current) {
      Atomics.store(o.current, 0, i);
      Atomics.add(o.current, 1, 1);
    }
    const a = process.hrtime.bigint();
    try {
      inst.run(input, i);
    } catch (e) {
      res.failuresTotal++;
      const err = e instanceof Error ? e : new Error(String(e));
      const top = (err.stack ?? '').split('\n').slice(0, 3).join('\n');
      const key = `${err.name}: ${err.message.replace(/\d+/g, 'N')}|${top.split('\n')[1] ?? ''}`;
      if (!seen.has(key) && res.failures.length < (o.maxFailures ?? 20)) {
        seen.add(key);
        res.failures.push({ target: t.name, index: i, seed: o.seed, message: `${err.name}: ${err.message}`, stack: err.stack ?? '', input });
      }
    }
    const ms = Number(process.hrtime.bigint() - a) / 1e6;
    if (ms > res.maxInputMs) {
      res.maxInputMs = ms;
      res.maxInputIndex = i;
    }
    if (ms > 10) res.slowInputs++;
    if (res.slowest.length < 5 || ms > res.slowest[res.slowest.length - 1].ms) {
      res.slowest.push({ index: i, ms, retimedMs: 0 });
      res.slowest.sort((x, y) => y.ms - x.ms);
      if (res.slowest.length > 5) res.slowest.pop();
    }
    res.count++;
    if (o.onProgress && k % 100_000 === 99_999) {
      res.elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      o.onProgress(k + 1, res);
    }
  }
  for (const sl of res.slowest) {
    for (let k = 0; k < 3; k++) {
      const input = inst.generate(sl.index);
      const a = process.hrtime.bigint();
      try {
        inst.run(input, sl.index);
      } catch {
        /* counted above */
      }
      sl.retimedMs = Math.max(sl.retimedMs, Number(process.hrtime.bigint() - a) / 1e6);
    }
    res.retimedMaxMs = Math.max(res.retimedMaxMs, sl.retimedMs);
  }
  inst.close();
  fullGc();
  res.heap.push([start + o.count, process.memoryUsage().heapUsed]);
  res.elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return res;
}
