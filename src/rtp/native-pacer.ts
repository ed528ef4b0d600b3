import { join } from 'node:path';
import type { Socket } from 'node:dgram';
import { constants as osConstants } from 'node:os';
import type { L16FileRun } from '../transport/udp';

/**
 * The optional native pacer (native/pacer, the `rtpcast-pacer` package): a thread that sleeps with
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to each queued packet's due time and sends it on
 * the UDP sockets Node already opened and connected. The sender builds packets a batch ahead and
 * wakes twice a second (every 4 s when unwatched) instead of once per packet. docs/ARCHITECTURE.md, "The native pacer".
 */
interface PacerAddon {
  create(groups: number[][], tryRealtime?: boolean): unknown;
  push(handle: unknown, dueNs: bigint, group: number, packet: Buffer): number;
  /** absent in an addon built before file runs */
  pushRun?(handle: unknown, anchorNs: bigint, header: Buffer, run: Omit<L16FileRun, 'header' | 'anchorNs'>): number;
  poll(handle: unknown): RawPoll;
  drop(handle: unknown): number;
  close(handle: unknown): void;
  now(): bigint;
}

interface RawPoll {
  /** packets still queued (a file run counts its packets not yet sent) */
  queued: number;
  /** file runs: consecutive silent packets up to the last one sent */
  silentRun?: number;
  readErrors?: number;
  readErrno?: number;
  /** file runs: per-channel peak |sample| (16-bit) since the last poll */
  peaks?: number[];
  sentRtp: number;
  sentRtcp: number;
  dropped: number;
  lateOver1ms: number;
  lateMaxNs: number;
  lateSumNs: number;
  hist: Uint32Array;
  histStepNs: number;
  errors: { group: number; index: number; code: string; message: string }[];
  errorsLost: number;
  /** 2: SCHED_FIFO, 1: fair class with a short slice, 0: default */
  sched: number;
}

/** Which pacer sends the packets, and why (shown by send --verbose and in the JSON start event). */
export interface PacerChoice {
  pacer: 'native' | 'js';
  /** why the JS pacer is used (undefined for native) */
  reason?: string;
  /** native: the thread reads the file itself (a 16-bit WAV sent as L16: L16FileRun) */
  fileRuns?: boolean;
}

/** Departure lateness of the RTP packets the native thread sent (its own clock, after the send call). */
export interface DepartureStats {
  /** RTP packets that left */
  sent: number;
  /** packets still waiting for their time */
  queued: number;
  /** packets discarded unsent (stop before their time) */
  dropped: number;
  lateP50Ms: number;
  lateP99Ms: number;
  lateMaxMs: number;
  /** packets that left more than 1 ms after their due time */
  lateOver1ms: number;
  /** file runs: per-channel peak since the last poll, linear (0..1); empty when none were sent */
  runPeaks?: number[];
  /** file runs: consecutive silent packets up to the last one sent */
  runSilentPackets?: number;
  /** file runs: reads that failed (the packet went out as silence), and the last error's code */
  runReadErrors?: number;
  runReadError?: string;
  /** how the pacing thread is scheduled: 'realtime' (SCHED_FIFO, when allowed), 'short-slice' (Linux 6.12+), 'default' */
  scheduling: 'realtime' | 'short-slice' | 'default';
}

let loaded: { addon?: PacerAddon; error?: string } | undefined;

/**
 * Loads the addon once: the installed `rtpcast-pacer` package, else the build in this checkout's
 * native/pacer (a worktree whose node_modules is shared). Undefined with the reason when it is off.
 */
export function loadPacerAddon(env: NodeJS.ProcessEnv = process.env): { addon?: PacerAddon; error?: string } {
  if (env.RTPCAST_NO_NATIVE === '1') return { error: 'RTPCAST_NO_NATIVE=1' };
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { error: `the native pacer is built for Linux only (this is ${process.platform})` });
  const tries = ['rtpcast-pacer', join(__dirname, '..', '..', '..', 'native', 'pacer')];
  let first: string | undefined;
  for (const t of tries) {
    try {
      const addon = require(t) as PacerAddon;
      if (typeof addon.create === 'function' && typeof addon.push === 'function') return (loaded = { addon });
    } catch (e) {
      first ??= (e as Error).message.split('\n')[0];
    }
  }
  return (loaded = { error: `the native pacer is not built (${first ?? 'not found'}): reinstall with a C compiler, python3 and make (npm ci builds native/pacer)` });
}

