import type { Transport, TransportWarning } from '../../src/transport/udp';
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
