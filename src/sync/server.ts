import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { encodeSync, emptyRefusals, parseSync, type SyncRefusals } from './protocol';
import { SenderClock } from './sender-clock';

export interface SyncServerStats {
  answered: number;
  /** datagrams that were not a valid request, by reason: skipped, never answered */
  refused: SyncRefusals;
  /** requests beyond the rate limit: not answered */
  limited: number;
}

/** replies a second at most (a receiver asks ten times a second; this bounds what a flood costs) */
export const SYNC_MAX_REPLIES_PER_SEC = 2000;

/**
 * Answers time-sync requests (protocol.ts) on a UDP socket with the sender clock: the reception
 * time is taken as the datagram is handed over, the sending time just before the reply leaves.
 * Replies are as long as requests and rate-limited.
 */
export class SyncResponder {
  readonly stats: SyncServerStats = { answered: 0, refused: emptyRefusals(), limited: 0 };
  private windowStart = 0n;
  private inWindow = 0;
  constructor(
    private readonly sock: Socket,
    private readonly clock: { unixNs(): bigint },
  ) {
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    sock.on('error', () => {
      /* a send failure to one client must not end the service */
    });
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
    const reply = encodeSync({ kind: 'reply', seq: p.message.seq, t0: p.message.t0, t1, t2: t1 });
    // t2 written last, as late as possible
    reply.writeBigUInt64BE(this.clock.unixNs(), 28);
    this.sock.send(reply, port, address);
    this.stats.answered++;
  }
}

async function bindUdp(port: number, host: string): Promise<Socket> {
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
  return sock;
}

interface WorkerInit {
  port: number;
  host: string;
  monoAnchor: bigint;
  unixAnchorNs: bigint;
}

/**
 * The time-sync service of `rtpcast send`, in a worker thread: the send loop sleeps in
 * Atomics.wait until each packet is due and gives the event loop one turn per packet (per 20 ms
 * for files and tones), so a request handled there would be stamped up to 20 ms after it
 * arrived, and that wait, on one leg of the exchange only, is an error of half as much. The
 * worker has its own event loop that does nothing else; it reads the same monotonic clock from
 * the same anchor as the sender's reports (SenderClock).
 */
export class SyncServer {
  private constructor(
    private readonly worker: Worker,
    readonly address: string,
    readonly port: number,
  ) {}

  /** Binds host:port (host default all IPv4 interfaces). Rejects with the system's error (EADDRINUSE...). */
  static async open(clock: SenderClock, port: number, host = '0.0.0.0'): Promise<SyncServer> {
    const init: WorkerInit = { port, host, ...clock.anchors() };
    const worker = new Worker(join(__dirname, 'server.js'), { workerData: init });
    worker.unref();
    const bound = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: { ok: true; port: number } | { ok: false; code?: string; message: string }) => {
        worker.off('error', reject);
        if (m.ok) resolve(m.port);
        else reject(Object.assign(new Error(m.message), { code: m.code }));
      });
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    return new SyncServer(worker, host, bound);
  }

  /** what the service did, then stops it */
  async close(): Promise<SyncServerStats | undefined> {
    const stats = await new Promise<SyncServerStats | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), 500);
      this.worker.once('message', (m: { stats: SyncServerStats }) => {
        clearTimeout(t);
        resolve(m.stats);
      });
      this.worker.postMessage('stop');
    });
    await this.worker.terminate();
    return stats;
  }
}

if (!isMainThread && parentPort && (workerData as WorkerInit | undefined)?.unixAnchorNs !== undefined) {
  const init = workerData as WorkerInit;
  const port = parentPort;
  const clock = { unixNs: () => init.unixAnchorNs + (process.hrtime.bigint() - init.monoAnchor) };
  bindUdp(init.port, init.host).then(
    (sock) => {
      const r = new SyncResponder(sock, clock);
      port.postMessage({ ok: true, port: sock.address().port });
      port.on('message', () => {
        port.postMessage({ stats: r.stats });
        sock.close();
        port.close();
      });
    },
    (e: NodeJS.ErrnoException) => port.postMessage({ ok: false, code: e.code, message: e.message }),
  );
}
