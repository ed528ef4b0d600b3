import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parse as parseSdpRaw } from 'sdp-transform';
import { ExitCode, RtpcastError, usageError } from '../errors';
import type { PlayerStats } from '../player/player';
import { parseSdpStream, SdpError } from '../sdp/parse';
import { isMulticast } from '../transport/destination';
import type { AudioSink } from '../audio/sinks/sink';
import { masterKeyFrom, SRTP_SUITE } from '../rtp/srtp';
import { srtpKeyOfSdp } from '../sdp/crypto';
import { SrtpReceiveFilter } from '../transport/srtp';
import { RtpReceiver, type ReceiverCounters, type SenderLock } from './receiver';
import type { Clock } from '../rtp/clock';
import type { SyncStatus } from '../sync/sync-play';
import type { Player } from '../player/player';

export { MAX_TRACKED, plainAddress, RtpReceiver } from './receiver';

/** What to receive: everything a receiver needs, from an SDP or from flags. */
export interface ReceiveSpec {
  codec: 'l16' | 'opus';
  payloadType: number;
  clockRate: number;
  channels: number;
  port: number;
  /** address to bind / group to join */
  address?: string;
  family: 4 | 6;
  multicast: boolean;
  /** source-specific multicast / accepted sender (a=source-filter or --source) */
  sourceFilter?: string;
  /** where it came from, for messages */
  from: string;
  /** 'SRTP AES_CM_128_HMAC_SHA1_80' when the SDP carries a key (the key itself stays out of the spec) */
  security?: string;
}

export interface PlayRequest {
  /** SDP text (already read from a file or stdin) and its name */
  sdp?: { text: string; name: string };
  port?: number;
  codec?: string;
  rate?: number;
  channels?: number;
  pt?: number;
  bind?: string;
  source?: string;
  latencyMs?: number;
  durationSec?: number;
  untilBye?: boolean;
  /** the play clock (default: the monotonic clock); play --clock-offset-ms/--clock-drift-ppm skew it for measurements */
  clock?: Clock;
  /** an extension that sees the stream and takes over the output's reads (play --sync) */
  tap?: PlayTap;
}

/**
 * What an extension of play (play --sync: src/sync/sync-play.ts) is told, and how it can take
 * over the output: `read` replaces player.read, knowing when the block's first frame leaves.
 */
export interface PlayTap {
  /** a player was made for the stream */
  onPlayer?(p: Player, spec: ReceiveSpec): void;
  /** the sender being played: the first one, and every change */
  onSender?(address: string, ssrc: number): void;
  /** an RTCP packet on the RTCP port (decrypted) */
  onRtcp?(msg: Buffer, nowNs: bigint): void;
  /** replaces player.read: `frames` for the output, the block's first frame leaving at `leaveNs` (play clock) */
  read?(p: Player, frames: number, nowNs: bigint, leaveNs: bigint): Float32Array;
  /** merged into the status */
  status?(): { sync?: SyncStatus };
  close?(): Promise<void>;
}

const STATIC: Record<number, { codec: 'l16'; clockRate: number; channels: number }> = {
  10: { codec: 'l16', clockRate: 44100, channels: 2 },
  11: { codec: 'l16', clockRate: 44100, channels: 1 },
};

