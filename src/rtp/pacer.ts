import type { Clock } from './clock';

/**
 * When each packet is due, from media time rather than from the previous send: packet n leaves at
 * start + n * frameSamples / sampleRate, computed in integer nanoseconds from the start, so the
 * schedule cannot drift from the media rate however long it runs. Pure: the clock is injected.
 */
export class PacketSchedule {
  private anchorNs: bigint;
  private anchorPacket = 0;
  /** how often the schedule was re-anchored because the process fell too far behind */
  resyncs = 0;

  constructor(
    private readonly frameSamples: number,
    private readonly sampleRate: number,
    startNs: bigint,
    /** if the sender falls this far behind (suspend, overload), it re-anchors instead of bursting */
    private readonly maxLagNs: bigint = 200_000_000n,
  ) {
    this.anchorNs = startNs;
  }

  /** Moves every later due time by `ns` (negative: sooner). Used to follow a capture device's clock. */
  shift(ns: bigint): void {
    this.anchorNs += ns;
    this.lastN = -1;
  }

  /** packet n's place on the schedule: the anchor's time and n counted from the anchor (due = anchor + floor(k * frame * 1e9 / rate)) */
  position(n: number): { anchorNs: bigint; k: number } {
    return { anchorNs: this.anchorNs, k: n - this.anchorPacket };
  }

  /** the last dueNs answer (callers ask for the same packet several times: loop test, hand-over) */
  private lastN = -1;
  private lastDue = 0n;

  /**
   * Due time of packet n (0-based) in clock nanoseconds: anchor + floor(k * frameSamples * 1e9 /
   * sampleRate), k packets after the anchor. Exact integer arithmetic in doubles (each part stays
   * below 2^53 for any k below 2^53 / frameSamples), so a packet costs one BigInt, not seven.
   */
  dueNs(n: number): bigint {
    if (n === this.lastN) return this.lastDue;
    const samples = (n - this.anchorPacket) * this.frameSamples;
    const whole = Math.floor(samples / this.sampleRate);
    const rest = samples - whole * this.sampleRate;
    // whole seconds as BigInt (no 2^53 limit on nanoseconds), the fraction exactly in a double
    const due = this.anchorNs + BigInt(whole) * 1_000_000_000n + BigInt(Math.floor((rest * 1e9) / this.sampleRate));
    this.lastN = n;
    this.lastDue = due;
    return due;
  }

  /**
   * Called before sending packet n at time now: if it is more than maxLag late, the schedule
   * restarts from now (a gap on the wire, no burst of catch-up packets). Returns true on resync.
   */
  catchUp(n: number, nowNs: bigint): boolean {
    if (nowNs - this.dueNs(n) > this.maxLagNs) {
      this.anchorNs = nowNs;
      this.anchorPacket = n;
      this.lastN = -1;
      this.resyncs++;
      return true;
    }
    return false;
  }
}

/** Packets that are due by `nowNs` given `sent` already sent: what a pacer should emit now. */
export function packetsDue(schedule: PacketSchedule, sent: number, nowNs: bigint): number {
  let n = 0;
  while (schedule.dueNs(sent + n) <= nowNs) n++;
  return n;
}

/**
 * Sleeps until a monotonic deadline with one wake-up per packet: the thread sleeps in
 * Atomics.wait (a futex sleep, not a spin) until the deadline and `fn` runs at once. There is no
 * event-loop timer on this path: a timer costs a second wake-up per packet, has 1 ms granularity,
 * and Node starts it from a stale loop time, so it can fire late (the old timer-then-futex
 * sleeper missed deadlines that way under load).
 *
 * Before sleeping, the event loop is given a turn (setImmediate: pending I/O, signals, timers and
 * stream data are handled), at most every `turnEveryNs`: a turn costs about as much CPU as the
 * wake-up itself (~30 us on a small VM), so with sources that never make the sender wait (files,
 * tones: `turnEveryNs` 20 ms) short packets are sent several in a row from one turn, each still at
 * its own time. Live and piped sources keep the default 0: a turn before every packet, so audio
 * that arrived is read before the next packet is built.
 *
 * Deadlines further away than `maxBlockNs` (long packet times, or a live source's wait) are
 * approached with a timer first, aimed `marginNs` early, so the loop is never held for long.
 */
