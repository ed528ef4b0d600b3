import { L16Decoder, OpusDecoder, type AudioDecoder } from '../codec/decoder';
import { Player } from '../player/player';
import { parseRtp, rtcpSummary } from '../rtp/parse';
import { RtpStreamStats, type StreamStats } from '../rtp/stats';
import type { SrtpReceiveFilter, SrtpReceiveStats } from '../transport/srtp';
import type { ReceiveSpec } from './play';

/** senders and addresses tracked one by one (the rest are counted together): bounds memory under a flood of spoofed sources */
export const MAX_TRACKED = 32;

/** The sender being played. */
export interface SenderLock {
  /** as the socket reports it (what connect() takes) */
  raw: string;
  /** plainAddress(raw), for comparisons and messages */
  address: string;
  port: number;
  ssrc: number;
  lastNs: bigint;
  bye: boolean;
}

/** Where a datagram came from (dgram's RemoteInfo, or a test's). */
export interface Origin {
  address: string;
  port: number;
}

/** What the receiver counted (the part of `rtpcast play`'s status it owns). */
export interface ReceiverCounters {
  stream?: StreamStats;
  sender?: string;
  /** other senders seen on the port (not played; at most MAX_TRACKED, the rest in dropped.untracked) */
  others: { sender: string; ssrc: number; packets: number }[];
  /** SRTP streams: decrypted, and dropped for failed authentication / replay */
  srtp?: SrtpReceiveStats;
  /** packets dropped before the player: not RTP, wrong payload type, filtered source (--source / a=source-filter), RTCP on the RTP port, other senders beyond the tracked ones */
  dropped: { malformed: number; wrongPt: number; filtered: number; rtcp: number; untracked: number };
  /** packets refused (--source / a=source-filter), per sender address (at most MAX_TRACKED addresses) */
  filteredFrom: Record<string, number>;
  /** packets that arrived after the socket was bound and before the output was open: kept (playout starts on the newest of them; player.skippedMs is what was skipped) */
  beforeOutput: number;
}

export interface ReceiverEvents {
  warning?(m: string): void;
  /** a datagram nobody wants (filtered, malformed, RTCP, wrong payload type, another sender): the flood detector counts these */
  unwanted?(now: bigint): void;
  /** the sender being played changed (it restarted, or another one is followed) */
  senderChanged?(lock: SenderLock): void;
  /** --port alone: the first packet told the format, the player exists now; the output must be opened */
  format?(spec: ReceiveSpec): void;
  /** the stream cannot be played (--port alone and the first packet's payload type is dynamic) */
  fatal?(e: Error): void;
  /** the player was made (play --sync steers it) */
  player?(player: Player, spec: ReceiveSpec): void;
  /** a sender is locked onto (the first, or a new one after a restart) */
  sender?(address: string, ssrc: number): void;
  /** an RTCP datagram, decrypted when SRTP (play --sync reads the sender reports) */
  rtcpPacket?(msg: Uint8Array): void;
}

export interface ReceiverOptions {
  /** the stream; undefined: learnt from the first RTP packet through formatOf (--port alone) */
  spec?: ReceiveSpec;
  /** --port alone: the format a payload type stands for (throws when it cannot be known) */
  formatOf?(payloadType: number): ReceiveSpec;
  /** --source: the only sender address played (else spec.sourceFilter), and no other sender is ever followed */
  source?: string;
  /** SRTP: every datagram must authenticate before it is parsed */
  srtp?: SrtpReceiveFilter;
  latencyMs?: number;
}

/** "::ffff:1.2.3.4" (an IPv4 sender seen on an IPv6 socket) -> "1.2.3.4" */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/**
 * What `rtpcast play` does with each datagram, without the socket (src/session/play.ts owns the
 * socket, the output and the flood protection; the fuzzer drives this same class):
 *
 * 1. source filter (--source / a=source-filter), before anything else is looked at: a filtered
 *    datagram costs one string comparison and a counter;
 * 2. SRTP: decrypted only if it authenticates;
 * 3. RTP parse; the payload type checked;
 * 4. sender lock: the first sender is played; a restart (same address, new SSRC or port, the old
 *    one silent for 250 ms or said BYE) or another sender once the played one is gone (silent
 *    2 s, or BYE; never with --source) is followed; any other sender is counted, never played;
 * 5. statistics and the jitter buffer (Player.push).
 *
 * Everything dropped is counted (`counters().dropped`, `others`, `filteredFrom`), and memory is
 * bounded: at most MAX_TRACKED senders and addresses are tracked one by one.
 */