/** The stream to receive, from the SDP or the flags (pure). `pt` may be unknown with only --port. */
export function receiveSpec(r: PlayRequest): ReceiveSpec | { port: number; pending: true } {
  if (r.sdp) {
    let s;
    try {
      s = parseSdpStream(r.sdp.text);
    } catch (e) {
      if (e instanceof SdpError) throw new RtpcastError(`${r.sdp.name}: ${e.message}${e.rule ? ` (${e.rule})` : ''}`, ExitCode.usage, 'check the SDP: rtpcast diag sdp ' + r.sdp.name);
      throw e;
    }
    const enc = s.encoding.toLowerCase();
    if (enc !== 'l16' && enc !== 'opus') throw new RtpcastError(`${r.sdp.name}: encoding ${s.encoding} is not supported (rtpcast plays L16 and Opus)`, ExitCode.usage);
    const raw = parseSdpRaw(r.sdp.text);
    const sf = (raw.media[0]?.sourceFilter ?? raw.sourceFilter) as { filterMode?: string; srcList?: string } | undefined;
    // String(): sdp-transform makes an all-digit field a number (found by fuzzing)
    const ssm = sf && sf.filterMode === 'incl' && sf.srcList !== undefined ? String(sf.srcList).split(' ')[0] : undefined;
    const srtp = srtpKeyOfSdp(s, r.sdp.name) !== undefined;
    return {
      ...(srtp ? { security: `SRTP ${SRTP_SUITE}` } : {}),
      codec: enc, payloadType: s.payloadType, clockRate: enc === 'opus' ? 48000 : s.clockRate, channels: s.channels, port: r.port ?? s.port,
      address: s.address, family: s.family, multicast: s.multicast, sourceFilter: r.source ?? ssm, from: r.sdp.name,
    };
  }
  if (r.port === undefined) throw usageError('nothing to play: give an SDP file (rtpcast play stream.sdp), or --port', 'the sender prints the SDP path; with L16 44.1 kHz (payload type 10/11) --port 5004 alone is enough');
  if (r.codec === undefined) return { port: r.port, pending: true };
  const codec = r.codec.toLowerCase();
  if (codec !== 'l16' && codec !== 'opus') throw usageError(`unknown codec "${r.codec}"`, 'use --codec l16 or --codec opus');
  const clockRate = codec === 'opus' ? 48000 : r.rate ?? 48000;
  const channels = r.channels ?? 2;
  const pt = r.pt ?? (codec === 'l16' && clockRate === 44100 && channels <= 2 ? (channels === 2 ? 10 : 11) : 96);
  const fam = r.bind && isIP(r.bind) === 6 ? 6 : 4;
  return { codec, payloadType: pt, clockRate, channels, port: r.port, address: r.bind, family: fam, multicast: !!r.bind && isMulticast(r.bind), sourceFilter: r.source, from: 'flags' };
}

/** For --port alone: the format of a static payload type, or the explanation of what is missing. */
export function specFromFirstPacket(port: number, pt: number, r: PlayRequest): ReceiveSpec {
  const st = STATIC[pt];
  if (!st) {
    throw new RtpcastError(
      `the stream on port ${port} has payload type ${pt}, a dynamic type: its codec, rate and channels are only in the sender's SDP`,
      ExitCode.usage,
      `play the SDP (rtpcast play stream.sdp), or say it: --codec opus, or --codec l16 --rate 48000 --channels 2 (rtpcast diag format --port ${port} can guess)`,
    );
  }
  return { ...st, payloadType: pt, port, family: 4, multicast: false, address: r.bind, sourceFilter: r.source, from: `payload type ${pt}` };
}

function localAddresses(): Set<string> {
  const s = new Set<string>(['0.0.0.0', '::']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) s.add(a.address);
  return s;
}

export interface PlayStatus extends ReceiverCounters {
  elapsedSec: number;
  player: PlayerStats;
  /**
   * flood protection: while other senders send more than FLOOD_PER_SEC datagrams a second the
   * socket is connected to the sender being played, so the kernel refuses everything else
   * (it never reaches rtpcast, so it cannot be counted one by one). `active`: now; `episodes`:
   * how often it engaged; `seconds`: how long in all; `peakPerSec`: the highest rate of unwanted
   * datagrams measured (when it engaged); `refusedEstimate`: the rate measured at each
   * engagement times how long it lasted (an estimate of what the kernel refused). `drained`:
   * datagrams of other senders that were already queued at the socket when it engaged, dropped
   * unparsed (counted here, not in `dropped`).
   */
  flood: { active: boolean; episodes: number; seconds: number; peakPerSec: number; refusedEstimate: number; drained: number };
  /** play --sync: the sender's clock as estimated, and how far playout is from where it should be */
  sync?: SyncStatus;
}

/** unwanted datagrams a second (other senders, filtered, malformed, wrong payload type) that engage the flood protection */
export const FLOOD_PER_SEC = 5000;
/** while protected, the socket is opened to everyone again this often, to see whether the flood is over */
const FLOOD_RECHECK_MS = 10_000;

