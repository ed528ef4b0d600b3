/**
 * `rtpcast diag packets`: listen on a UDP port and say what arrives, per sender and SSRC, with the
 * RFC 3550 statistics (see counter.ts for the accounting and rtp/stats.ts for what each number
 * means); and when nothing arrives, check the likely reasons in order: firewall, wrong port,
 * multicast, the sender itself.
 *
 * Nothing arrived: (1) checkFirewall (firewall.ts) for the port, bounded to 15 s; (2) a 2 s listen on
 * port-10..port+10 and the usual RTP ports (5004, 5006, PipeWire's 46000, the seed's 50500, ...);
 * (3) with a group: `ip route get GROUP`, the join's result and /proc/net/igmp, and the Wi-Fi/IGMP
 * note (F2); (4) "the sender is not running or sends elsewhere".
 *
 * Throughput: the socket handler does one hrtime read and PacketCounter.add (O(1), see counter.ts).
 * The receive buffer is raised (the kernel caps it at net.core.rmem_max) and the datagrams the
 * kernel still dropped for our socket are read from /proc/net/udp and reported, so a count is
 * never silently short.
 */
import { isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { runProgram } from '../os/run';
import { parseSdpStream } from '../sdp/parse';
import type { DiagReport, Finding } from './report';
import { fmtAddr, normalizeAddress, PacketCounter, rateUncertainty, type PacketSnapshot, type StreamSnapshot } from './counter';
import { recommendLatency } from './jitter';
import { BindError, kernelDrops, nearbyPorts, openListener, parseProcNetIgmp, scanPorts, type Listener, type ScanResult } from './listen';
import { fmtHz, playbackSpeed, rawPcmFinding } from './wording';
import { snapRate } from './classify';
import { checkFirewall } from './firewall';
import { parseSap, SAP_GROUPS, SAP_PORT, sdpName } from '../sdp/sap';
import { SrtpSniffer, srtpFindings } from './srtp';

export { PacketCounter } from './counter';
export type { PacketSnapshot, StreamSnapshot, SenderSnapshot, PacketCounterOptions } from './counter';

export interface PacketUpdate {
  elapsedSec: number;
  snapshot: PacketSnapshot;
  table: PacketTable;
}

export interface CapturePacketsOptions {
  port: number;
  durationSec: number;
  /** multicast group to join */
  group?: string;
  /** only this sender (with a group: a source-specific join) */
  source?: string;
  /** local address to listen on */
  bind?: string;
  /** called about every updateMs with the table so far (live display) */
  onUpdate?: (u: PacketUpdate) => void;
  updateMs?: number;
  /** the stream's SDP (text): clock rates of dynamic payload types */
  sdp?: string;
  /** also listen on port + 1 for RTCP (default true; skipped quietly if that port is busy) */
  rtcpPort?: boolean;
  /** ports to try when nothing arrives (default: nearbyPorts(port)) */
  scanPorts?: number[];
  /** how long to listen on them (default 2 s) */
  scanSec?: number;
  /** when nothing arrives and no group was given: join the usual groups (224.0.0.56) on the port and listen for SAP (default true) */
  multicastProbe?: boolean;
  /** how long to listen for SAP announcements then (default 5.5 s: announcers repeat every 5 s) */
  sapSec?: number;
  multicastInterface?: string;
  /** stop early (Ctrl-C): the report covers what arrived */
  signal?: AbortSignal;
}

export interface PacketTable {
  head: string[];
  rows: string[][];
}

const ID = 'packets';

/** Listen and report (check 'packets'). Never rejects for a network reason: that is a finding. */
export async function capturePackets(o: CapturePacketsOptions): Promise<DiagReport> {
  const findings: Finding[] = [];
  let payloadTypes: Record<number, { encoding: string; clockRate: number; channels?: number }> | undefined;
  if (o.sdp) {
    try {
      const s = parseSdpStream(o.sdp);
      payloadTypes = { [s.payloadType]: { encoding: s.encoding, clockRate: s.clockRate, channels: s.channels } };
    } catch (e) {
      findings.push({ id: `${ID}.sdp-unreadable`, severity: 'warn', title: 'the SDP could not be read: clock rates are guessed from the traffic', detail: (e as Error).message, fix: 'rtpcast diag sdp FILE explains what is wrong with it' });
    }
  }
  // issue #6: the SDP's a=source-filter (incl) names the one sender to account, like --source
  if (o.source === undefined && o.sdp) {
    const src = sdpIncludedSource(o.sdp);
    if (src) {
      o = { ...o, source: src };
      findings.push({ id: `${ID}.source-filter`, severity: 'info', title: `the SDP allows one sender (a=source-filter: incl ... ${src}): packets from other addresses are counted per address and left out` });
    }
  }
  const counter = new PacketCounter({ payloadTypes, source: o.group ? undefined : o.source });
  const srtp = new SrtpSniffer(o.sdp);
  let main: Listener;
  try {
    main = await openListener({ port: o.port, bind: o.bind, group: o.group, source: o.source, multicastInterface: o.multicastInterface }, (msg, r) => {
      counter.add(msg, r, process.hrtime.bigint());
      srtp.rtp(msg);
    });
  } catch (e) {
    return { check: ID, findings: [...findings, bindFailure(o.port, e)], data: { port: o.port } };
  }
  let rtcp: Listener | undefined;
  if (o.rtcpPort !== false && o.port < 65535) {
    try {
      rtcp = await openListener({ port: o.port + 1, bind: o.bind, group: o.group, source: o.source, multicastInterface: o.multicastInterface, recvBufferBytes: 1 << 20 }, (msg, r) => {
        counter.addRtcpPort(msg, r);
        srtp.rtcp(msg);
      });
    } catch { /* busy: RTCP there is someone else's */ }
  }
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    if (o.onUpdate) {
      ticker = setInterval(() => {
        const snapshot = counter.snapshot();
        o.onUpdate!({ elapsedSec: elapsed(), snapshot, table: packetTable(snapshot) });
      }, o.updateMs ?? 1000);
    }
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, o.durationSec * 1000));
      if (o.signal) {
        if (o.signal.aborted) resolve();
        onAbort = () => resolve();
        o.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  }
  const drops = kernelDrops(main);
  const socketInfo = { port: o.port, bind: main.bindAddress, recvBufferBytes: main.recvBufferBytes, kernelDrops: drops, rtcpPortListened: !!rtcp, joined: main.joined, joinError: main.joinError };
  await Promise.all([main.close(), rtcp?.close()]);
  const durationSec = elapsed();
  const snap = counter.snapshot({ finish: true });
  o.onUpdate?.({ elapsedSec: durationSec, snapshot: snap, table: packetTable(snap) });

  if (snap.datagrams === 0 && Object.keys(snap.ignored).length === 0) {
    const z = await investigateSilence(o, main, snap, durationSec);
    const zf = srtpFindings(z.findings, srtp.snapshot(), { port: o.port, rtcpPortDatagrams: snap.rtcpPort.datagrams, rtcpPortValid: snap.rtcpPort.valid, rtpDatagrams: 0 });
    // SRTCP on port + 1 is not "the sender's port is off by one": then the SRTP finding concludes
    const zc = zf.some((f) => f.id === `${ID}.srtp-detected`) ? zf.find((f) => f.severity === 'problem' && f.id !== `${ID}.none`)?.title ?? z.conclusion : z.conclusion;
    return { check: ID, findings: [...findings, ...zf], conclusion: zc, data: { socket: socketInfo, durationSec, snapshot: snap, srtp: srtp.snapshot(), ...z.data } };
  }
  findings.push(...packetFindings(snap, { port: o.port, durationSec, kernelDrops: drops, recvBufferBytes: main.recvBufferBytes, group: o.group, localAddress: o.bind && o.bind !== '0.0.0.0' && o.bind !== '::' ? o.bind : undefined, lanAddresses: lanAddresses() }));
  const all = srtpFindings(findings, srtp.snapshot(), { port: o.port, rtcpPortDatagrams: snap.rtcpPort.datagrams, rtcpPortValid: snap.rtcpPort.valid, rtpDatagrams: snap.datagrams });
  const conclusion = all.find((f) => f.severity === 'problem')?.title;
  return { check: ID, findings: all, ...(conclusion ? { conclusion } : {}), data: { socket: socketInfo, durationSec, snapshot: snap, srtp: srtp.snapshot(), table: packetTable(snap) } };
}