export class RtpReceiver {
  spec: ReceiveSpec | undefined;
  player: Player | undefined;
  stats: RtpStreamStats | undefined;
  lock: SenderLock | undefined;
  /** set by the owner once the output is open (before: datagrams are counted in beforeOutput) */
  outputOpen = false;
  readonly dropped = { malformed: 0, wrongPt: 0, filtered: 0, rtcp: 0, untracked: 0 };
  private decoder: AudioDecoder | undefined;
  private readonly others = new Map<string, { sender: string; ssrc: number; packets: number }>();
  private readonly filteredFrom = new Map<string, number>();
  private filteredWarned = 0;
  private beforeOutput = 0;
  /** the accepted sender address (plain), when one is chosen */
  private want: string | undefined;
  private failed = false;

  constructor(
    private readonly o: ReceiverOptions,
    private readonly events: ReceiverEvents = {},
  ) {
    this.want = o.source === undefined ? undefined : plainAddress(o.source);
    if (o.spec) this.setSpec(o.spec);
  }

  private setSpec(s: ReceiveSpec): void {
    this.spec = s;
    const w = s.sourceFilter ?? this.o.source;
    this.want = w === undefined ? undefined : plainAddress(w);
    this.decoder = s.codec === 'opus' ? new OpusDecoder(s.channels) : new L16Decoder(s.channels, s.clockRate);
    this.player = new Player(this.decoder, { clockRate: s.clockRate, channels: s.channels, latencyMs: this.o.latencyMs });
    this.stats = new RtpStreamStats(s.clockRate, { codec: s.codec });
    this.events.player?.(this.player, s);
  }

