import { extname } from 'node:path';
import type { AudioSource } from '../audio/source';
import type { PcmFormat, SampleFormat } from '../audio/pcm';
import { ToneSource } from '../audio/sources/tone';
import { StdinSource } from '../audio/sources/stdin';
import { FfmpegFileSource } from '../audio/sources/ffmpeg-file';
import { WavFileSource } from '../audio/sources/wav-file';
import { createEncoder } from '../codec/encoder';
import { ExitCode, RtpcastError, usageError } from '../errors';
import { monotonicClock } from '../rtp/clock';
import { PreciseSleeper, TimerSleeper } from '../rtp/pacer';
import { loadPacerAddon, type NativePacer, type PacerChoice } from '../rtp/native-pacer';
import { randomStartState, type RtpStartState } from '../rtp/packetizer';
import { RtpSender, type SenderStatus, type StopReason } from '../rtp/sender';
import { buildSdp } from '../sdp/build';
import type { SapAnnouncer } from '../sdp/sap';
import { DEFAULT_ANNOUNCE_GROUPS, SAP_PORT } from '../sdp/sap-groups';
import { receiverCommands, type ReceiverCommand } from '../sdp/receivers';
import { describeStream, type StreamDescription, type StreamOptions } from '../stream/description';
import { DEFAULT_PORT, formatDestination, resolveDestination, type Destination } from '../transport/destination';
import { UdpTransport, type Transport } from '../transport/udp';
import { SrtpTransport } from '../transport/srtp';
import { masterKeyFrom } from '../rtp/srtp';
import { cryptoAttributeValue, generateSrtpKey, srtpNotice, srtpReceiverCommands } from '../sdp/crypto';
import { writeFileAtomic } from '../util/atomic-write';
import { TeeTransport, type PacketSink } from '../transport/tee';
import type { WebServer, WebAddress, WebInfo } from '../web/server';
import type { ListenerInfo } from '../web/send-web';
import type { CaptureRequest, OpenedCapture } from './capture';
import { SenderClock } from '../sync/sender-clock';
import type { SyncServer } from '../sync/server';

export type SourceRequest =
  | { kind: 'tone'; hz: number; dbfs: number }
  | CaptureRequest
  /** system sound when a sound server answers, else a test tone */
  | { kind: 'default'; hz: number; dbfs: number }
  | { kind: 'file'; path: string }
  /** live: the producer runs in real time (true), is a file being piped (false), or measure it (undefined) */
  | { kind: 'stdin'; format: SampleFormat; rate: number; channels: number; live?: boolean };

export interface SendRequest {
  source: SourceRequest;
  stream: StreamOptions;
  /** `host:port` texts; empty = the default 127.0.0.1:5004 */
  dests: string[];
  multicastLoop?: boolean;
  multicastInterface?: string;
  /** SDP file path, '-' for stdout, undefined for none */
  sdp?: string;
  durationSec?: number;
  /** SAP announcements of the SDP (rtpcast send --announce): groups as host[:port] (default 224.2.127.254 and 224.0.0.56, port 9875) */
  announce?: { groups?: string[]; ttl?: number };
  /** for tests: fixed SSRC/sequence/timestamp */
  start?: RtpStartState;
  /** SRTP (AES_CM_128_HMAC_SHA1_80): the 30-octet master key and salt, generated when not given */
  srtp?: { key?: Buffer };
  /** rtpcast send --web: a page where browsers listen over WebRTC (Opus only; docs/WEB.md) */
  web?: WebRequest;
  /**
   * the time-sync service for play --sync (src/sync/server.ts), on UDP `port` of `host` (default
   * all IPv4 interfaces). `required`: a port that cannot be bound is an error (the user chose
   * it); else a warning and the stream goes on without it.
   */
  sync?: { port: number; host?: string; required?: boolean };
}

export interface WebRequest {
  address: WebAddress;
  /** the URL's access token (default: a new random one) */
  token?: string;
  maxListeners?: number;
  /** the UDP ports the WebRTC media may use (--web-udp-ports; default: any) */
  icePorts?: [number, number];
}

export interface SdpOutput {
  destination: string;
  /** file written, or undefined when printed / not written */
  path?: string;
  text: string;
  commands: ReceiverCommand[];
}

