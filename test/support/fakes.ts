import type { L16FileRun, Transport, TransportWarning } from '../../src/transport/udp';
import { expandL16FileRun } from './l16-run';
import type { Sleeper } from '../../src/rtp/sender';
import { ManualClock } from '../../src/rtp/clock';

/** Records what would have gone on the wire (unit tests only: interop tests use real sockets). */
export class RecordingTransport implements Transport {
  rtp: { at: bigint; packet: Buffer }[] = [];
  rtcp: { at: bigint; packet: Buffer }[] = [];
  closed = false;
  constructor(private readonly clock: ManualClock) {}
  send(packet: Buffer): void {
    this.rtp.push({ at: this.clock.nowNs(), packet });
  }
  sendRtcp(packet: Buffer): void {
    this.rtcp.push({ at: this.clock.nowNs(), packet });
  }
  localAddress(): string {
    return '127.0.0.1';
  }
  onWarning(_fn: (w: TransportWarning) => void): void {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A sleeper that jumps the manual clock to each deadline (plus a chosen lateness) and runs the
 * callback on the next macrotask, so a simulated hour passes in milliseconds.
 */
export class JumpingSleeper implements Sleeper {
  private pending: NodeJS.Immediate | undefined;
  constructor(
    private readonly clock: ManualClock,
    private readonly lateNs: (deadline: bigint) => bigint = () => 0n,
  ) {}
  until(deadline: bigint, fn: () => void): void {
    this.pending = setImmediate(() => {
      const t = deadline + this.lateNs(deadline);
      if (t > this.clock.nowNs()) this.clock.set(t);
      fn();
    });
  }
  cancel(): void {
    if (this.pending) clearImmediate(this.pending);
  }
}

/**
 * A stand-in for the native pacer (unit tests only): packets handed over with transport.sendAt
 * "leave" at their due time on the manual clock, which poll() and drain() read.
 */
export class ManualPacedQueue {
  readonly lookaheadNs: bigint;
  readonly periodNs: bigint;
  queued: { due: bigint; packet: Buffer; rtcp: boolean; peaks?: number[]; peak?: number }[] = [];
  departedRtp: { at: bigint; packet: Buffer }[] = [];
  /** file runs taken (fileRuns: true), and their packets' levels as the native pacer reports them */
  runs: L16FileRun[] = [];
  readonly fileRuns: boolean;
  private runPeaks: number[] = [];
  private silentRun = 0;
  departedRtcp: { at: bigint; packet: Buffer }[] = [];
  dropped = 0;
  /** clock times of the sender's wake-ups (poll calls) */
  polls: bigint[] = [];
  constructor(
    private readonly clock: ManualClock,
    lookaheadNs = 100_000_000n,
    periodNs = 40_000_000n,
    o: { fileRuns?: boolean; unwatched?: { lookaheadNs: bigint; periodNs: bigint } } = {},
  ) {
    this.lookaheadNs = lookaheadNs;
    this.periodNs = periodNs;
    this.fileRuns = !!o.fileRuns;
    if (o.unwatched) this.unwatched = o.unwatched;
  }
  /** PacedQueue.unwatched, when given */
  readonly unwatched?: { lookaheadNs: bigint; periodNs: bigint };
  /** a file run, expanded by the reference model of what the native pacer sends */
  pushRun(run: L16FileRun): void {
    this.runs.push(run);
    for (const p of expandL16FileRun(run)) this.queued.push({ due: p.due, packet: p.packet, rtcp: false, peaks: p.peaks, peak: p.peak });
  }
  push(due: bigint, packet: Buffer, rtcp: boolean): void {
    // a copy, as the native pacer makes one: the sender may reuse the buffer (Transport.sendAt)
    this.queued.push({ due, packet: Buffer.from(packet), rtcp });
  }
  private release(until: bigint): void {
    while (this.queued.length && this.queued[0].due <= until) {
      const e = this.queued.shift()!;
      (e.rtcp ? this.departedRtcp : this.departedRtp).push({ at: e.due, packet: e.packet });
      if (e.peaks) {
        e.peaks.forEach((p, c) => (this.runPeaks[c] = Math.max(this.runPeaks[c] ?? 0, p)));
        this.silentRun = e.peak! <= 10 ** (-60 / 20) * 32768 ? this.silentRun + 1 : 0;
      }
    }
  }
  poll() {
    this.polls.push(this.clock.nowNs());
    this.release(this.clock.nowNs());
    const runPeaks = this.runPeaks.map((p) => p / 32768);
    this.runPeaks = [];
    return { sent: this.departedRtp.length, queued: this.queued.length, dropped: this.dropped, lateP50Ms: 0, lateP99Ms: 0, lateMaxMs: 0, lateOver1ms: 0, scheduling: 'default' as const, runPeaks, runSilentPackets: this.silentRun };
  }
  async drain(): Promise<void> {
    const last = this.queued.at(-1);
    if (last && last.due > this.clock.nowNs()) this.clock.set(last.due);
    this.release(this.clock.nowNs());
  }
  drop(): number {
    const n = this.queued.length;
    this.dropped += n;
    this.queued = [];
    return n;
  }
}

/** A transport whose sendAt feeds a ManualPacedQueue (and whose send/sendRtcp record "now"). */
export class PacedRecordingTransport extends RecordingTransport {
  constructor(clock: ManualClock, readonly queue: ManualPacedQueue) {
    super(clock);
  }
  sendAt(packet: Buffer, dueNs: bigint): void {
    this.queue.push(dueNs, packet, false);
  }
  sendRtcpAt(packet: Buffer, dueNs: bigint): void {
    this.queue.push(dueNs, packet, true);
  }
  sendFileRunAt(run: L16FileRun): boolean {
    if (!this.queue.fileRuns) return false;
    this.queue.pushRun(run);
    return true;
  }
}