  /** One datagram on the RTP port, arrived at `now` (monotonic ns). */
  datagram(msg: Uint8Array, from: Origin, now: bigint): void {
    const want = this.want;
    if (want !== undefined && from.address !== want && plainAddress(from.address) !== want) {
      this.filtered(from, want, now);
      return;
    }
    const address = plainAddress(from.address);
    const srtp = this.o.srtp;
    if (srtp) {
      // decrypted only if it authenticates: forged, replayed and wrong-key packets stop here, counted
      const plain = srtp.rtp(msg, `${from.address}:${from.port}`);
      if (!plain) return;
      msg = plain;
    }
    const parsed = parseRtp(msg);
    if (!parsed.ok) {
      if (parsed.error === 'rtcp') this.dropped.rtcp++;
      else this.dropped.malformed++;
      this.events.unwanted?.(now);
      return;
    }
    const pkt = parsed.packet;
    if (!this.spec) {
      // --port alone: the first packet tells the format; the player starts and that packet plays too
      if (this.failed || !this.o.formatOf) return;
      try {
        this.setSpec(this.o.formatOf(pkt.payloadType));
      } catch (e) {
        this.failed = true;
        this.events.fatal?.(e as Error);
        return;
      }
      this.events.format?.(this.spec!);
    }
    const spec = this.spec!;
    const player = this.player!;
    if (pkt.payloadType !== spec.payloadType) {
      this.dropped.wrongPt++;
      if (this.dropped.wrongPt === 1) this.events.warning?.(`packets with payload type ${pkt.payloadType} from ${address}:${from.port}; the stream is payload type ${spec.payloadType}: ignored (is the SDP the sender's?)`);
      this.events.unwanted?.(now);
      return;
    }
    let lock = this.lock;
    if (!lock) {
      lock = this.lock = { raw: from.address, address, port: from.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
      this.events.sender?.(address, pkt.ssrc);
    }
    if (pkt.ssrc !== lock.ssrc || address !== lock.address || from.port !== lock.port) {
      const silent = now - lock.lastNs;
      const restarted = address === lock.address && (silent > 250_000_000n || lock.bye);
      const gone = !this.o.source && (silent > 2_000_000_000n || lock.bye);
      if (restarted || gone) {
        this.events.warning?.(`the sender changed (${lock.address}:${lock.port} SSRC ${hex(lock.ssrc)} -> ${address}:${from.port} SSRC ${hex(pkt.ssrc)}): following it`);
        lock = this.lock = { raw: from.address, address, port: from.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
        this.events.sender?.(address, pkt.ssrc);
        player.resync();
        this.stats = new RtpStreamStats(spec.clockRate, { codec: spec.codec });
        this.events.senderChanged?.(lock);
      } else {
        this.other(address, from.port, pkt.ssrc, lock);
        this.events.unwanted?.(now);
        return;
      }
    }
    lock.lastNs = now;
    if (!this.outputOpen) this.beforeOutput++;
    this.stats!.update({ arrivalNs: now, sequence: pkt.sequence, timestamp: pkt.timestamp, ssrc: pkt.ssrc, payloadType: pkt.payloadType, marker: pkt.marker, payloadBytes: pkt.payload.length });
    if (player.push(pkt.timestamp, pkt.payload, now) === 'malformed') this.dropped.malformed++;
  }

  private filtered(from: Origin, want: string, now: bigint): void {
    this.dropped.filtered++;
    const address = plainAddress(from.address);
    const n = this.filteredFrom.get(address);
    if (n !== undefined || this.filteredFrom.size < MAX_TRACKED) this.filteredFrom.set(address, (n ?? 0) + 1);
    if (n === undefined && this.filteredWarned < MAX_TRACKED) {
      this.filteredWarned++;
      this.events.warning?.(`packets from ${address}:${from.port}, not the chosen sender ${want}: dropped and counted, never played${this.filteredWarned === MAX_TRACKED ? ` (no more warnings for other addresses)` : ''}`);
    }
    this.events.unwanted?.(now);
  }

  private other(address: string, port: number, ssrc: number, lock: SenderLock): void {
    const key = `${address}:${port}/${ssrc}`;
    const o = this.others.get(key);
    if (o) o.packets++;
    else if (this.others.size < MAX_TRACKED) {
      this.others.set(key, { sender: `${address}:${port}`, ssrc, packets: 1 });
      this.events.warning?.(`another sender, ${address}:${port} (SSRC ${hex(ssrc)}), is sending to this port: not played (playing ${lock.address}:${lock.port} SSRC ${hex(lock.ssrc)}); choose one with --source ADDRESS`);
    } else {
      if (this.dropped.untracked === 0) this.events.warning?.(`more than ${MAX_TRACKED} other senders on this port: the rest are counted together (dropped.untracked)`);
      this.dropped.untracked++;
    }
  }

  /**
   * One datagram on the RTCP port. Returns true when it is the played sender's BYE (the player
   * is told the sender ended; the owner decides whether to stop).
   */
  rtcp(msg: Uint8Array, from: Origin): boolean {
    if (this.o.srtp) {
      const plain = this.o.srtp.rtcp(msg, `${from.address}:${from.port}`);
      if (!plain) return false;
      msg = plain;
    }
    this.events.rtcpPacket?.(msg);
    const lock = this.lock;
    if (!lock || !rtcpSummary(msg).byeSsrcs.includes(lock.ssrc)) return false;
    lock.bye = true;
    this.player?.senderEnded();
    this.events.warning?.(`the sender said goodbye (RTCP BYE from SSRC ${hex(lock.ssrc)})`);
    return true;
  }

  counters(): ReceiverCounters {
    const l = this.lock;
    return {
      stream: this.stats?.snapshot(),
      sender: l ? `${l.address}:${l.port}` : undefined,
      others: [...this.others.values()].map((o) => ({ ...o })),
      dropped: { ...this.dropped },
      ...(this.o.srtp ? { srtp: { ...this.o.srtp.stats } } : {}),
      filteredFrom: Object.fromEntries(this.filteredFrom),
      beforeOutput: this.beforeOutput,
    };
  }

  close(): void {
    this.decoder?.close();
  }
}
