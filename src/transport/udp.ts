import { createSocket, type Socket } from 'node:dgram';
import { ExitCode, RtpcastError } from '../errors';
import { formatDestination, type Destination } from './destination';
import { NativePacer, socketFd, type loadPacerAddon } from '../rtp/native-pacer';

/** What the sender needs from the network: the only interface the RTP code sees. */
export interface Transport {
  /** one RTP packet to every destination */
  send(packet: Buffer): void;
  /** one RTCP packet to every destination's port + 1 */
  sendRtcp(packet: Buffer): void;
  /**
   * With a native pacer attached (UdpTransport.attachPacer): hand the packet over now, it leaves at
   * `dueNs` (monotonic clock). Wrappers (SRTP, tee) forward it; absent when nothing paces for us.
   * The packet is copied before this returns: the caller may reuse its buffer for the next one.
   */
  sendAt?(packet: Buffer, dueNs: bigint): void;
  sendRtcpAt?(packet: Buffer, dueNs: bigint): void;
  /**
   * With a native pacer that reads files itself: queue `run.count` L16 packets whose samples it
   * reads from the file (see L16FileRun). False when nothing here can (no pacer attached, a
   * wrapper that must see every packet such as SRTP or --web): nothing is queued then.
   */
  sendFileRunAt?(run: L16FileRun): boolean;
  /** the local address packets leave from, per destination (for the SDP's o= line) */
  localAddress(i: number): string;
  onWarning(fn: (w: TransportWarning) => void): void;
  close(): Promise<void>;
}

/**
 * A run of L16 packets read from a 16-bit little-endian PCM file by the native pacer: packet k
 * carries the `payload` bytes at `offset + k * payload` (zero past `end`) swapped to big-endian,
 * `header` with sequence + k, timestamp + k * ticks and the marker bit on packet 0 only, and is
 * due at anchorNs + floor((first + k) * frame * 1e9 / rate) ns (PacketSchedule.dueNs exactly).
 * Packets whose every sample stays within +-`silence` count as silent.
 */
export interface L16FileRun {
  header: Buffer;
  /** the schedule's anchor (monotonic ns) and the run's first packet counted from it */
  anchorNs: bigint;
  first: number;
  fd: number;
  offset: number;
  end: number;
  count: number;
  payload: number;
  frame: number;
  rate: number;
  ticks: number;
  channels: number;
  silence: number;
}

export interface TransportWarning {
  destination: string;
  code: string;
  message: string;
}

export interface UdpOptions {
  /** multicast hops (default 1: this LAN segment only) */
  ttl?: number;
  /** deliver our own multicast to receivers on this machine (default true) */
  multicastLoop?: boolean;
  /** local interface address for multicast (default: the kernel's choice) */
  multicastInterface?: string;
}

interface Leg {
  dest: Destination;
  rtp: Socket;
  rtcp: Socket;
  refused: boolean;
  /** send callbacks, made once (not a closure per packet): without a callback dgram drops a synchronous send error (ECONNREFUSED) unseen */
  onRtpSent: (e: Error | null) => void;
  onRtcpSent: (e: Error | null) => void;
}

/**
 * UDP to N destinations, one connected socket pair (RTP, RTCP) per destination: connecting makes
 * the kernel report "port unreachable" back to us (ECONNREFUSED), so a receiver that is not
 * running yet is reported instead of silently ignored. Sends are synchronous (no DNS per packet).
 */
export class UdpTransport implements Transport {
  private warn: ((w: TransportWarning) => void) | undefined;
  sendErrors = 0;
  /** the native pacing thread sending on our sockets, when attached */
  pacer: NativePacer | undefined;

  private constructor(private readonly legs: Leg[]) {}

  static async open(destinations: Destination[], o: UdpOptions = {}): Promise<UdpTransport> {
    const legs: Leg[] = [];
    try {
      for (const dest of destinations) {
        const rtp = await connected(dest, dest.port, o);
        const rtcp = await connected(dest, dest.port + 1, o);
        legs.push({ dest, rtp, rtcp, refused: false, onRtpSent: () => undefined, onRtcpSent: () => undefined });
      }
    } catch (e) {
      for (const l of legs) {
        l.rtp.close();
        l.rtcp.close();
      }
      throw e;
    }
    const t = new UdpTransport(legs);
    for (const l of legs) {
      l.onRtpSent = (e) => e && t.report(l, e as NodeJS.ErrnoException);
      l.onRtcpSent = (e) => e && t.reportRtcp(l, e as NodeJS.ErrnoException);
    }
    for (const l of legs) {
      for (const s of [l.rtp, l.rtcp]) s.on('error', (e) => t.report(l, e as NodeJS.ErrnoException));
    }
    return t;
  }