export interface PlayHooks {
  onStart?(info: { spec: ReceiveSpec; bound: string; sink: string }): void;
  onStatus?(s: PlayStatus): void;
  onWarning?(m: string): void;
}

/**
 * Receives RTP on a UDP port and plays it: one sender at a time (the first one, or the one
 * `--source` names), restarts followed, everything else counted and reported.
 *
 * - Packets are taken from the moment the socket is bound, also while the output is still
 *   opening (that can take a second): they are counted (`beforeOutput`) and playout starts on
 *   the newest of them, at the latency target (the player skips and counts the rest).
 * - Other senders never reach the player: each is reported once (a warning naming its address
 *   and SSRC) and counted; at most MAX_TRACKED are tracked one by one.
 * - A flood (more than FLOOD_PER_SEC unwanted datagrams a second) would fill the socket's
 *   receive buffer so that the kernel drops the sender's packets along with the rest: while it
 *   lasts the socket is connected to the sender, and the kernel refuses everything else.
 */
export async function runPlay(r: PlayRequest, makeSink: (format: { rate: number; channels: number }) => Promise<AudioSink>, hooks: PlayHooks = {}, signal?: AbortSignal): Promise<PlayStatus> {
  const spec0 = receiveSpec(r);
  const srtpKey = r.sdp && !('pending' in spec0) && spec0.security ? srtpKeyOfSdp(parseSdpStream(r.sdp.text), r.sdp.name) : undefined;
  const srtp = srtpKey ? new SrtpReceiveFilter(masterKeyFrom(srtpKey), r.sdp!.name, (m) => hooks.onWarning?.(m)) : undefined;
  const port = spec0.port;
  const bindSpec = 'pending' in spec0 ? { family: 4 as const, multicast: false, address: r.bind, sourceFilter: r.source } : spec0;
  const { sock, bound } = await bindRtp(port, bindSpec, hooks);
  const rtcpSock = await bindRtcp(port + 1, bindSpec, bound).catch(() => undefined);
  const clock = r.clock ? () => r.clock!.nowNs() : () => process.hrtime.bigint();
  const tap = r.tap;
  const t0 = clock();
  let sink: AudioSink | undefined;
  let frozen = false;
  let timer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  const flood = { active: false, episodes: 0, seconds: 0, peakPerSec: 0, refusedEstimate: 0, drained: 0 };
  let floodSince = 0n;
  let floodRate = 0;
  let stopping = false;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    resolveDone();
  };

  // --- flood protection -------------------------------------------------------------------------
  let unwanted = 0;
  let windowStart = clock();
  let recheck: NodeJS.Timeout | undefined;
  const connectTo = (l: SenderLock) => {
    try {
      sock.connect(l.port, l.raw, (err?: Error) => {
        if (err) hooks.onWarning?.(`flood protection failed (${err.message}): still listening to everyone`);
      });
    } catch (e) {
      hooks.onWarning?.(`flood protection failed (${(e as Error).message}): still listening to everyone`);
      return false;
    }
    return true;
  };
  const disconnect = () => {
    try {
      sock.disconnect();
    } catch {
      /* not connected */
    }
  };
  const endFlood = () => {
    if (!flood.active) return;
    flood.active = false;
    const sec = Number(clock() - floodSince) / 1e9;
    flood.seconds += sec;
    flood.refusedEstimate += Math.round(floodRate * sec);
    if (recheck) clearTimeout(recheck);
    recheck = undefined;
    disconnect();
  };
  /** counts an unwanted datagram; engages the protection when there are too many */
  const unwantedOne = (now: bigint) => {
    // windows of 100 ms, each starting at its first unwanted datagram
    const el = now - windowStart;
    if (unwanted === 0 || el >= 100_000_000n) {
      if (unwanted > 1 && el > 0n) flood.peakPerSec = Math.max(flood.peakPerSec, Math.round((unwanted * 1e9) / Number(el)));
      unwanted = 1;
      windowStart = now;
      return;
    }
    unwanted++;
    if (unwanted * 10 > FLOOD_PER_SEC && rx.lock && !flood.active) engage(now, Math.round((unwanted * 1e9) / Math.max(1e6, Number(el))));
  };
  const engage = (now: bigint, rate: number) => {
    const lock = rx.lock;
    if (!lock || !connectTo(lock)) return;
    if (rate > flood.peakPerSec) flood.peakPerSec = rate;
    flood.active = true;
    flood.episodes++;
    floodSince = now;
    floodRate = rate;
    if (flood.episodes === 1) hooks.onWarning?.(`a flood of about ${rate} datagrams/s from other senders: listening to ${lock.address}:${lock.port} only while it lasts (the rest is refused by the system, uncounted; checked again every ${FLOOD_RECHECK_MS / 1000} s)`);
    recheck = setTimeout(() => {
      // open up again: if the flood goes on, the next 100 ms engage the protection again
      endFlood();
      unwanted = 0;
      windowStart = clock();
    }, FLOOD_RECHECK_MS);
  };

  // --- packets: src/session/receiver.ts -------------------------------------------------------
  const rx = new RtpReceiver(
    { spec: 'pending' in spec0 ? undefined : spec0, formatOf: (pt) => specFromFirstPacket(port, pt, r), source: r.source, srtp, latencyMs: r.latencyMs },
    {
      warning: (m) => hooks.onWarning?.(m),
      unwanted: unwantedOne,
      senderChanged: () => endFlood(),
      // --port alone: the first packet told the format; that packet plays too
      format: (s) => void start(s).catch(rejectDone),
      fatal: (e) => rejectDone(e),
      player: (p, s) => tap?.onPlayer?.(p, s),
      sender: (a, ssrc) => tap?.onSender?.(a, ssrc),
      rtcpPacket: (m) => tap?.onRtcp?.(Buffer.from(m.buffer, m.byteOffset, m.byteLength), clock()),
    },
  );

  const status = (): PlayStatus => ({
    elapsedSec: Number(clock() - t0) / 1e9,
    player: rx.player?.stats() ?? emptyPlayerStats(),
    ...rx.counters(),
    flood: {
      ...flood,
      seconds: flood.seconds + (flood.active ? Number(clock() - floodSince) / 1e9 : 0),
      refusedEstimate: Math.round(flood.refusedEstimate + (flood.active ? (floodRate * Number(clock() - floodSince)) / 1e9 : 0)),
    },
    ...tap?.status?.(),
  });

  const start = async (s: ReceiveSpec) => {
    sink = await makeSink({ rate: s.clockRate, channels: s.channels });
    sink.onError((e) => rejectDone(e));
    const p = rx.player!;
    /** a block for the output; its first frame leaves at `leaveNs` */
    const read = (frames: number, now: bigint, leaveNs: bigint) => (tap?.read ? tap.read(p, frames, now, leaveNs) : p.read(frames, now));
    const silence = (frames: number) => new Float32Array(frames * s.channels);
    if (sink.clock === 'device' && sink.onPull) {
      // after stop, the device may still pull while it closes: silence, the player stays as it was
      // (a pulled block leaves after what the device holds, when the sink knows it)
      sink.onPull((frames) => {
        if (frozen) return silence(frames);
        const now = clock();
        return read(frames, now, now + BigInt(Math.round((sink!.latencyMs?.() ?? 0) * 1e6)));
      });
    }
    await sink.open({ rate: s.clockRate, channels: s.channels });
    if (stopping) return;
    rx.outputOpen = true;
    if (!(sink.clock === 'device' && sink.onPull)) {
      // nothing pulls: write 10 ms blocks at real-time pace by the monotonic clock (5 ms blocks
      // were tried: more CPU, and no lower latency, the margin for a sender's hiccups shrank with
      // the block and underruns grew it back). Each block is
      // written when its time has come (a timer set for exactly then, 1 ms granularity), from
      // setImmediate: after the event loop has taken in the packets that arrived meanwhile (a
      // late timer runs before them, and would find the buffer short of what had arrived)
      // nothing pulls, so the blocks' phase is ours: the player measures where the reads fall
      // against the packets' arrivals and aims its latency for that phase (not the worst one),
      // and asks for the reads to come just after each packet can be counted on (readAlignNs: the
      // clock moves later by under a block: while buffering, and while playing at most every 20 s).
      // Not with play --sync: there the sender's clock decides when each sample leaves.
      const align = !tap?.read;
      if (align) p.setPhaseAware(true);
      let st = clock();
      let written = 0;
      const block = Math.round(s.clockRate / 100);
      const rateNs = 1e9 / s.clockRate;
      const writeDue = () => {
        if (frozen) return;
        if (align) {
          // measured at the time the next block is due, not now: a late timer must not look like
          // a phase to correct (the clock would move by a block at every late wake-up)
          const shift = p.readAlignNs(st + BigInt(Math.round((written + block) * rateNs)), block);
          if (shift) st += shift;
        }
        const now = clock();
        const due = Math.floor((Number(now - st) / 1e9) * s.clockRate);
        while (written + block <= due) {
          // the block is handed to the output when its end is due
          sink!.write!(read(block, now, st + BigInt(Math.round((written + block) * rateNs))));
          written += block;
        }
        const nextNs = st + BigInt(Math.round((written + block) * rateNs));
        timer = setTimeout(() => setImmediate(writeDue), Math.max(0, Math.ceil(Number(nextNs - clock()) / 1e6)));
      };
      writeDue();
    }
    hooks.onStart?.({ spec: s, bound, sink: sink.label });
    statusTimer = setInterval(() => hooks.onStatus?.(status()), 1000);
  };

  // listening from the moment the socket is bound: nothing that arrives while the output opens is lost
  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    // protected: what is still queued from before the socket was connected (up to the whole
    // receive buffer, thousands of datagrams) is dropped at the cost of two comparisons, so that
    // the sender's packets queued behind it reach the player in time
    if (flood.active && (rinfo.port !== rx.lock!.port || rinfo.address !== rx.lock!.raw)) {
      flood.drained++;
      return;
    }
    rx.datagram(msg, rinfo, clock());
  });
  // the sender being played went quiet while the socket is connected to it: open up (it may
  // have restarted on another port, which the connected socket would never see)
  const quietCheck = setInterval(() => {
    if (flood.active && rx.lock && clock() - rx.lock.lastNs > 250_000_000n) endFlood();
  }, 100);

  if (!('pending' in spec0)) {
    await start(spec0).catch((e) => {
      clearInterval(quietCheck);
      sock.close();
      rtcpSock?.close();
      rx.close();
      void tap?.close?.();
      throw e;
    });
  }

  rtcpSock?.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    if (rx.rtcp(msg, rinfo) && r.untilBye) setTimeout(stop, Math.min(2000, (rx.player?.stats().bufferedMs ?? 0) + 100));
  });

  const onAbort = () => stop();
  signal?.addEventListener('abort', onAbort);
  const durationTimer = r.durationSec !== undefined ? setTimeout(stop, r.durationSec * 1000) : undefined;
  let final: PlayStatus | undefined;
  try {
    await done;
  } finally {
    // the figures as they were when playback stopped: the device may go on pulling while it
    // closes, and that would drain the buffer the stop line reports
    final = status();
    frozen = true;
    signal?.removeEventListener('abort', onAbort);
    if (durationTimer) clearTimeout(durationTimer);
    if (timer) clearTimeout(timer);
    if (statusTimer) clearInterval(statusTimer);
    if (recheck) clearTimeout(recheck);
    clearInterval(quietCheck);
    sock.close();
    rtcpSock?.close();
    await sink?.close();
    rx.close();
    await tap?.close?.();
  }
  return final;
}