/** This machine's first non-internal IPv4 and IPv6 addresses (for the c= line of a suggested SDP). */
function lanAddresses(): { 4?: string; 6?: string } {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => !a.internal);
  return { 4: all.find((a) => a.family === 'IPv4')?.address, 6: all.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80'))?.address };
}

function bindFailure(port: number, e: unknown): Finding {
  const code = e instanceof BindError ? e.code : undefined;
  if (code === 'EADDRINUSE') {
    return {
      id: `${ID}.port-busy`, severity: 'problem', title: `UDP port ${port} is held by another program: diag cannot listen there`,
      detail: 'A player or another receiver already owns the port; it receives the packets, not this check.',
      fix: `see which program: rtpcast diag ports ${port}  (or: ss -uapn 'sport = :${port}'); stop it, or run the check on another port`,
    };
  }
  if (code === 'EACCES') {
    return { id: `${ID}.port-denied`, severity: 'unknown', title: `not allowed to listen on UDP port ${port}`, detail: (e as Error).message, fix: 'ports below 1024 need root (or CAP_NET_BIND_SERVICE): use a port above 1024' };
  }
  return { id: `${ID}.listen-failed`, severity: 'unknown', title: `could not listen on UDP port ${port}`, detail: (e as Error).message, fix: 'check --bind (it must be an address of this machine) and --port' };
}

/** The live/final table (pure). */
export function packetTable(s: PacketSnapshot): PacketTable {
  const head = ['sender', 'SSRC', 'PT / codec', 'packets', 'lost', 'dup', 'reord', 'jitter ms', 'kb/s', 'rate Hz'];
  const rows: string[][] = [];
  for (const st of s.streams) {
    const x = st.stats;
    rows.push([
      st.sender, st.ssrcHex, `${st.payloadType} ${codecName(st)}${st.probing ? ' (probing)' : ''}`, String(x.packets),
      `${Math.max(0, x.lost)} (${x.lostPct.toFixed(1)}%)`, String(x.duplicates), String(x.reordered),
      x.jitterMs.toFixed(2), x.bitrateKbps.toFixed(0), st.estimatedRateHz ? st.estimatedRateHz.toFixed(0) : '-',
    ]);
  }
  for (const sd of s.senders) {
    const other = sd.datagrams - sd.rtp;
    if (other === 0) continue;
    const what = sd.kind === 'raw-pcm' ? `raw PCM${sd.rawPcm?.byteOrder !== 'unknown' ? ` ${sd.rawPcm?.byteOrder}` : ''}` : [sd.rtcp && `RTCP ${sd.rtcp}`, sd.malformed && `malformed ${sd.malformed}`, sd.notRtp && `not RTP ${sd.notRtp}`, sd.unconfirmed && `unconfirmed ${sd.unconfirmed}`].filter(Boolean).join(', ');
    rows.push([`${fmtAddr(sd.address)}:${sd.port}`, '-', what || 'other', String(other), '-', '-', '-', '-', '-', '-']);
  }
  return { head, rows };
}

function codecName(st: StreamSnapshot): string {
  const c = st.codec;
  return `${c.encoding}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`;
}

function pct(x: number): string {
  return `${x.toFixed(x < 1 && x > 0 ? 2 : 1)}%`;
}

