import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Clock } from '../rtp/clock';
import { ClockEstimator } from './estimator';
import { emptyRefusals, encodeSync, parseSync, SYNC_PORT, type SyncRefusals } from './protocol';

export interface SyncClientStats {
  sent: number;
  replies: number;
  /** requests without a reply within a second */
  unanswered: number;
  refused: SyncRefusals;
}

export interface SyncClientOptions {
  /** requests a second at first (until `fastSec` of exchanges), then `slowIntervalMs` apart */
  fastIntervalMs?: number;
  fastSec?: number;
  slowIntervalMs?: number;
}

/** "host", "host:port", "[v6]:port" -> address and port (default SYNC_PORT). */
export function parseSyncTarget(text: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? (isIP(text) === 6 ? [text, text, undefined] : /^([^:]+)(?::(\d+))?$/.exec(text));
  if (!m) return undefined;
  const port = m[2] === undefined ? SYNC_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1], port };
}

/**
 * Asks the sender's time-sync server (server.ts) for its clock, several times a second at
 * first, then a few times a second, and feeds every answer into a ClockEstimator. Times are
 * taken with the injected clock (the player's).
 */
export class SyncClient {
  readonly estimator = new ClockEstimator();
  readonly stats: SyncClientStats = { sent: 0, replies: 0, unanswered: 0, refused: emptyRefusals() };
  private readonly outstanding = new Map<number, bigint>();
  private seq = Math.floor(Math.random() * 2 ** 32);
  private timer: NodeJS.Timeout | undefined;
  private startedNs: bigint | undefined;
  private closed = false;
  private readonly o: Required<SyncClientOptions>;

  private constructor(
    private readonly sock: Socket,
    private readonly clock: Clock,
    readonly host: string,
    readonly port: number,
    o: SyncClientOptions,
  ) {
    this.o = { fastIntervalMs: o.fastIntervalMs ?? 50, fastSec: o.fastSec ?? 4, slowIntervalMs: o.slowIntervalMs ?? 100 };
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    sock.on('error', () => {
      /* ICMP unreachable and the like: the request counts as unanswered */
    });
  }

  static async open(host: string, port: number, clock: Clock, o: SyncClientOptions = {}): Promise<SyncClient> {
    const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, () => {
        // connected: the system delivers replies from the sender's server only
        sock.connect(port, host, (e?: Error) => {
          sock.off('error', reject);
          if (e) reject(e);
          else resolve();
        });
      });
    }).catch((e) => {
      sock.close();
      throw e;
    });
    return new SyncClient(sock, clock, host, port, o);
  }

  start(): void {
    this.startedNs = this.clock.nowNs();
    this.tick();
  }

  private tick = (): void => {
    if (this.closed) return;
    const now = this.clock.nowNs();
    for (const [s, t0] of this.outstanding) {
      if (now - t0 > 1_000_000_000n) {
        this.outstanding.delete(s);
        this.stats.unanswered++;
      }
    }
    this.seq = (this.seq + 1) >>> 0;
    const t0 = this.clock.nowNs();
    this.outstanding.set(this.seq, t0);
    this.sock.send(encodeSync({ kind: 'request', seq: this.seq, t0 }));
    this.stats.sent++;
    const fast = Number(now - this.startedNs!) / 1e9 < this.o.fastSec;
    this.timer = setTimeout(this.tick, fast ? this.o.fastIntervalMs : this.o.slowIntervalMs);
  };

  private onMessage(msg: Buffer, _address: string, _port: number): void {
    const t3 = this.clock.nowNs();
    const p = parseSync(msg);
    if (!p.ok) {
      this.stats.refused[p.error]++;
      return;
    }
    const m = p.message;
    if (m.kind !== 'reply') {
      this.stats.refused['wrong-kind']++;
      return;
    }
    const t0 = this.outstanding.get(m.seq);
    if (t0 === undefined || t0 !== m.t0) {
      // not an answer to a request in flight: late, duplicated, or not from our sender
      this.stats.refused.unexpected++;
      return;
    }
    this.outstanding.delete(m.seq);
    this.stats.replies++;
    this.estimator.add(t0, m.t1, m.t2, t3);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    return new Promise((r) => this.sock.close(() => r()));
  }
}