function emptyPlayerStats(): PlayerStats {
  return { state: 'buffering', targetMs: 0, bufferedMs: 0, queued: 0, duplicates: 0, late: 0, overflow: 0, concealedMs: { fec: 0, plc: 0, fade: 0 }, underruns: 0, stalls: 0, playedMs: 0, driftPpm: 0, correctionPpm: 0, skippedMs: 0, catchUps: 0, headroomMs: 0, resyncs: 0, undecodable: 0 };
}

async function bindRtp(port: number, s: { family: 4 | 6; multicast: boolean; address?: string; sourceFilter?: string }, hooks: PlayHooks): Promise<{ sock: Socket; bound: string }> {
  const sock = createSocket({ type: s.family === 6 ? 'udp6' : 'udp4', reuseAddr: s.multicast });
  // unicast: the SDP's address if it is this machine's, else every interface
  let addr = s.family === 6 ? '::' : '0.0.0.0';
  if (s.address && !s.multicast) {
    if (localAddresses().has(s.address)) addr = s.address;
    else hooks.onWarning?.(`the SDP names ${s.address}, which is not an address of this machine: listening on all interfaces`);
  }
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, addr, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    sock.close();
    throw new RtpcastError(
      `cannot listen on UDP port ${port}: ${e.code === 'EADDRINUSE' ? 'another program is using it' : e.code === 'EACCES' ? 'permission denied' : e.message}`,
      ExitCode.network,
      e.code === 'EADDRINUSE' ? `find it: rtpcast diag ports ${port} (or ss -uapn 'sport = :${port}'); or play on another port` : undefined,
    );
  });
  if (s.multicast && s.address) {
    try {
      if (s.sourceFilter) sock.addSourceSpecificMembership(s.sourceFilter, s.address);
      else sock.addMembership(s.address);
    } catch (e) {
      sock.close();
      throw new RtpcastError(`cannot join multicast group ${s.address}: ${(e as Error).message}`, ExitCode.network, 'check that this machine has a route for multicast (ip route show 224.0.0.0/4)');
    }
  }
  // room for the sender's packets while a flood is being detected: the protection engages after
  // 500 unwanted datagrams have been handled, which on a busy machine can take 100 ms, and a
  // 200,000/s flood fills 2 MB in ~13 ms. Measured under a load average of 7 (one run each):
  // 2 MB in effect: 2,032 datagrams dropped at the socket, 135 ms concealed; 4 MB: 17,006 dropped,
  // 0.8 % of the sender's packets lost, a 90 ms gap; 8 MB: none dropped, no gap (the backlog of
  // ~6,400 datagrams queued when the protection engaged is drained unparsed, see runPlay).
  // 4 MB asked: the kernel caps it at net.core.rmem_max (often 208 KB: raise it with sysctl on a
  // machine that must ride out floods) and doubles it for its bookkeeping.
  // The engagement threshold was not lowered instead: a second sender's packets, queued during
  // a stall of the event loop, would look like a flood.
  try {
    sock.setRecvBufferSize(4 << 20);
  } catch {
    /* the system's limit stays */
  }
  return { sock, bound: `${addr}:${port}${s.multicast ? ` (group ${s.address}${s.sourceFilter ? ` from ${s.sourceFilter}` : ''})` : ''}` };
}

async function bindRtcp(port: number, s: { family: 4 | 6; multicast: boolean; address?: string; sourceFilter?: string }, _bound: string): Promise<Socket> {
  const sock = createSocket({ type: s.family === 6 ? 'udp6' : 'udp4', reuseAddr: s.multicast });
  const addr = s.family === 6 ? '::' : '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, s.multicast ? addr : s.address && localAddresses().has(s.address) ? s.address : addr, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((e) => {
    sock.close();
    throw e;
  });
  if (s.multicast && s.address) {
    try {
      if (s.sourceFilter) sock.addSourceSpecificMembership(s.sourceFilter, s.address);
      else sock.addMembership(s.address);
    } catch {
      /* RTCP is optional */
    }
  }
  return sock;
}

/** Reads an SDP argument: a file path, or - for stdin. */
export function readSdpArg(arg: string): { text: string; name: string } {
  try {
    return { text: readFileSync(arg === '-' ? 0 : arg, 'utf8'), name: arg === '-' ? 'stdin' : arg };
  } catch (e) {
    throw new RtpcastError(`cannot read the SDP ${arg}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, ExitCode.input, 'the sender writes it with: rtpcast send --sdp stream.sdp');
  }
}