/** Findings for a capture in which something arrived (pure). */
export function packetFindings(s: PacketSnapshot, ctx: { port: number; durationSec: number; kernelDrops?: number | null; recvBufferBytes?: number | null; group?: string; localAddress?: string; lanAddresses?: { 4?: string; 6?: string } }): Finding[] {
  const f: Finding[] = [];
  const rtpSenders = s.senders.filter((x) => x.rtp > 0);
  f.push({
    id: `${ID}.summary`, severity: 'ok',
    title: `${s.datagrams} datagrams from ${s.senders.length} sender(s) on UDP port ${ctx.port} in ${ctx.durationSec.toFixed(1)} s: ${s.streams.length} RTP stream(s)`,
    detail: s.senders.map((x) => `${fmtAddr(x.address)}:${x.port}: ${x.datagrams} datagrams (${x.kind}; RTP ${x.rtp}, RTCP ${x.rtcp}, malformed ${x.malformed}, not RTP ${x.notRtp}, unconfirmed ${x.unconfirmed})`).join('\n'),
  });
  if (ctx.kernelDrops) {
    f.push({
      id: `${ID}.kernel-drops`, severity: 'warn',
      title: `the kernel dropped ${ctx.kernelDrops} datagrams for this socket (receive buffer full): the counts below miss them`,
      detail: `receive buffer ${ctx.recvBufferBytes ?? '?'} bytes (capped by net.core.rmem_max). Loss measured below includes these drops.`,
      fix: 'sudo sysctl -w net.core.rmem_max=8388608   (then run the check again)',
    });
  }
  if (s.overLimit) f.push({ id: `${ID}.over-limit`, severity: 'info', title: `${s.overLimit} datagrams were counted but not analysed (more than 64 senders or 16 streams per sender)` });
  for (const [addr, n] of Object.entries(s.ignored)) {
    f.push({ id: `${ID}.ignored`, severity: 'info', title: `${n} datagrams from ${addr} ignored (not the --source)` });
  }
  if (s.datagrams === 0 && Object.keys(s.ignored).length) {
    f.push({
      id: `${ID}.source-mismatch`, severity: 'problem',
      title: `everything that arrived came from other senders than --source (${Object.keys(s.ignored).join(', ')})`,
      fix: 'check the sender\'s address (it may send from another interface), or leave --source out',
    });
  }
  if (s.streams.length > 1) {
    f.push({
      id: `${ID}.several-streams`, severity: 'warn',
      title: `${s.streams.length} RTP streams arrive on this port${rtpSenders.length > 1 ? ` from ${rtpSenders.length} senders` : ''}`,
      detail: s.streams.map((x) => `${x.sender} SSRC ${x.ssrcHex} PT ${x.payloadType}: ${x.stats.packets} packets`).join('\n'),
      fix: 'players take one stream (usually the first) or mix them badly: stop the extra sender, or give each stream its own port; rtpcast play --source ADDRESS picks one sender',
    });
  }
  for (const st of s.streams) {
    f.push(...streamFindings(st, s.streams.length > 1));
    const v6 = st.sender.startsWith('[');
    const loopback = /^(127\.|\[::1\])/.test(st.sender);
    const here = loopback ? (v6 ? '::1' : '127.0.0.1') : (ctx.lanAddresses?.[v6 ? 6 : 4] ?? (v6 ? '::1' : '127.0.0.1'));
    const need = sdpNeededFinding(st, { port: ctx.port, address: ctx.group ?? ctx.localAddress ?? here, several: s.streams.length > 1 });
    if (need) f.push(need);
  }
  const anyRtcp = s.senders.some((x) => x.rtcp > 0) || s.rtcpPort.valid > 0;
  if (anyRtcp) {
    f.push({ id: `${ID}.rtcp`, severity: 'ok', title: `RTCP: ${s.senders.reduce((n, x) => n + x.rtcp, 0)} on the RTP port, ${s.rtcpPort.valid} on port ${ctx.port + 1}`, detail: s.streams.map((x) => `${x.ssrcHex}: ${x.rtcpSenderReports} sender reports${x.bye ? ', BYE' : ''}`).join('\n') || undefined });
  } else if (s.streams.length && ctx.durationSec >= 6) {
    f.push({ id: `${ID}.no-rtcp`, severity: 'info', title: 'no RTCP sender reports arrived (port and port + 1)', detail: 'Without them a receiver cannot map RTP time to wall-clock time (lip sync, synchronised rooms). rtpcast send sends them every 5 s to port + 1.' });
  }
  if (s.rtcpPort.datagrams > s.rtcpPort.valid) {
    f.push({ id: `${ID}.rtcp-port-other`, severity: 'warn', title: `${s.rtcpPort.datagrams - s.rtcpPort.valid} datagrams on port ${ctx.port + 1} are not RTCP`, detail: `from ${s.rtcpPort.senders.join(', ')}`, fix: `if that is the audio, the sender's port is off by one: listen on ${ctx.port + 1}, or send to ${ctx.port}` });
  }
  for (const sd of s.senders) {
    const name = `${fmtAddr(sd.address)}:${sd.port}`;
    if (sd.kind === 'raw-pcm' && sd.rawPcm) f.push(rawPcmFinding(name, sd.rawPcm, ID, ctx.port));
    if (sd.malformed && sd.kind !== 'raw-pcm') {
      f.push({
        id: `${ID}.malformed`, severity: 'warn', title: `${sd.malformed} datagrams from ${name} have a broken RTP header`,
        detail: Object.entries(sd.malformedBy).map(([k, n]) => `${k}: ${n}`).join(', ') + '. Receivers drop them: they count as loss.',
        fix: 'the sender writes invalid RTP: check its version, or what else sends to this port',
      });
    }
    const other = sd.notRtp - (sd.kind === 'raw-pcm' ? sd.notRtp : 0);
    if (sd.kind !== 'raw-pcm' && other > 0) {
      f.push({
        id: `${ID}.not-rtp`, severity: sd.rtp > 0 ? 'warn' : 'problem',
        title: `${other} datagrams from ${name} are neither RTP nor RTCP${sd.unknownSampled ? ' nor audio' : ''}`,
        detail: sd.rtp > 0 ? 'another program sends to the same port as the RTP sender' : 'something sends to this port, but not audio in a form a player understands',
        fix: `find the sender of ${name} (on it: ss -uapn) and stop it, or listen on another port`,
      });
    }
    if (sd.kind !== 'raw-pcm' && sd.unconfirmed > 0) {
      f.push({ id: `${ID}.unconfirmed`, severity: 'info', title: `${sd.unconfirmed} datagrams from ${name} had an RTP-like header whose SSRC never repeated`, detail: 'Either the tail of a stream that just started, or random data that happens to look like an RTP header.' });
    }
  }
  return f;
}

