import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { encodeSync, emptyRefusals, parseSync, type SyncRefusals } from './protocol';
import type { SenderClock } from './sender-clock';

export interface SyncServerStats {
  answered: number;
  /** datagrams that were not a valid request, by reason: skipped, never answered */
  refused: SyncRefusals;
  /** requests beyond the rate limit: not answered */
  limited: number;
}

/** replies a second at most (a receiver asks a few times a second; this bounds what a flood costs) */
export const SYNC_MAX_REPLIES_PER_SEC = 2000;

/**
 * Answers time-sync requests (protocol.ts) with the sender clock: the reception time is taken
 * as the datagram is handed to us, the sending time just before the reply leaves. Replies are
 * as long as requests and rate-limited.
 */
export class SyncServer {
  readonly stats: SyncServerStats = { answered: 0, refused: emptyRefusals(), limited: 0 };
  private windowStart = 0n;
  private inWindow = 0;
  private constructor(
    private readonly sock: Socket,
    private readonly clock: SenderClock,
    readonly address: string,
    readonly port: number,
  ) {
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
  }

  /** Binds host:port (host default all IPv4 interfaces). Rejects with the system's error (EADDRINUSE...). */
  static async open(clock: SenderClock, port: number, host = '0.0.0.0'): Promise<SyncServer> {
    const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((e) => {
      sock.close();
      throw e;
    });
    sock.on('error', () => {
      /* a send failure to one client must not end the sender */
    });
    return new SyncServer(sock, clock, host, sock.address().port);
  }

  private onMessage(msg: Buffer, address: string, port: number): void {
    const t1 = this.clock.unixNs();
    const p = parseSync(msg);
    if (!p.ok) {
      this.stats.refused[p.error]++;
      return;
    }
    if (p.message.kind !== 'request') {
      this.stats.refused['wrong-kind']++;
      return;
    }
    const now = process.hrtime.bigint();
    if (now - this.windowStart > 1_000_000_000n) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow > SYNC_MAX_REPLIES_PER_SEC) {
      this.stats.limited++;
      return;
    }
    const reply = encodeSync({ kind: 'reply', seq: p.message.seq, t0: p.message.t0, t1, t2: 0n });
    // t2 written last, as late as possible
    reply.writeBigUInt64BE(this.clock.unixNs(), 28);
    this.sock.send(reply, port, address);
    this.stats.answered++;
  }

  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }
}