/**
 * The file descriptor of a bound dgram socket, or undefined where it has none (Windows) or Node
 * hides it. Reads the socket's internal state handle (the public `_handle` getter is deprecated
 * and warns); any surprise means "no fd", and the JS pacer is used.
 */
export function socketFd(s: Socket): number | undefined {
  try {
    const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol');
    const fd = key ? (s as unknown as Record<symbol, { handle?: { fd?: unknown } }>)[key]?.handle?.fd : undefined;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
  } catch {
    return undefined;
  }
}

/** Lateness quantile (0..1) in ms from the addon's cumulative histogram (buckets of `stepNs`, the last one open). */
export function histogramQuantileMs(hist: ArrayLike<number>, stepNs: number, q: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    // the bucket's upper edge: a conservative figure (never under the real lateness)
    if (seen >= rank) return ((i + 1) * stepNs) / 1e6;
  }
  return (hist.length * stepNs) / 1e6;
}

export type PacerErrorHandler = (group: 'rtp' | 'rtcp', index: number, e: NodeJS.ErrnoException) => void;

/** One native pacing thread over the RTP sockets (group 0) and RTCP sockets (group 1) of the destinations. */
export class NativePacer {
  private handle: unknown;
  private last: RawPoll | undefined;
  private lastDueNs = 0n;
  /** file runs: per-channel peak |sample| (16-bit) gathered since the last poll() */
  private runPeaks: number[] = [];
  /** how far ahead the sender builds packets, and how often it wakes to do so */
  readonly lookaheadNs: bigint;
  readonly periodNs: bigint;
  /** the addon reads L16 file runs itself (pushRun) */
  readonly fileRuns: boolean;
  /** for a sender nobody watches (PacedQueue.unwatched): 5 s ahead, a wake-up when 1 s is left */
  readonly unwatched = { lookaheadNs: 5_000_000_000n, periodNs: 4_000_000_000n };

  constructor(
    private readonly addon: PacerAddon,
    rtpFds: number[],
    rtcpFds: number[],
    private readonly onError: PacerErrorHandler,
    o: { lookaheadNs?: bigint; periodNs?: bigint; realtime?: boolean } = {},
  ) {
    // A short fair slice (Linux 6.12+) by default; SCHED_FIFO only when asked (RTPCAST_PACER_RT=1)
    // and allowed. On a VM whose host has no steal-time accounting a SCHED_FIFO thread was charged
    // 3-14 s of CPU a minute for 0.1 s of work, with no better pacing (docs/BENCHMARKS.md, 2026-12-05).
    this.handle = addon.create([rtpFds, rtcpFds], o.realtime ?? process.env.RTPCAST_PACER_RT === '1');
    // 1 s ahead, a wake-up when 500 ms are still queued (two a second): a main thread held up to
    // 500 ms (a loaded machine, GC, a slow timer) never lets the queue run dry, and the main thread
    // wakes 2 times a second instead of 20 (at 250 ms/50 ms the wake-ups, not the encoding, were
    // most of an Opus send's CPU: docs/BENCHMARKS.md). Only files and tones use this pacer, so
    // building ahead adds no latency anyone hears; a Ctrl-C drops at most the 1 s queued (counted).
    this.lookaheadNs = o.lookaheadNs ?? 1_000_000_000n;
    this.periodNs = o.periodNs ?? 500_000_000n;
    this.fileRuns = typeof addon.pushRun === 'function' && process.env.RTPCAST_NO_FILE_RUNS !== '1';
  }

  push(dueNs: bigint, packet: Buffer, rtcp: boolean): void {
    if (!this.handle) return;
    this.addon.push(this.handle, dueNs, rtcp ? 1 : 0, packet);
    if (dueNs > this.lastDueNs) this.lastDueNs = dueNs;
  }