/**
 * The SDP that describes a stream guessed from its traffic (pure): L16 with its rate and channels,
 * or Opus (always opus/48000/2, RFC 7587); null when the codec could not be told.
 */
export function suggestedSdp(st: Pick<StreamSnapshot, 'payloadType' | 'codec' | 'packetMs'>, o: { port: number; address: string }): string | null {
  const c = st.codec;
  const enc = c.encoding.toLowerCase();
  let rtpmap: string;
  const extra: string[] = [];
  if (enc === 'l16' && c.channels) rtpmap = `L16/${c.clockRate}/${c.channels}`;
  else if (enc === 'opus') {
    rtpmap = 'opus/48000/2';
    extra.push(`a=fmtp:${st.payloadType} stereo=1; sprop-stereo=1; useinbandfec=1`);
  } else return null;
  const v = o.address.includes(':') ? 'IP6' : 'IP4';
  const mc = /^(22[4-9]|23\d)\./.test(o.address);
  const ptime = st.packetMs && st.packetMs > 0 ? [`a=ptime:${Number(st.packetMs.toFixed(2))}`] : [];
  return [
    'v=0', `o=- 0 0 IN ${v} ${o.address}`, 's=rtpcast diag packets', `c=IN ${v} ${o.address}${mc ? '/1' : ''}`, 't=0 0', 'a=tool:rtpcast diag',
    `m=audio ${o.port} RTP/AVP ${st.payloadType}`, `a=rtpmap:${st.payloadType} ${rtpmap}`, ...extra, ...ptime, 'a=recvonly', '',
  ].join('\r\n');
}

/**
 * A dynamic payload type (96-127) without an SDP: no player can know the format (F1, PulseAudio's
 * module-rtp-send at 48 kHz, VLC's rtp://@:5004). Says so and prints the SDP that fits (pure).
 */
export function sdpNeededFinding(st: StreamSnapshot, o: { port: number; address: string; several?: boolean }): Finding | null {
  if (st.payloadType < 96 || st.payloadType > 127 || st.codec.how === 'sdp' || st.probing) return null;
  const pre = o.several ? `${st.sender} SSRC ${st.ssrcHex}: ` : '';
  const sdp = suggestedSdp(st, o);
  const rtpmap = sdp ? /a=rtpmap:[^\r]*/.exec(sdp)![0] : `a=rtpmap:${st.payloadType} ENCODING/RATE/CHANNELS`;
  return {
    id: `${ID}.sdp-needed`, severity: 'warn',
    title: `${pre}payload type ${st.payloadType} is dynamic and no SDP was given: VLC (rtp://@:${o.port}), ffmpeg and GStreamer cannot know the format; they need an SDP with ${rtpmap}`,
    detail: sdp
      ? `The format was guessed from the traffic (${codecName(st)}, ${st.codec.how}). This SDP describes it (save it as stream.sdp):\n${sdp.trimEnd().split('\r\n').join('\n')}`
      : `The codec could not be told from the traffic (${st.codec.how}): only the sender knows it.`,
    fix: `${sdp ? 'save the SDP above as stream.sdp and open it: ffplay -nodisp -protocol_whitelist file,udp,rtp -i stream.sdp   (or: cvlc --demux=avformat stream.sdp; rtpcast play --sdp stream.sdp)\n' : ''}best: let the sender write it: rtpcast send ... --sdp stream.sdp; PulseAudio module-rtp-send announces it by SAP: rtpcast play --sap`,
  };
}