export interface SendStartInfo {
  source: string;
  /** the format the source really delivers (converted to the stream's) */
  sourceFormat: PcmFormat;
  notes: string[];
  description: StreamDescription;
  ssrc: number;
  defaultDestination: boolean;
  destinations: string[];
  sdps: SdpOutput[];
  /** SRTP in use (the key is in the SDP) */
  srtp?: boolean;
  /** where the SDP is announced with SAP, and how often */
  announce?: { targets: string[]; intervalSec: number };
  /** the --web page: its URLs and QR code */
  web?: WebInfo;
  /** where the time-sync service answers (play --sync) */
  sync?: string;
  /** which pacer sends the packets (native thread, or the event loop with the reason) */
  pacer: PacerChoice;
}

export interface SendHooks {
  onStart?(info: SendStartInfo): void;
  onStatus?(s: SenderStatus): void;
  onWarning?(message: string): void;
  /** a browser listener of --web connected or left; count = listeners now */
  onWebListener?(kind: 'join' | 'leave', listener: ListenerInfo, count: number): void;
}

/** Why --web cannot go with this request, or undefined. */
export function webConflict(req: Pick<SendRequest, 'srtp'>, description: StreamDescription): RtpcastError | undefined {
  if (description.codec !== 'opus') return usageError(`--web sends the stream to browsers over WebRTC, which carries Opus, not ${description.codec.toUpperCase()}`, 'drop --codec l16 (Opus is the default), or send L16 to the players and run a second rtpcast send --web for browsers');
  if (req.srtp) return usageError('--web with --srtp: anyone who can open the page would hear what SRTP is there to keep private', 'use one or the other: --srtp for players that have the key, --web for browsers (each WebRTC connection is encrypted with its own DTLS-SRTP keys; see docs/WEB.md)');
  return undefined;
}

/** SDP file names: the one given for a single destination, one per destination otherwise. */
export function sdpPaths(path: string, dests: Destination[]): string[] {
  if (dests.length <= 1) return [path];
  const ext = extname(path) || '.sdp';
  const stem = path.slice(0, path.length - extname(path).length);
  // IPv6 colons are not allowed in Windows file names.
  return dests.map((d) => `${stem}-${d.address.replace(/[:%]/g, '_')}-${d.port}${ext}`);
}

/** The capture code (sound servers, PortAudio), loaded only when a capture may be needed: a tone or file never loads it. */
const capture = () => require('./capture') as typeof import('./capture');

async function makeSource(r: SourceRequest, streamFormat: PcmFormat, notes: string[]): Promise<{ source: AudioSource; capture?: OpenedCapture }> {
  switch (r.kind) {
    case 'default':
      if (await capture().soundServerAvailable()) return makeSource({ kind: 'system' }, streamFormat, notes);
      notes.push('no sound server answered (PulseAudio/PipeWire): sending a test tone instead; choose a source with --source, --input or --tone');
      return { source: new ToneSource(streamFormat, r.hz, r.dbfs) };
    case 'tone':
      return { source: new ToneSource(streamFormat, r.hz, r.dbfs) };
    case 'file':
      // a plain PCM WAV already in the stream's format needs no decoder process
      return { source: WavFileSource.probe(r.path, streamFormat) ?? new FfmpegFileSource(r.path, streamFormat) };
    case 'stdin':
      return { source: new StdinSource({ rate: r.rate, channels: r.channels }, r.format, process.stdin, { mode: r.live === undefined ? 'auto' : r.live ? 'live' : 'paced' }) };
    case 'system':
    case 'app':
    case 'device': {
      const opened = await capture().openCapture(r);
      return { source: opened.source, capture: opened };
    }
  }
}