  /** CLOCK_MONOTONIC now, in ns: the clock the due times are in */
  addonNow(): bigint {
    return this.addon.now();
  }

  /** Queues a file run (see L16FileRun); false when the addon predates runs. */
  pushRun(run: L16FileRun): boolean {
    if (!this.handle || !this.addon.pushRun) return false;
    const { header, anchorNs, ...rest } = run;
    this.addon.pushRun(this.handle, anchorNs, header, rest);
    const last = anchorNs + BigInt(Math.ceil((((run.first + run.count - 1) * run.frame) / run.rate) * 1e9));
    if (last > this.lastDueNs) this.lastDueNs = last;
    return true;
  }

  /** Counters and lateness so far; send errors since the last poll go to the error handler. */
  poll(): DepartureStats {
    this.refresh();
    const p = this.last;
    if (!p) return { sent: 0, queued: 0, dropped: 0, lateP50Ms: 0, lateP99Ms: 0, lateMaxMs: 0, lateOver1ms: 0, scheduling: 'default' };
    const peaks = this.runPeaks.map((x) => x / 32768);
    this.runPeaks = [];
    return {
      sent: p.sentRtp,
      queued: p.queued,
      dropped: p.dropped,
      lateP50Ms: histogramQuantileMs(p.hist, p.histStepNs, 0.5),
      lateP99Ms: histogramQuantileMs(p.hist, p.histStepNs, 0.99),
      lateMaxMs: p.lateMaxNs / 1e6,
      lateOver1ms: p.lateOver1ms,
      scheduling: p.sched === 2 ? 'realtime' : p.sched === 1 ? 'short-slice' : 'default',
      runPeaks: peaks,
      runSilentPackets: p.silentRun ?? 0,
      runReadErrors: p.readErrors ?? 0,
      ...(p.readErrno ? { runReadError: errnoName(p.readErrno) } : {}),
    };
  }

  /** Reads the thread's counters; send errors go to the handler, file-run peaks are kept for the next poll(). */
  private refresh(): void {
    if (!this.handle) return;
    const p = this.addon.poll(this.handle);
    this.last = p;
    for (const e of p.errors) {
      const err = Object.assign(new Error(e.message), { code: e.code, syscall: 'send' }) as NodeJS.ErrnoException;
      this.onError(e.group === 1 ? 'rtcp' : 'rtp', e.index, err);
    }
    const got = p.peaks ?? [];
    for (let c = 0; c < got.length; c++) if (!(got[c] <= (this.runPeaks[c] ?? 0))) this.runPeaks[c] = got[c];
  }

  /** Waits until every queued packet has left (bounded: the last due time plus 1 s). */
  async drain(): Promise<void> {
    const limit = this.lastDueNs + 1_000_000_000n;
    for (;;) {
      this.refresh();
      const now = this.addon.now();
      if (!this.handle || (this.last?.queued ?? 0) === 0 || now >= limit) return;
      // nothing can leave before the last packet is due: sleep until then (a whole lookahead, up
      // to 1 s, is queued when a file ends), then look every 5 ms. Polling every 5 ms from the
      // start woke the main thread 200 times at the end of every file.
      await new Promise((r) => setTimeout(r, drainWaitMs(this.lastDueNs, now)));
    }
  }

  /** Discards what is still queued; returns how many packets (RTP and RTCP) were dropped. */
  drop(): number {
    return this.handle ? this.addon.drop(this.handle) : 0;
  }

  /** Stops the thread (joins it). Call before the sockets close. Idempotent. */
  close(): void {
    if (!this.handle) return;
    this.poll();
    this.addon.close(this.handle);
    this.handle = undefined;
  }
}

/** "EIO" for 5: the errno's name (os.constants.errno), or the number. */
function errnoName(n: number): string {
  const hit = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return hit ? hit[0] : `errno ${n}`;
}

/** How long drain() sleeps before its next look: until the last due time, then 5 ms at a time. */
export function drainWaitMs(lastDueNs: bigint, nowNs: bigint): number {
  const untilLast = Number(lastDueNs - nowNs) / 1e6;
  return untilLast > 5 ? Math.ceil(untilLast) : 5;
}