function streamFindings(st: StreamSnapshot, several: boolean): Finding[] {
  const f: Finding[] = [];
  const x = st.stats;
  const who = `${st.sender} SSRC ${st.ssrcHex}`;
  const pre = several ? `${who}: ` : '';
  const c = st.codec;
  const d = x.arrivalDeltaMs;
  const lines = [
    `payload type ${st.payloadType}${st.otherPayloadTypes.length ? ` (also ${st.otherPayloadTypes.join(', ')})` : ''}; codec ${codecName(st)} (${c.how}); packet ${st.packetMs?.toFixed(1) ?? '?'} ms`,
    `packets ${x.packets}, expected ${x.expected}, lost ${x.lost} (${x.lostPct.toFixed(2)}%), duplicates ${x.duplicates}, reordered ${x.reordered}, sequence resyncs ${x.resyncs}, markers ${x.markers}`,
    `jitter (RFC 3550) ${x.jitterTs.toFixed(1)} timestamp units = ${x.jitterMs.toFixed(2)} ms, max ${x.maxJitterMs.toFixed(2)} ms; delay spread (p95 - min) ${st.delaySpreadMs?.toFixed(1) ?? '?'} ms`,
    `arrival delta min/mean/max ${d.min?.toFixed(2) ?? '-'} / ${d.mean?.toFixed(2) ?? '-'} / ${d.max?.toFixed(2) ?? '-'} ms; max skew ${x.maxSkewMs.toFixed(1)} ms; drift ${x.driftPpm === null ? '- (needs 2 s)' : `${x.driftPpm.toFixed(0)} ppm`}`,
    `timestamp rate ${st.estimatedRateHz?.toFixed(0) ?? '?'} Hz measured (clock rate ${c.clockRate}); ${x.bitrateKbps.toFixed(1)} kb/s`,
    `loss pattern (RFC 3611, Gmin ${x.burst.gmin}): ${x.burst.bursts} bursts, burst density ${(x.burst.burstDensity * 100).toFixed(1)}%, gap density ${(x.burst.gapDensity * 100).toFixed(2)}%, BurstR ${x.burst.burstR.toFixed(2)}`,
    `quality (estimate, E-model from loss and jitter, not a listening test): R ${x.quality.rFactor.toFixed(1)}, MOS ${x.quality.mos.toFixed(2)}`,
  ];
  f.push({
    id: `${ID}.stream`, severity: 'ok',
    title: `${who}: PT ${st.payloadType} ${codecName(st)}, ${x.packets} packets, ${pct(x.lostPct)} lost, jitter ${x.jitterMs.toFixed(1)} ms, ${x.bitrateKbps.toFixed(0)} kb/s`,
    detail: lines.join('\n'),
  });
  if (x.lost > 0) {
    const sev = x.lostPct >= 5 ? 'problem' : x.lostPct >= 0.5 ? 'warn' : 'info';
    f.push({
      id: `${ID}.loss`, severity: sev,
      title: `${pre}${pct(x.lostPct)} of the packets were lost (${x.lost} of ${x.expected})`,
      detail: `${x.burst.bursts ? `${x.burst.bursts} burst(s) of loss` : 'isolated losses'} (BurstR ${x.burst.burstR.toFixed(2)}). Each lost ${st.packetMs?.toFixed(0) ?? '?'} ms packet is a gap or concealment.`,
      ...(sev !== 'info' ? { fix: 'Wi-Fi is the usual cause: a cable, 5 GHz, or closer to the access point; with multicast on Wi-Fi, switch to unicast (rtpcast send --dest RECEIVER_IP)' } : {}),
    });
  } else if (x.expected > 0) {
    f.push({ id: `${ID}.loss`, severity: 'ok', title: `${pre}no packet lost (${x.expected} expected)` });
  }
  if (x.duplicates) f.push({ id: `${ID}.duplicates`, severity: 'info', title: `${pre}${x.duplicates} duplicate packets`, detail: 'the same sequence number twice: a network loop, or the sender sends to this host twice (two --dest, or unicast plus multicast)' });
  if (x.reordered) f.push({ id: `${ID}.reordered`, severity: x.reordered * 100 >= x.packets ? 'warn' : 'info', title: `${pre}${x.reordered} packets arrived out of order`, detail: 'a jitter buffer puts them back in order only if it is deep enough (see the latency advice)' });
  if (x.resyncs) f.push({ id: `${ID}.resync`, severity: 'warn', title: `${pre}the sender restarted ${x.resyncs} time(s) (sequence numbers jumped)`, detail: 'VLC does not recover cleanly when a stream restarts; rtpcast play does', fix: 'keep the sender running (rtpcast send sends silence instead of stopping)' });
  if (st.bye) f.push({ id: `${ID}.bye`, severity: 'info', title: `${pre}the sender said goodbye (RTCP BYE)` });

  // the clock rate a receiver assumes vs what the timestamps do
  const measured = st.estimatedRateHz;
  const unc = rateUncertainty(x, st.delaySpreadMs);
  if (measured && (c.how === 'sdp' || c.how === 'static payload type') && Math.abs(measured / c.clockRate - 1) > Math.max(0.02, 4 * unc)) {
    const snapped = snapRate(measured) ?? Math.round(measured);
    const sp = playbackSpeed(snapped, c.clockRate);
    f.push({
      id: `${ID}.rate-mismatch`, severity: 'problem',
      title: `${pre}the sender is ${fmtHz(snapped)} Hz, the receiver assumes ${c.clockRate}: ${sp.text}`,
      detail: `RTP timestamps advance ${measured.toFixed(0)} per second of arrival time; ${c.how === 'sdp' ? 'the SDP says' : `static payload type ${st.payloadType} means`} ${c.clockRate} Hz.`,
      fix: c.how === 'static payload type'
        ? `payload type ${st.payloadType} is only for ${c.encoding}/${c.clockRate}: send ${fmtHz(snapped)} Hz with a dynamic payload type and an SDP (rtpcast send --rate ${fmtHz(snapped)} --sdp stream.sdp), or resample to ${c.clockRate}`
        : `make the SDP and the sender agree: rtpcast send writes a matching SDP (--sdp stream.sdp); or send ${c.clockRate} Hz (rtpcast send --rate ${c.clockRate})`,
    });
  } else if (x.driftPpm !== null && Math.abs(x.driftPpm) >= Math.max(300, 4 * unc * 1e6)) {
    f.push({
      id: `${ID}.drift`, severity: 'warn',
      title: `${pre}the sender's clock runs ${Math.abs(x.driftPpm).toFixed(0)} ppm ${x.driftPpm > 0 ? 'fast' : 'slow'} against this machine's`,
      detail: 'Players without drift compensation slowly fill or drain their buffer (a glitch every few minutes). rtpcast play compensates.',
      fix: 'use rtpcast play (it resamples by a few hundred ppm); or check the sender\'s sound card clock',
    });
  } else if (x.driftPpm !== null) {
    f.push({ id: `${ID}.drift`, severity: 'ok', title: `${pre}clock drift ${x.driftPpm.toFixed(0)} ppm, +/- ${(unc * 1e6).toFixed(0)} (sound cards differ by up to about 300 ppm)` });
  }
  f.push({ id: `${ID}.quality`, severity: 'info', title: `${pre}quality estimate: R ${x.quality.rFactor.toFixed(0)}, MOS ${x.quality.mos.toFixed(2)} (estimate from loss and jitter, not a listening test)` });
  if (x.packets >= 20) {
    const codec = c.encoding.toLowerCase();
    const advice = recommendLatency(x, { packetMs: st.packetMs ?? 20, codec, delaySpreadMs: st.delaySpreadMs });
    for (const a of advice.findings) f.push({ ...a, title: `${pre}${a.title}` });
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Nothing arrived

export interface MulticastCheck {
  group: string;
  route: { ok: boolean; device: string | null; text: string } | null;
  joined: boolean;
  joinError: string | null;
  /** devices where /proc/net/igmp lists the group (IPv4) */
  igmpDevices: string[] | null;
}

async function investigateSilence(o: CapturePacketsOptions, main: Listener, snap: PacketSnapshot, durationSec: number): Promise<{ findings: Finding[]; conclusion: string; data: Record<string, unknown> }> {
  // (1) firewall
  let firewall: Finding[] | null = null;
  let firewallError: string | null = null;
  try {
    const v6 = (o.group !== undefined && isIPv6(o.group)) || (o.bind !== undefined && isIPv6(o.bind));
    firewall = (await withTimeout(checkFirewall(o.port, { family: v6 ? 'ipv6' : 'ipv4' }), 15_000)).findings;
  } catch (e) {
    firewallError = (e as Error).message;
  }
  // (2) wrong port: nearby and usual ports (port + 1 was listened to already, for RTCP). Only now,
  // with our own sockets closed, are groups joined: once any socket joins a group, Linux delivers
  // the group's traffic to every socket bound to the port, and the capture above would have counted
  // a stream that a receiver without the join never gets.
  const probing = !o.group && o.multicastProbe !== false && !(o.bind && isIPv6(o.bind));
  const sap = probing ? await watchSap() : null;
  const scanList = o.scanPorts ?? nearbyPorts(o.port, [o.port + 1, ...(sap ? [SAP_PORT] : [])]);
  const [scan, probe] = await Promise.all([
    scanPorts(scanList, { bind: o.bind, group: o.group, seconds: o.scanSec ?? 2 }),
    // no group given: is the audio multicast to a group nobody here joined? (F2; PulseAudio and PipeWire send to 224.0.0.56 and announce by SAP)
    probing ? probeUnjoinedMulticast(o.port, o.scanSec ?? 2) : Promise.resolve(null),
    // SAP announcers repeat every 5 s (PulseAudio, PipeWire): listen that long
    sap ? new Promise((r) => setTimeout(r, (o.sapSec ?? SAP_LISTEN_SEC) * 1000)) : Promise.resolve(),
  ]);
  const announced = sap ? await sap.stop() : [];
  const unjoined: UnjoinedProbe | null = probe || sap ? { groups: probe?.groups ?? [], announced } : null;
  // (3) multicast
  let multicast: MulticastCheck | null = null;
  if (o.group) {
    let route: MulticastCheck['route'] = null;
    try {
      const r = await runProgram('ip', isIPv6(o.group) ? ['-6', 'route', 'get', o.group] : ['route', 'get', o.group], { timeoutMs: 3000 });
      const text = (r.stdout + r.stderr).trim();
      route = { ok: r.code === 0, device: /\bdev\s+(\S+)/.exec(text)?.[1] ?? null, text };
    } catch { /* no ip command */ }
    let igmpDevices: string[] | null = null;
    if (!isIPv6(o.group)) {
      try {
        igmpDevices = parseProcNetIgmp(readFileSync('/proc/net/igmp', 'utf8')).filter((x) => x.group === o.group).map((x) => x.device);
      } catch { /* not Linux */ }
    }
    multicast = { group: o.group, route, joined: main.joined, joinError: main.joinError, igmpDevices };
  }
  const z = silenceFindings({ port: o.port, durationSec, firewall, firewallAvailable: true, firewallError, scan, multicast, rtcpPort: snap.rtcpPort, unjoined });
  return { ...z, data: { scan, multicast, unjoined } };
}

/** What a short listen on the usual multicast groups and on SAP found (see probeUnjoinedMulticast). */
export interface UnjoinedProbe {
  /** datagrams that arrived on the port only once we joined the group */
  groups: { group: string; datagrams: number; senders: string[] }[];
  /** SAP announcements heard: where each announced stream goes */
  announced: { name: string; origin: string; group: string; port: number; rtpmap: string | null }[];
}

const SAP_LISTEN_SEC = 5.5;

/** Groups players send to by default: PulseAudio's module-rtp-send and PipeWire's module-rtp-sink (224.0.0.56). */
export const USUAL_GROUPS = ['224.0.0.56'];

/**
 * Listens for SAP announcements (RFC 2974; PulseAudio and PipeWire announce every 5 s) on both SAP
 * groups while the capture runs; `stop()` returns what was announced.
 */
async function watchSap(): Promise<{ stop(): Promise<UnjoinedProbe['announced']> }> {
  const announced = new Map<string, UnjoinedProbe['announced'][number]>();
  const socks: Listener[] = [];
  for (const group of SAP_GROUPS) {
    try {
      const l = await openListener({ port: SAP_PORT, group, recvBufferBytes: 1 << 20 }, (m) => {
        const sap = parseSap(m);
        if (!sap || sap.deletion) return;
        const c = /^c=IN IP[46] ([^/\s]+)/m.exec(sap.sdp)?.[1];
        const mp = /^m=audio (\d+)/m.exec(sap.sdp)?.[1];
        if (!c || !mp) return;
        const rtpmap = /^a=rtpmap:(.*)$/m.exec(sap.sdp)?.[1]?.trim() ?? null;
        announced.set(`${sap.origin}/${sap.msgIdHash}`, { name: sdpName(sap.sdp), origin: sap.origin, group: c, port: Number(mp), rtpmap });
      });
      if (l.joined) socks.push(l);
      else await l.close();
    } catch { /* SAP port busy (a player listens for SAP): fine */ }
  }
  return {
    async stop() {
      await Promise.all(socks.map((l) => l.close()));
      return [...announced.values()];
    },
  };
}

/** Joins the usual groups on `port` for `seconds`: does the stream arrive only through a join? */
async function probeUnjoinedMulticast(port: number, seconds: number): Promise<Pick<UnjoinedProbe, 'groups'>> {
  const groups = new Map<string, { group: string; datagrams: number; senders: Set<string> }>();
  const socks: Listener[] = [];
  for (const group of USUAL_GROUPS) {
    try {
      const l = await openListener({ port, group, recvBufferBytes: 1 << 20 }, (_m, r) => {
        const g = groups.get(group) ?? { group, datagrams: 0, senders: new Set<string>() };
        g.datagrams++;
        if (g.senders.size < 8) g.senders.add(`${fmtAddr(normalizeAddress(r.address))}:${r.port}`);
        groups.set(group, g);
      });
      if (l.joined) socks.push(l);
      else await l.close();
    } catch { /* port or group unavailable */ }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, seconds * 1000)));
  await Promise.all(socks.map((l) => l.close()));
  return { groups: [...groups.values()].map((g) => ({ group: g.group, datagrams: g.datagrams, senders: [...g.senders] })) };
}