export class PreciseSleeper {
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastTurnNs: bigint | undefined;
  /** callbacks run in a row without a turn (bounds the recursion fn -> until -> fn) */
  private chain = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxBlockNs = 25_000_000n,
    private readonly marginNs = 10_000_000n,
    private readonly turnEveryNs = 0n,
  ) {}

  until(deadlineNs: bigint, fn: () => void): void {
    this.cancel();
    const now = this.clock.nowNs();
    const remaining = deadlineNs - now;
    if (remaining > this.maxBlockNs) {
      const ms = Math.floor(Number(remaining - this.marginNs) / 1e6);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.lastTurnNs = this.clock.nowNs();
        this.until(deadlineNs, fn);
      }, ms);
      return;
    }
    if (this.lastTurnNs !== undefined && deadlineNs - this.lastTurnNs < this.turnEveryNs && this.chain < 16) {
      this.chain++;
      try {
        this.sleepTo(deadlineNs);
        fn();
      } finally {
        this.chain--;
      }
      return;
    }
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.lastTurnNs = this.clock.nowNs();
      this.sleepTo(deadlineNs);
      fn();
    });
  }

  private sleepTo(deadlineNs: bigint): void {
    const left = deadlineNs - this.clock.nowNs();
    if (left > 0n) Atomics.wait(this.cell, 0, 0, Number(left) / 1e6);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}

/**
 * Keeps a live capture buffer near its target by nudging the send schedule: when a capture
 * device's clock runs faster than ours, audio accumulates and packets must leave a little
 * sooner (and the other way round). Proportional control on the level averaged over one
 * second: an excess of E frames is drained over about `drainSec`, at most `maxPpm` off nominal.
 * Pure: it is fed levels and times, and returns the shift to apply to the schedule.
 */
export class LevelServo {
  private sum = 0;
  private count = 0;
  private windowStart: bigint | undefined;
  /** the correction, in ppm of the nominal rate (positive: sending faster), smoothed over ~10 s for display */
  ppm = 0;

  constructor(
    readonly targetFrames: number,
    private readonly rate: number,
    private readonly drainSec = 10,
    private readonly maxPpm = 2000,
  ) {}

  /** Feed the level seen at `nowNs`; returns nanoseconds to shift the schedule by (negative = earlier). */
  update(levelFrames: number, nowNs: bigint): bigint {
    if (this.windowStart === undefined) this.windowStart = nowNs;
    this.sum += levelFrames;
    this.count++;
    const elapsed = nowNs - this.windowStart;
    if (elapsed < 1_000_000_000n) return 0n;
    const avg = this.sum / this.count;
    this.sum = 0;
    this.count = 0;
    this.windowStart = nowNs;
    const error = avg - this.targetFrames;
    let rel = error / (this.drainSec * this.rate);
    const lim = this.maxPpm / 1e6;
    rel = Math.max(-lim, Math.min(lim, rel));
    this.ppm += (rel * 1e6 - this.ppm) / 10;
    return BigInt(Math.round(-rel * Number(elapsed)));
  }
}

/** What a batch pacer does on one wake-up: build `count` packets now, wake again at `wakeNs`. */
export interface BatchPlan {
  count: number;
  wakeNs: bigint;
}

/**
 * Batch planning for a pacer that sends from elsewhere (the native thread): at `nowNs`, with
 * `built` packets already handed over, build every packet due within `lookaheadNs`, and wake again
 * when the queue still holds `lookaheadNs - periodNs` of packets (about every `periodNs`, never
 * sooner than 1 ms), so a wake-up up to that late still leaves the queue non-empty. Pure.
 */
export function planBatch(schedule: PacketSchedule, built: number, nowNs: bigint, lookaheadNs: bigint, periodNs: bigint): BatchPlan {
  const horizon = nowNs + lookaheadNs;
  let count = 0;
  while (schedule.dueNs(built + count) <= horizon) count++;
  const next = schedule.dueNs(built + count) - (lookaheadNs - periodNs);
  const soonest = nowNs + 1_000_000n;
  return { count, wakeNs: next > soonest ? next : soonest };
}

/**
 * A Sleeper on a plain event-loop timer: for the batch pacer, whose wake-ups only need to come
 * before the queue runs dry (tens of ms of margin), not on time.
 */
export class TimerSleeper {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly clock: Clock) {}

  until(deadlineNs: bigint, fn: () => void): void {
    this.cancel();
    const ms = Math.max(0, Math.ceil(Number(deadlineNs - this.clock.nowNs()) / 1e6));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