/** Runs `rtpcast send` until the duration, the end of the input, or `signal` aborts. */
export async function runSend(req: SendRequest, hooks: SendHooks = {}, signal?: AbortSignal): Promise<{ reason: StopReason; status: SenderStatus }> {
  const texts = req.dests.length ? req.dests : [`127.0.0.1:${DEFAULT_PORT}`];
  const dests: Destination[] = [];
  for (const t of texts) dests.push(await resolveDestination(t));
  const seen = new Set<string>();
  for (const d of dests) {
    const k = formatDestination(d);
    if (seen.has(k)) throw usageError(`destination ${k} is given twice`);
    seen.add(k);
  }
  const description = describeStream(req.stream, dests);
  if (req.web) {
    const conflict = webConflict(req, description);
    if (conflict) throw conflict;
  }
  if (req.durationSec !== undefined && !(req.durationSec > 0)) throw usageError(`--duration ${req.durationSec} must be a positive number of seconds`);

  if (req.srtp && !req.sdp && !req.srtp.key) throw usageError('--srtp without --sdp: the generated key would be known to nobody, so nobody could play the stream', 'add --sdp stream.sdp (written readable by you only), or give the key yourself with --srtp-key');
  const srtpKey = req.srtp ? req.srtp.key ?? generateSrtpKey() : undefined;
  const streamFormat = { rate: description.sampleRate, channels: description.channels };
  const notes: string[] = [];
  const { source, capture } = await makeSource(req.source, streamFormat, notes);
  let transport: UdpTransport | undefined;
  let announcer: SapAnnouncer | undefined;
  let web: WebServer | undefined;
  let syncServer: SyncServer | undefined;
  // one clock for the RTCP sender reports and the time-sync service: a receiver that learns it
  // from the service reads the reports' NTP timestamps on it directly
  const senderClock = new SenderClock(monotonicClock);
  const syncWarnings: string[] = [];
  try {
    if (req.sync) {
      const host = req.sync.host ?? '0.0.0.0';
      try {
        const { SyncServer } = require('../sync/server') as typeof import('../sync/server');
        syncServer = await SyncServer.open(senderClock, req.sync.port, host);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'another program (another rtpcast send?) uses it' : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : (e as Error).message;
        if (req.sync.required) throw new RtpcastError(`cannot start the time-sync service on UDP ${host}:${req.sync.port}: ${why}`, ExitCode.network, `choose another port with --sync-port (players then use play --sync HOST:PORT), or leave --sync out`);
        syncWarnings.push(`the time-sync service is off: UDP port ${req.sync.port} (${host}): ${why}. play --sync cannot follow this sender; choose a free port with --sync-port PORT (then play --sync HOST:PORT)`);
      }
    }
    capture?.onNotice((m) => hooks.onWarning?.(m));
    const sourceFormat = await source.open();
    if (source instanceof StdinSource && source.notice) notes.push(source.notice);
    transport = await UdpTransport.open(dests, { ttl: description.ttl, multicastLoop: req.multicastLoop, multicastInterface: req.multicastInterface });
    const start = req.start ?? randomStartState();
    const wire: Transport = srtpKey ? new SrtpTransport(transport, masterKeyFrom(srtpKey)) : transport;
    const sinks: PacketSink[] = [];
    let webInfo: WebInfo | undefined;
    if (req.web) {
      const { WebServer } = require('../web/server') as typeof import('../web/server');
      web = new WebServer({
        address: req.web.address,
        token: req.web.token,
        maxListeners: req.web.maxListeners,
        icePorts: req.web.icePorts,
        title: description.name,
        format: `Opus ${description.channels === 2 ? 'stereo' : 'mono'}, ${Math.round((description.bitrate ?? 0) / 1000)} kb/s, ${description.ptimeMs} ms packets`,
        stereo: description.channels === 2,
      });
      web.onListener((kind, l, count) => hooks.onWebListener?.(kind, l, count));
      webInfo = await web.start();
      sinks.push(web.listeners);
    }
    // browsers get the packets already encoded for the wire: no extra encoding per listener
    const out: Transport = sinks.length ? new TeeTransport(wire, sinks) : wire;

    const sdps: SdpOutput[] = [];
    const paths = req.sdp && req.sdp !== '-' ? sdpPaths(req.sdp, dests) : [];
    dests.forEach((dest, i) => {
      const text = buildSdp(description, dest, { originAddress: transport!.localAddress(i), sessionId: start.ssrc, tool: 'rtpcast', crypto: srtpKey && cryptoAttributeValue(srtpKey) });
      const path = paths[i];
      if (path) {
        try {
          writeFileAtomic(path, text, srtpKey ? { mode: 0o600 } : {});
        } catch (e) {
          throw new RtpcastError(`cannot write the SDP to ${path}: ${(e as Error).message}`, ExitCode.failure, 'choose a writable path for --sdp');
        }
      }
      const sdpName = path ?? (req.sdp === '-' ? 'stream.sdp' : undefined);
      sdps.push({ destination: formatDestination(dest), path, text, commands: srtpKey ? srtpReceiverCommands(sdpName) : receiverCommands(description, dest, sdpName) });
    });

    if (req.announce) {
      const groups = req.announce.groups?.length ? req.announce.groups : DEFAULT_ANNOUNCE_GROUPS;
      const targets = [];
      for (const g of groups) targets.push(await resolveDestination(g, SAP_PORT));
      const { SapAnnouncer } = require('../sdp/sap') as typeof import('../sdp/sap');
      announcer = await SapAnnouncer.open(targets, sdps.map((s) => s.text), { ttl: req.announce.ttl ?? description.ttl, multicastLoop: req.multicastLoop, multicastInterface: req.multicastInterface });
      announcer.onWarning((m) => hooks.onWarning?.(m));
      const unicast = dests.filter((d) => !d.multicast).map(formatDestination);
      if (unicast.length) notes.push(`announcing a unicast stream (${unicast.join(', ')}): only that machine can play it, and PulseAudio's module-rtp-recv plays multicast only; for every listener use a group, e.g. --dest 239.255.12.34:5004`);
    }

    // The native pacer (native/pacer) when it is built and the stream allows it; else the event loop.
    let pacer: NativePacer | undefined;
    let pacerChoice: PacerChoice;
    const addon = loadPacerAddon();
    if (source.pacing === 'source') pacerChoice = { pacer: 'js', reason: 'a live source: packets leave as the device delivers audio' };
    else if (req.web) pacerChoice = { pacer: 'js', reason: '--web: browsers get each packet at its time' };
    else if (!addon.addon) pacerChoice = { pacer: 'js', reason: addon.error };
    else {
      const r = transport.attachPacer(addon.addon);
      if (typeof r === 'string') pacerChoice = { pacer: 'js', reason: r };
      else {
        pacer = r;
        pacerChoice = { pacer: 'native' };
      }
    }

    const sender = new RtpSender({
      description,
      source,
      sourceFormat,
      encoder: createEncoder(description),
      transport: out,
      clock: monotonicClock,
      wall: senderClock,
      // files and tones never make the sender wait: one event-loop turn per 20 ms is enough (see PreciseSleeper)
      sleeper: pacer
        ? new TimerSleeper(monotonicClock)
        : new PreciseSleeper(monotonicClock, undefined, undefined, req.source.kind === 'file' || req.source.kind === 'tone' || source instanceof ToneSource ? 20_000_000n : 0n),
      queue: pacer,
      start,
      durationSec: req.durationSec,
      // players joining with --sync need a report to place the stream on the sender's clock:
      // one a second (RFC 3550 6.2's reduced minimum for a stream of this bandwidth is smaller)
      ...(syncServer ? { rtcpIntervalSec: 1 } : {}),
    });
    if (pacerChoice.pacer === 'native') pacerChoice.fileRuns = sender.usesFileRuns;
    transport.onWarning((w) => hooks.onWarning?.(w.message));
    sender.on('warning', (m: string) => hooks.onWarning?.(m));
    // only when someone reads statuses: without a listener the sender batches seconds ahead (PacedQueue.unwatched)
    if (hooks.onStatus) sender.on('status', (s: SenderStatus) => hooks.onStatus?.(s));
    hooks.onStart?.({
      source: source.label,
      sourceFormat,
      notes,
      description,
      ssrc: start.ssrc,
      defaultDestination: req.dests.length === 0,
      destinations: dests.map(formatDestination),
      sdps,
      ...(srtpKey ? { srtp: true } : {}),
      announce: announcer?.describe(),
      ...(webInfo ? { web: webInfo } : {}),
      ...(syncServer ? { sync: `${syncServer.address}:${syncServer.port}` } : {}),
      pacer: pacerChoice,
    });
    for (const w of syncWarnings) hooks.onWarning?.(w);
    if (srtpKey) hooks.onWarning?.(srtpNotice(req.sdp === '-' ? '-' : paths));
    announcer?.start();
    const onAbort = () => void sender.stop('stopped');
    signal?.addEventListener('abort', onAbort);
    const reason = await sender.start();
    signal?.removeEventListener('abort', onAbort);
    return { reason, status: sender.status() };
  } finally {
    // Before anything else can fail: listeners drop the stream at once instead of timing out.
    await announcer?.stop();
    await web?.close();
    await syncServer?.close();
    await source.close();
    await capture?.cleanup();
    await transport?.close();
  }
}