/** Findings for "nothing arrived", in the order the causes are checked (pure). */
export function silenceFindings(i: {
  port: number;
  durationSec: number;
  firewall: Finding[] | null;
  firewallAvailable: boolean;
  firewallError?: string | null;
  scan: ScanResult;
  multicast: MulticastCheck | null;
  rtcpPort?: PacketSnapshot['rtcpPort'];
  unjoined?: UnjoinedProbe | null;
}): { findings: Finding[]; conclusion: string } {
  const f: Finding[] = [];
  let conclusion: string | undefined;
  f.push({
    id: `${ID}.none`, severity: 'problem',
    title: `no datagrams arrived on UDP port ${i.port} in ${i.durationSec.toFixed(1)} s`,
    detail: 'checked below, most likely first: firewall, wrong port, multicast, the sender',
  });
  // (1) firewall
  if (i.firewall) {
    f.push(...i.firewall);
    const blocked = i.firewall.find((x) => x.severity === 'problem');
    if (blocked) conclusion = blocked.title;
  } else if (i.firewallError) {
    f.push({ id: `${ID}.firewall-unchecked`, severity: 'info', title: 'the firewall could not be checked', detail: i.firewallError, fix: `rtpcast diag firewall --port ${i.port}` });
  } else if (!i.firewallAvailable) {
    f.push({ id: `${ID}.firewall-skipped`, severity: 'info', title: 'firewall not checked (this build has no firewall check)', detail: 'On Windows the Defender Firewall blocks inbound UDP by default (Public profile); on Linux look at nft list ruleset / iptables-save / ufw status.' });
  }
  // (2) wrong port
  if (i.rtcpPort && i.rtcpPort.datagrams > i.rtcpPort.valid) {
    f.push({
      id: `${ID}.wrong-port`, severity: 'problem',
      title: `traffic arrives on port ${i.port + 1} instead (${i.rtcpPort.datagrams - i.rtcpPort.valid} datagrams that are not RTCP, from ${i.rtcpPort.senders.join(', ')})`,
      fix: `listen on ${i.port + 1} (rtpcast diag packets --port ${i.port + 1}), or make the sender send to ${i.port}`,
    });
    conclusion ??= `the sender sends to port ${i.port + 1}, not ${i.port}`;
  } else if (i.rtcpPort && i.rtcpPort.valid > 0) {
    f.push({ id: `${ID}.rtcp-only`, severity: 'problem', title: `RTCP arrives on port ${i.port + 1} (from ${i.rtcpPort.senders.join(', ')}) but no RTP on ${i.port}`, detail: 'the sender runs and reaches this machine, but its audio goes elsewhere or is blocked' });
  }
  // RTCP alone on a port is the sender's RTCP port: its RTP goes to the port below
  const rtcpOnly = i.scan.active.filter((a) => Object.keys(a.kinds).length > 0 && Object.keys(a.kinds).every((k) => k === 'rtcp'));
  const active = i.scan.active.filter((a) => !rtcpOnly.includes(a));
  for (const a of rtcpOnly) {
    f.push({
      id: `${ID}.rtcp-elsewhere`, severity: 'info',
      title: `RTCP arrives on port ${a.port} (${a.datagrams} from ${a.senders.join(', ')}): the sender's RTP most likely goes to port ${a.port - 1}`,
    });
  }
  if (!active.length && rtcpOnly.length) conclusion ??= `the sender sends to port ${rtcpOnly[0].port - 1}, not ${i.port}`;
  for (const a of active) {
    const kinds = Object.entries(a.kinds).map(([k, n]) => `${k} ${n}`).join(', ');
    f.push({
      id: `${ID}.wrong-port`, severity: 'problem',
      title: `traffic arrives on port ${a.port} instead: ${a.datagrams} datagrams in ${i.scan.seconds.toFixed(1)} s from ${a.senders.join(', ')}`,
      detail: `sampled: ${kinds || '-'}${a.payloadTypes.length ? `; RTP payload type(s) ${a.payloadTypes.join(', ')}` : ''}`,
      fix: `listen on ${a.port} (rtpcast diag packets --port ${a.port}; rtpcast play --port ${a.port}), or make the sender send to ${i.port} (rtpcast send --dest HOST:${i.port})`,
    });
  }
  if (active.length) conclusion ??= `the sender sends to port ${active[0].port}, not ${i.port}`;
  else if (!rtcpOnly.length) {
    f.push({
      id: `${ID}.nearby-quiet`, severity: 'info',
      title: `nothing on nearby or usual ports either (${describePorts(i.scan.listened)}; ${i.scan.seconds.toFixed(1)} s)`,
      ...(i.scan.busy.length ? { detail: `ports held by other programs (not checked): ${i.scan.busy.join(', ')}` } : {}),
    });
  }
  // (3) multicast
  const u = i.unjoined;
  for (const g of u?.groups ?? []) {
    f.push({
      id: `${ID}.multicast-not-joined`, severity: 'problem',
      title: `the audio goes to multicast group ${g.group} port ${i.port} (${g.datagrams} datagrams in ${i.scan.seconds.toFixed(1)} s from ${g.senders.join(', ')}), but nothing here joined the group`,
      detail: 'A multicast stream reaches a program only when it joins the group; listening on the port alone receives nothing.',
      fix: `join the group: rtpcast diag packets --group ${g.group} --port ${i.port}; play it with rtpcast play --bind ${g.group} --port ${i.port} (VLC: vlc rtp://@${g.group}:${i.port}); or send unicast to this machine (rtpcast send --dest THIS_HOST_IP:${i.port})`,
    });
    conclusion ??= `the stream is multicast to ${g.group}:${i.port} and nothing here joined the group`;
  }
  for (const a of u?.announced ?? []) {
    const here = a.port === i.port;
    f.push({
      id: `${ID}.sap-announced`, severity: here || !active.length ? 'problem' : 'info',
      title: `a sender (${a.origin}) announces "${a.name}" by SAP: it goes to ${a.group}:${a.port}${a.rtpmap ? ` (${a.rtpmap})` : ''}${here ? '' : `, not port ${i.port}`}`,
      fix: `play the announced stream: rtpcast play --sap "${a.name}"; check it: rtpcast diag packets --group ${a.group} --port ${a.port}`,
    });
    conclusion ??= `the sender announces its stream by SAP at ${a.group}:${a.port}: join that group (rtpcast play --sap "${a.name}")`;
  }
  const m = i.multicast;
  if (m) {
    if (m.route && !m.route.ok) {
      f.push({ id: `${ID}.multicast-route`, severity: 'problem', title: `this host has no route for ${m.group}: the join goes nowhere`, detail: m.route.text, fix: 'sudo ip route add 224.0.0.0/4 dev IFACE   (IFACE: the LAN interface, see ip -br link)' });
      conclusion ??= `no multicast route for ${m.group}`;
    } else if (m.route) {
      f.push({ id: `${ID}.multicast-route`, severity: 'ok', title: `multicast ${m.group} is routed via ${m.route.device ?? '?'}`, detail: m.route.text });
    }
    if (!m.joined) {
      f.push({ id: `${ID}.multicast-join`, severity: 'problem', title: `joining ${m.group} failed`, detail: m.joinError ?? undefined, fix: 'check the group address and --multicast-interface (an address of this machine)' });
      conclusion ??= `could not join ${m.group}`;
    } else {
      f.push({ id: `${ID}.multicast-join`, severity: 'ok', title: `joined ${m.group}${m.igmpDevices?.length ? ` on ${m.igmpDevices.join(', ')}` : ''}` });
    }
    f.push({
      id: `${ID}.multicast-ttl`, severity: 'info',
      title: `if the sender runs on another machine, its multicast TTL must be at least 1: TTL 0 means "this host only"`,
      detail: 'With TTL 0 routers drop the packets and most systems do not send them out at all; each router on the way takes 1 more (rtpcast send --ttl N; PulseAudio module-rtp-send ttl=N; the SDP shows it as c=IN IP4 GROUP/TTL, and rtpcast diag sdp flags /0).',
      fix: `on the sender: rtpcast send --dest ${m.group}:${i.port} --ttl 1 (check its SDP: rtpcast diag sdp stream.sdp)`,
    });
    f.push({
      id: `${ID}.multicast-wifi`, severity: 'info',
      title: 'multicast is often not delivered: Wi-Fi drops or throttles it, and switches with IGMP snooping but no querier stop forwarding after a few minutes',
      detail: 'With IGMP snooping and no querier on the LAN, a group is pruned about 260 s after the last report: audio stops after ~4.5 minutes.',
      fix: 'send unicast to each receiver (rtpcast send --dest RECEIVER_IP:PORT); or enable an IGMP querier on the switch/router',
    });
  }
  // (4) the sender (unless its traffic was found elsewhere)
  const seenElsewhere = active.length > 0 || rtcpOnly.length > 0 || (i.rtcpPort?.datagrams ?? 0) > 0 || !!u?.groups.length || !!u?.announced.length;
  if (!seenElsewhere) f.push({
    id: `${ID}.sender-missing`, severity: 'problem',
    title: 'the sender is not running or sends elsewhere',
    detail: 'no packet reached this machine on the port, nearby ports or the usual RTP ports',
    fix: `on the sender: rtpcast send --dest THIS_HOST_IP:${i.port} --sdp stream.sdp (it prints where it sends); check THIS_HOST_IP with ip -br addr, and that both machines are on the same network`,
  });
  conclusion ??= 'the sender is not running or sends elsewhere';
  return { findings: f, conclusion };
}

function describePorts(ports: number[]): string {
  if (!ports.length) return 'none';
  const out: string[] = [];
  let start = ports[0];
  let prev = ports[0];
  for (const p of [...ports.slice(1), NaN]) {
    if (p === prev + 1) { prev = p; continue; }
    out.push(start === prev ? String(start) : `${start}-${prev}`);
    start = p;
    prev = p;
  }
  return out.join(', ');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** The first source of an SDP's a=source-filter: incl line (RFC 4570), if any (pure). */
export function sdpIncludedSource(sdp: string): string | undefined {
  const m = /^a=source-filter:\s*incl\s+IN\s+IP[46]\s+\S+\s+(\S+)/m.exec(sdp);
  return m ? m[1] : undefined;
}
