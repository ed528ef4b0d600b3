import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parse as parseSdpRaw } from 'sdp-transform';
import { L16Decoder, OpusDecoder, type AudioDecoder } from '../codec/decoder';
import { ExitCode, RtpcastError, usageError } from '../errors';
import { Player, type PlayerStats } from '../player/player';
import { parseRtp, rtcpSummary } from '../rtp/parse';
import { RtpStreamStats, type StreamStats } from '../rtp/stats';
import { parseSdpStream, SdpError } from '../sdp/parse';
import { isMulticast } from '../transport/destination';
import type { AudioSink } from '../audio/sinks/sink';

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
    const ssm = sf && sf.filterMode === 'incl' ? sf.srcList?.split(' ')[0] : undefined;
    return {
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

export interface PlayStatus {
  elapsedSec: number;
  player: PlayerStats;
  stream?: StreamStats;
  sender?: string;
  /** other senders seen on the port (not played) */
  others: { sender: string; ssrc: number; packets: number }[];
  /** packets dropped before the player: not RTP, wrong payload type, filtered source */
  dropped: { malformed: number; wrongPt: number; filtered: number; rtcp: number };
}

export interface PlayHooks {
  onStart?(info: { spec: ReceiveSpec; bound: string; sink: string }): void;
  onStatus?(s: PlayStatus): void;
  onWarning?(m: string): void;
}

interface Lock {
  address: string;
  port: number;
  ssrc: number;
  lastNs: bigint;
  bye: boolean;
}

/**
 * Receives RTP on a UDP port and plays it: one sender at a time (the first one, or the one
 * `--source` names), restarts followed, everything else counted and reported.
 */
export async function runPlay(r: PlayRequest, makeSink: (format: { rate: number; channels: number }) => Promise<AudioSink>, hooks: PlayHooks = {}, signal?: AbortSignal): Promise<PlayStatus> {
  let spec = receiveSpec(r);
  const port = spec.port;
  const bindSpec = 'pending' in spec ? { family: 4 as const, multicast: false, address: r.bind, sourceFilter: r.source } : spec;
  const { sock, bound } = await bindRtp(port, bindSpec, hooks);
  const rtcpSock = await bindRtcp(port + 1, bindSpec, bound).catch(() => undefined);
  const clock = () => process.hrtime.bigint();
  const t0 = clock();
  let player: Player | undefined;
  let decoder: AudioDecoder | undefined;
  let sink: AudioSink | undefined;
  let timer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let stats: RtpStreamStats | undefined;
  let lock: Lock | undefined;
  const others = new Map<string, { sender: string; ssrc: number; packets: number; warned: boolean }>();
  const dropped = { malformed: 0, wrongPt: 0, filtered: 0, rtcp: 0 };
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

  const status = (): PlayStatus => ({
    elapsedSec: Number(clock() - t0) / 1e9,
    player: player?.stats() ?? emptyPlayerStats(),
    stream: stats?.snapshot(),
    sender: lock ? `${lock.address}:${lock.port}` : undefined,
    others: [...others.values()].map(({ sender, ssrc, packets }) => ({ sender, ssrc, packets })),
    dropped: { ...dropped },
  });

  const start = async (s: ReceiveSpec) => {
    spec = s;
    if (!player) {
      decoder = s.codec === 'opus' ? new OpusDecoder(s.channels) : new L16Decoder(s.channels, s.clockRate);
      player = new Player(decoder, { clockRate: s.clockRate, channels: s.channels, latencyMs: r.latencyMs });
      stats = new RtpStreamStats(s.clockRate, { codec: s.codec });
    }
    sink = await makeSink({ rate: s.clockRate, channels: s.channels });
    sink.onError((e) => rejectDone(e));
    await sink.open({ rate: s.clockRate, channels: s.channels });
    const p = player;
    if (sink.clock === 'device' && sink.onPull) {
      sink.onPull((frames) => p.read(frames));
    } else {
      // nothing pulls: write 10 ms blocks at real-time pace by the monotonic clock
      const st = clock();
      let written = 0;
      const block = Math.round(s.clockRate / 100);
      timer = setInterval(() => {
        const due = Math.floor((Number(clock() - st) / 1e9) * s.clockRate);
        while (written + block <= due) {
          sink!.write!(p.read(block));
          written += block;
        }
      }, 5);
    }
    hooks.onStart?.({ spec: s, bound, sink: sink.label });
    statusTimer = setInterval(() => hooks.onStatus?.(status()), 1000);
  };

  if (!('pending' in spec)) await start(spec);

  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const now = clock();
    if (spec && 'pending' in spec === false && (spec as ReceiveSpec).sourceFilter && rinfo.address !== (spec as ReceiveSpec).sourceFilter) {
      dropped.filtered++;
      return;
    }
    if (r.source && rinfo.address !== r.source) {
      dropped.filtered++;
      return;
    }
    const parsed = parseRtp(msg);
    if (!parsed.ok) {
      if (parsed.error === 'rtcp') dropped.rtcp++;
      else dropped.malformed++;
      return;
    }
    const pkt = parsed.packet;
    if ('pending' in spec) {
      // --port alone: the first packet tells the format; the player starts and that packet plays too
      let s: ReceiveSpec;
      try {
        s = specFromFirstPacket(port, pkt.payloadType, r);
      } catch (e) {
        rejectDone(e as Error);
        return;
      }
      spec = s;
      decoder = s.codec === 'opus' ? new OpusDecoder(s.channels) : new L16Decoder(s.channels, s.clockRate);
      player = new Player(decoder, { clockRate: s.clockRate, channels: s.channels, latencyMs: r.latencyMs });
      stats = new RtpStreamStats(s.clockRate, { codec: s.codec });
      void start(s).catch(rejectDone);
    }
    if (!player || !stats) return;
    if (pkt.payloadType !== spec.payloadType) {
      dropped.wrongPt++;
      if (dropped.wrongPt === 1) hooks.onWarning?.(`packets with payload type ${pkt.payloadType} from ${rinfo.address}:${rinfo.port}; the stream is payload type ${spec.payloadType}: ignored (is the SDP the sender's?)`);
      return;
    }
    const key = `${rinfo.address}:${rinfo.port}/${pkt.ssrc}`;
    if (!lock) lock = { address: rinfo.address, port: rinfo.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
    if (pkt.ssrc !== lock.ssrc || rinfo.address !== lock.address) {
      // the sender restarted (same address, new SSRC, the old one silent or said BYE), or another sender
      const quiet = now - lock.lastNs > 250_000_000n || lock.bye;
      if (quiet && (rinfo.address === lock.address || lock.bye || !r.source)) {
        hooks.onWarning?.(`the sender changed (SSRC ${hex(lock.ssrc)} -> ${hex(pkt.ssrc)}${rinfo.address !== lock.address ? ` from ${rinfo.address}` : ''}): following it`);
        lock = { address: rinfo.address, port: rinfo.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
        player.resync();
        stats = new RtpStreamStats(spec.clockRate, { codec: spec.codec });
      } else {
        const o = others.get(key) ?? { sender: `${rinfo.address}:${rinfo.port}`, ssrc: pkt.ssrc, packets: 0, warned: false };
        o.packets++;
        if (!o.warned) {
          o.warned = true;
          hooks.onWarning?.(`another sender, ${o.sender} (SSRC ${hex(pkt.ssrc)}), is sending to this port: not played (playing ${lock.address}:${lock.port}); choose one with --source ADDRESS`);
        }
        others.set(key, o);
        return;
      }
    }
    lock.lastNs = now;
    stats.update({ arrivalNs: now, sequence: pkt.sequence, timestamp: pkt.timestamp, ssrc: pkt.ssrc, payloadType: pkt.payloadType, marker: pkt.marker, payloadBytes: pkt.payload.length });
    if (player.push(pkt.timestamp, pkt.payload, now) === 'malformed') dropped.malformed++;
  });

  rtcpSock?.on('message', (msg: Buffer) => {
    const s = rtcpSummary(msg);
    if (lock && s.byeSsrcs.includes(lock.ssrc)) {
      lock.bye = true;
      player?.senderEnded();
      hooks.onWarning?.(`the sender said goodbye (RTCP BYE from SSRC ${hex(lock.ssrc)})`);
      if (r.untilBye) setTimeout(stop, Math.min(2000, (player?.stats().bufferedMs ?? 0) + 100));
    }
  });

  const onAbort = () => stop();
  signal?.addEventListener('abort', onAbort);
  const durationTimer = r.durationSec !== undefined ? setTimeout(stop, r.durationSec * 1000) : undefined;
  try {
    await done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (durationTimer) clearTimeout(durationTimer);
    if (timer) clearInterval(timer);
    if (statusTimer) clearInterval(statusTimer);
    sock.close();
    rtcpSock?.close();
    await sink?.close();
    decoder?.close();
  }
  return status();
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

function emptyPlayerStats(): PlayerStats {
  return { state: 'buffering', targetMs: 0, bufferedMs: 0, queued: 0, duplicates: 0, late: 0, overflow: 0, concealedMs: { fec: 0, plc: 0, fade: 0 }, underruns: 0, stalls: 0, playedMs: 0, driftPpm: 0, correctionPpm: 0, skippedMs: 0, resyncs: 0, undecodable: 0 };
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
  sock.setRecvBufferSize?.(1 << 20);
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