  onWarning(fn: (w: TransportWarning) => void): void {
    this.warn = fn;
  }

  localAddress(i: number): string {
    return this.legs[i].rtp.address().address;
  }

  send(packet: Buffer): void {
    for (const l of this.legs) l.rtp.send(packet, l.onRtpSent);
  }

  sendRtcp(packet: Buffer): void {
    for (const l of this.legs) l.rtcp.send(packet, l.onRtcpSent);
  }

  /**
   * Hands our sockets to a native pacing thread (src/rtp/native-pacer.ts): afterwards `sendAt`
   * queues packets for it. Returns the reason when it cannot (no file descriptors on this platform).
   * Send errors it meets are reported like ours (same warnings, same counter).
   */
  attachPacer(addon: NonNullable<ReturnType<typeof loadPacerAddon>['addon']>, o?: { lookaheadNs?: bigint; periodNs?: bigint }): NativePacer | string {
    const rtp = this.legs.map((l) => socketFd(l.rtp));
    const rtcp = this.legs.map((l) => socketFd(l.rtcp));
    if ([...rtp, ...rtcp].some((fd) => fd === undefined)) return 'the UDP sockets\' file descriptors are not available on this platform';
    this.pacer = new NativePacer(addon, rtp as number[], rtcp as number[], (group, i, e) => (group === 'rtp' ? this.report(this.legs[i], e) : this.reportRtcp(this.legs[i], e)), o);
    return this.pacer;
  }

  sendAt(packet: Buffer, dueNs: bigint): void {
    if (this.pacer) this.pacer.push(dueNs, packet, false);
    else this.send(Buffer.from(packet)); // dgram keeps the buffer until sent; the caller may reuse it
  }

  sendFileRunAt(run: L16FileRun): boolean {
    return this.pacer ? this.pacer.pushRun(run) : false;
  }

  sendRtcpAt(packet: Buffer, dueNs: bigint): void {
    if (this.pacer) this.pacer.push(dueNs, packet, true);
    else this.sendRtcp(Buffer.from(packet));
  }

  private report(l: Leg, e: NodeJS.ErrnoException): void {
    this.sendErrors++;
    const where = formatDestination(l.dest);
    if (e.code === 'ECONNREFUSED') {
      // Reported once per destination until packets are accepted again.
      if (l.refused) return;
      l.refused = true;
      this.warn?.({ destination: where, code: e.code, message: `nothing is listening at ${where} yet (the receiver's system answered "port unreachable"); rtpcast keeps sending: start the receiver, or check its port` });
      return;
    }
    this.warn?.({ destination: where, code: e.code ?? 'ERROR', message: `sending to ${where} failed: ${e.message}` });
  }

  private reportRtcp(l: Leg, e: NodeJS.ErrnoException): void {
    // Receivers rarely listen for RTCP (ffplay, VLC without an SDP do not): refusals there are normal.
    if (e.code === 'ECONNREFUSED') return;
    this.report(l, e);
  }

  async close(): Promise<void> {
    // the thread sends on these sockets: stop it first
    this.pacer?.close();
    await Promise.all(this.legs.flatMap((l) => [l.rtp, l.rtcp]).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

async function connected(dest: Destination, port: number, o: UdpOptions): Promise<Socket> {
  const s = createSocket({ type: dest.family === 6 ? 'udp6' : 'udp4' });
  const where = formatDestination({ ...dest, port });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, () => {
      s.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    s.close();
    throw new RtpcastError(`cannot open a UDP socket for ${where}: ${e.message}`, ExitCode.network, dest.family === 6 ? 'is IPv6 enabled on this machine? try an IPv4 destination' : undefined);
  });
  if (dest.multicast) {
    try {
      s.setMulticastTTL(o.ttl ?? 1);
      s.setMulticastLoopback(o.multicastLoop ?? true);
      if (o.multicastInterface) s.setMulticastInterface(o.multicastInterface);
    } catch (e) {
      s.close();
      throw new RtpcastError(`cannot set up multicast to ${where}: ${(e as Error).message}`, ExitCode.network, 'check --multicast-if (an address of this machine) and --ttl');
    }
  }
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.connect(port, dest.address, () => {
      s.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    s.close();
    const hint = e.code === 'ENETUNREACH' ? 'no route to that network: check the address and this machine\'s network connection (ip route / route print)' : 'check the destination address';
    throw new RtpcastError(`cannot send to ${where}: ${e.code ?? e.message}`, ExitCode.network, hint);
  });
  return s;
}
