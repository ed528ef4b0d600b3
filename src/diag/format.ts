/**
 * `rtpcast diag format`: does the payload match what the SDP (or the flags) claim? (F4: the
 * "slowed-down sound with artifacts" of a sender/receiver format mismatch.)
 *
 * Measured from the traffic itself, never from the sender's word:
 * - sample rate: the RTP timestamp rate against the arrival rate (timestamp ticks per second of
 *   this machine's clock; a least-squares fit once 2 s have arrived) and, for L16, the payload bytes
 *   per second against claimed rate x channels x 2;
 * - channels: for L16, payload bytes per timestamp tick / 2 (exact, timing-free); both channels
 *   identical means mono sent as stereo; for Opus, the TOC's stereo flag;
 * - byte order: L16 is big-endian; little-endian PCM labelled L16 is told from the signal (the
 *   smoother reading wins, see classify.ts pcmEvidence).
 *
 * capture part: checkFormat listens (same socket code as diag packets); the analysis
 * (analyzeFormat and the check* functions) is pure and unit-tested on synthetic payloads.
 */
import type { RemoteInfo } from 'node:dgram';
import { parseSdpStream } from '../sdp/parse';
import { pcmEvidence, snapRate, type PcmEvidence } from './classify';
import { fmtAddr, normalizeAddress, PacketCounter, rateUncertainty, readRtpHeader, STATIC_PAYLOAD_TYPES, type PacketSnapshot, type RawPcmSummary, type RtpHeaderFields, type StreamSnapshot } from './counter';
import { BindError, openListener } from './listen';
import type { DiagReport, Finding } from './report';
import { fmtHz, playbackSpeed, rawPcmFinding } from './wording';

const ID = 'format';
/** relative rate error below which a rate is taken as confirmed */
export const RATE_TOLERANCE = 0.02;
/** payload bytes per second: relative error allowed (arrival timing of a short capture) */
export const BYTES_TOLERANCE = 0.03;

export interface FormatClaim {
  encoding: string;
  clockRate: number;
  channels: number;
  payloadType?: number;
  /** where the claim comes from, for the wording */
  from: 'sdp' | 'flags' | 'static payload type';
}

export interface OpusTocTally {
  packets: number;
  stereo: number;
  mono: number;
  /** TOC duration equal to the timestamp step */
  durationMatches: number;
  pairs: number;
}

/** What was observed of one stream (input of analyzeFormat). */
export interface FormatObservation {
  sender: string;
  ssrc: number;
  payloadType: number;
  packets: number;
  durationSec: number;
  /** RTP timestamp ticks per second of arrival time */
  tsRateHz: number | null;
  /** its relative standard error (rateUncertainty); the rate check allows 4 of them (default 0) */
  tsRateUncertainty?: number;
  /** payload bytes per second of arrival time */
  payloadBytesPerSec: number | null;
  /** most common timestamp step between consecutive sequence numbers */
  tsStep: number | null;
  /** most common payload size, bytes */
  payloadBytes: number | null;
  /** payloads of consecutive packets, concatenated (L16 signal analysis) */
  samples: Uint8Array | null;
  opus: OpusTocTally | null;
}

export interface FormatAnalysis {
  findings: Finding[];
  data: {
    claim: FormatClaim | null;
    measured: {
      tsRateHz: number | null;
      payloadBytesPerSec: number | null;
      channelsPerTick: number | null;
      byteOrder: PcmEvidence['byteOrder'] | null;
      identicalChannels: boolean | null;
      signalChannels: 1 | 2 | null;
    };
    pcm: PcmEvidence | null;
  };
}

/** The claim an SDP makes (first audio stream). */
export function claimFromSdp(text: string): FormatClaim {
  const s = parseSdpStream(text);
  return { encoding: s.encoding, clockRate: s.clockRate, channels: s.channels, payloadType: s.payloadType, from: 'sdp' };
}

/** Timestamp rate vs the claimed rate (pure). null when it cannot be measured. */
export function checkRate(tsRateHz: number | null, claim: FormatClaim, extra = '', uncertainty = 0): Finding | null {
  if (!tsRateHz) return null;
  if (!Number.isFinite(uncertainty)) return { id: `${ID}.rate`, severity: 'unknown', title: 'too few packets to measure the sample rate', fix: 'listen longer (--duration 5)' };
  const enc = claim.encoding.toLowerCase();
  const err = tsRateHz / claim.clockRate - 1;
  if (Math.abs(err) <= Math.max(RATE_TOLERANCE, 4 * uncertainty)) {
    return { id: `${ID}.rate`, severity: 'ok', title: `sample rate ${claim.clockRate} Hz confirmed: timestamps advance ${tsRateHz.toFixed(0)} per second${extra ? `; ${extra}` : ''}` };
  }
  const sender = snapRate(tsRateHz) ?? Math.round(tsRateHz);
  const sp = playbackSpeed(sender, claim.clockRate);
  return {
    id: `${ID}.rate`, severity: 'problem',
    title: `the sender is ${fmtHz(sender)} Hz, the receiver assumes ${claim.clockRate}: ${sp.text}`,
    detail: `RTP timestamps advance ${tsRateHz.toFixed(0)} per second of arrival time; the ${claim.from === 'sdp' ? 'SDP' : claim.from === 'flags' ? 'receiver\'s settings' : `static payload type ${claim.payloadType}`} say${claim.from === 'flags' ? '' : 's'} ${claim.clockRate} Hz.${extra ? ` ${extra}.` : ''}`,
    fix: enc === 'opus'
      ? 'Opus always uses a 48000 Hz RTP clock (RFC 7587): fix the sender\'s timestamps'
      : claim.from === 'static payload type'
        ? `payload type ${claim.payloadType} only means ${claim.encoding}/${claim.clockRate}: send ${fmtHz(sender)} Hz with a dynamic payload type and an SDP (rtpcast send --codec l16 --rate ${fmtHz(sender)} --sdp stream.sdp), or resample to ${claim.clockRate} (rtpcast send --rate ${claim.clockRate})`
        : `make them agree: use the SDP the sender wrote (rtpcast send ... --sdp stream.sdp writes a=rtpmap:PT L16/${fmtHz(sender)}/N), or send ${claim.clockRate} Hz (rtpcast send --codec l16 --rate ${claim.clockRate})`,
  };
}

/** L16: bytes per timestamp tick / 2 = channels actually carried (pure). */
export function checkL16Channels(tsStep: number | null, payloadBytes: number | null, claim: FormatClaim): { finding: Finding | null; channelsPerTick: number | null } {
  if (!tsStep || !payloadBytes) return { finding: null, channelsPerTick: null };
  const cpt = payloadBytes / (2 * tsStep);
  if (Math.abs(cpt - claim.channels) < 0.01) {
    return { channelsPerTick: cpt, finding: { id: `${ID}.channels`, severity: 'ok', title: `${claim.channels} channel(s) confirmed: ${payloadBytes} bytes per ${tsStep} timestamp ticks` } };
  }
  const whole = Number.isInteger(Math.round(cpt * 100) / 100) && cpt >= 1;
  if (!whole) {
    return {
      channelsPerTick: cpt,
      finding: {
        id: `${ID}.channels`, severity: 'problem',
        title: `payload and timestamps disagree: ${payloadBytes} bytes per packet but the timestamp advances ${tsStep} (${cpt.toFixed(2)} bytes/2 per tick)`,
        detail: `L16 carries 2 x channels bytes per timestamp tick; ${claim.channels} channel(s) would be ${2 * claim.channels * tsStep} bytes. The sender stamps its packets with a different rate than it samples at.`,
        fix: 'use a sender that writes consistent L16 (rtpcast send --codec l16)',
      },
    };
  }
  const actual = Math.round(cpt);
  const label = actual === 1 && claim.channels === 2 ? 'the stream is mono labelled stereo' : actual === 2 && claim.channels === 1 ? 'the stream is stereo labelled mono' : `the stream has ${actual} channels labelled ${claim.channels}`;
  const speed = claim.channels > actual
    ? `it plays ${claim.channels / actual === 2 ? 'at double speed' : `${(claim.channels / actual).toFixed(1)}x too fast`} (each pair of samples becomes one frame; the buffer runs dry: gaps)`
    : `it plays ${actual / claim.channels === 2 ? 'at half speed' : `${(actual / claim.channels).toFixed(1)}x too slow`} (the buffer overflows)`;
  return {
    channelsPerTick: cpt,
    finding: {
      id: `${ID}.channels`, severity: 'problem',
      title: `${label}: ${speed}`,
      detail: `${payloadBytes} bytes per packet for ${tsStep} timestamp ticks = ${actual} channel(s) of 16-bit samples; the ${claim.from === 'sdp' ? 'SDP' : 'receiver'} says ${claim.channels}.`,
      fix: claim.from === 'sdp' ? `send ${claim.channels} channel(s) (rtpcast send --channels ${claim.channels}) or use an SDP saying L16/${claim.clockRate}/${actual}` : `receive with --channels ${actual}`,
    },
  };
}

/** L16 payload bytes per second vs claimed rate x channels x 2 (pure). */
export function checkL16BytesPerSecond(bytesPerSec: number | null, claim: FormatClaim): { finding: Finding | null; impliedRateHz: number | null } {
  if (!bytesPerSec) return { finding: null, impliedRateHz: null };
  const want = claim.clockRate * claim.channels * 2;
  const implied = bytesPerSec / (2 * claim.channels);
  if (Math.abs(bytesPerSec / want - 1) <= BYTES_TOLERANCE) return { finding: null, impliedRateHz: implied };
  const senderRate = snapRate(implied) ?? Math.round(implied);
  const sp = playbackSpeed(senderRate, claim.clockRate);
  return {
    impliedRateHz: implied,
    finding: {
      id: `${ID}.bytes-per-second`, severity: 'problem',
      title: `the payload carries ${(bytesPerSec / 1000).toFixed(1)} kB/s, ${claim.clockRate} Hz x ${claim.channels} x 2 bytes would be ${(want / 1000).toFixed(1)} kB/s: ${sp.text}`,
      detail: `${bytesPerSec.toFixed(0)} bytes/s / (${claim.channels} channel(s) x 2 bytes) = ${implied.toFixed(0)} samples per second per channel`,
      fix: `make the sender and the ${claim.from === 'sdp' ? 'SDP' : 'receiver'} agree on rate and channels (rtpcast send --codec l16 --rate R --channels N --sdp stream.sdp writes a matching SDP)`,
    },
  };
}

/** L16 byte order and channel content from the signal (pure). `samples`: consecutive payloads. */
export function checkL16Signal(samples: Uint8Array | null, claim: FormatClaim): { findings: Finding[]; pcm: PcmEvidence | null } {
  if (!samples || samples.length < 64) return { findings: [], pcm: null };
  const pcm = pcmEvidence(samples);
  const f: Finding[] = [];
  if (pcm.silent) {
    f.push({ id: `${ID}.byte-order`, severity: 'info', title: 'the payload is digital silence: byte order and channels cannot be checked', fix: 'play something on the sender while the check runs' });
    return { findings: f, pcm };
  }
  if (pcm.byteOrder === 's16le') {
    f.push({
      id: `${ID}.byte-order`, severity: 'problem',
      title: 'the payload is little-endian PCM labelled L16 (L16 is big-endian): players will play loud noise',
      detail: `read as little-endian the samples are smooth (ratio ${pcm.ratioLe.toFixed(3)}), read as big-endian they are noise (ratio ${pcm.ratioBe.toFixed(3)}); decided by ${pcm.byteOrderBy}`,
      fix: 'the sender must swap bytes: rtpcast send --codec l16 does (give it s16le input with --format s16le); PulseAudio/PipeWire module-rtp-send: format=s16be',
    });
  } else if (pcm.byteOrder === 's16be') {
    f.push({ id: `${ID}.byte-order`, severity: 'ok', title: 'byte order: big-endian, as L16 requires', detail: `smoothness big-endian ${pcm.ratioBe.toFixed(3)} vs little-endian ${pcm.ratioLe.toFixed(3)} (${pcm.byteOrderBy})` });
  } else {
    f.push({ id: `${ID}.byte-order`, severity: 'info', title: 'byte order could not be told from the signal (noise-like audio)', detail: `smoothness big-endian ${pcm.ratioBe.toFixed(3)}, little-endian ${pcm.ratioLe.toFixed(3)}` });
  }
  if (claim.channels === 2 && pcm.byteOrder !== 's16le') {
    // channel content in the declared (big-endian) reading
    const be = pcm.byteOrder === 's16be' ? pcm : pcmEvidence(samples);
    if (be.identicalChannels) {
      f.push({
        id: `${ID}.mono-as-stereo`, severity: 'warn',
        title: 'both channels are identical: the stream is mono labelled stereo',
        detail: 'every left sample equals its right sample: half the bandwidth carries nothing',
        fix: 'if the source is mono, send mono (rtpcast send --channels 1); if it should be stereo, check the capture device\'s channel map',
      });
    }
  }
  return { findings: f, pcm };
}

/** Opus: TOC durations and stereo flag (pure). */
export function checkOpus(t: OpusTocTally | null, claim: FormatClaim): Finding[] {
  const f: Finding[] = [];
  if (claim.clockRate !== 48000) {
    f.push({ id: `${ID}.opus-clock`, severity: 'problem', title: `the SDP gives Opus a ${claim.clockRate} Hz clock: RFC 7587 requires opus/48000/2`, fix: 'write a=rtpmap:PT opus/48000/2 whatever the input rate (rtpcast send does)' });
  }
  if (!t || t.packets === 0) return f;
  if (t.pairs >= 4 && t.durationMatches < t.pairs * 0.8) {
    f.push({ id: `${ID}.codec`, severity: 'problem', title: `the payload does not look like Opus: the TOC durations match the timestamp steps in only ${t.durationMatches} of ${t.pairs} packets`, fix: 'check the payload type: the SDP may describe another codec than the sender sends' });
  }
  if (claim.channels === 2 && t.stereo === 0) {
    f.push({ id: `${ID}.opus-channels`, severity: 'info', title: 'the SDP says stereo but every Opus packet is coded mono (TOC stereo flag clear)', detail: 'plays fine (the decoder duplicates it); the sender encodes mono or its input is mono' });
  } else if (claim.channels === 1 && t.stereo > 0) {
    f.push({ id: `${ID}.opus-channels`, severity: 'info', title: `${t.stereo} of ${t.packets} Opus packets are coded stereo, the SDP does not say stereo=1`, detail: 'receivers following the SDP downmix to mono (RFC 7587 allows it)', fix: 'add a=fmtp:PT stereo=1; sprop-stereo=1 to the SDP if stereo is wanted' });
  } else {
    f.push({ id: `${ID}.opus-channels`, severity: 'ok', title: `Opus packets coded ${t.stereo ? 'stereo' : 'mono'}, as the SDP says` });
  }
  return f;
}

/** Everything above for one observed stream against the claim (pure). */
export function analyzeFormat(obs: FormatObservation, claim: FormatClaim | null): FormatAnalysis {
  const f: Finding[] = [];
  const measured: FormatAnalysis['data']['measured'] = {
    tsRateHz: obs.tsRateHz, payloadBytesPerSec: obs.payloadBytesPerSec, channelsPerTick: null, byteOrder: null, identicalChannels: null, signalChannels: null,
  };
  let pcm: PcmEvidence | null = null;
  f.push({
    id: `${ID}.stream`, severity: 'ok',
    title: `${obs.sender} SSRC 0x${obs.ssrc.toString(16).padStart(8, '0')} PT ${obs.payloadType}: ${obs.packets} packets in ${obs.durationSec.toFixed(1)} s`,
    detail: `timestamp rate ${obs.tsRateHz?.toFixed(0) ?? '?'} /s; payload ${obs.payloadBytesPerSec ? (obs.payloadBytesPerSec / 1000).toFixed(1) : '?'} kB/s; timestamp step ${obs.tsStep ?? '?'}; payload ${obs.payloadBytes ?? '?'} bytes`,
  });
  if (!claim) {
    f.push({ id: `${ID}.no-claim`, severity: 'unknown', title: `payload type ${obs.payloadType} is dynamic and no SDP was given: nothing to compare with`, fix: 'give the SDP the receiver uses: rtpcast diag format --sdp stream.sdp (or --codec/--rate/--channels)' });
    return { findings: f, data: { claim, measured, pcm } };
  }
  if (claim.payloadType !== undefined && claim.payloadType !== obs.payloadType) {
    f.push({
      id: `${ID}.payload-type`, severity: 'problem',
      title: `the sender uses payload type ${obs.payloadType}, the ${claim.from === 'sdp' ? 'SDP' : 'receiver'} expects ${claim.payloadType}: receivers drop every packet`,
      fix: `use the sender's SDP, or make it send PT ${claim.payloadType} (rtpcast send --pt ${claim.payloadType})`,
    });
  }
  const enc = claim.encoding.toLowerCase();
  if (enc === 'l16') {
    const bytes = checkL16BytesPerSecond(obs.payloadBytesPerSec, claim);
    const rateExtra = obs.payloadBytesPerSec ? `payload ${(obs.payloadBytesPerSec / 1000).toFixed(1)} kB/s = ${(obs.payloadBytesPerSec / (2 * claim.channels)).toFixed(0)} Hz x ${claim.channels} channel(s) x 2 bytes` : '';
    const rate = checkRate(obs.tsRateHz, claim, rateExtra, obs.tsRateUncertainty);
    const ch = checkL16Channels(obs.tsStep, obs.payloadBytes, claim);
    measured.channelsPerTick = ch.channelsPerTick;
    if (rate) f.push(rate);
    if (ch.finding) f.push(ch.finding);
    // bytes/s only adds something when timestamps and channels look right
    const explained = rate?.severity === 'problem' || ch.finding?.severity === 'problem';
    if (bytes.finding && !explained) f.push(bytes.finding);
    if (!obs.tsRateHz && !obs.payloadBytesPerSec) f.push({ id: `${ID}.rate`, severity: 'unknown', title: 'too few packets to measure the rate', fix: 'listen longer (--duration 5)' });
    const sig = checkL16Signal(obs.samples, claim);
    pcm = sig.pcm;
    f.push(...sig.findings);
  } else if (enc === 'opus') {
    const rate = checkRate(obs.tsRateHz, { ...claim, clockRate: 48000 }, '', obs.tsRateUncertainty);
    if (rate) f.push(rate);
    f.push(...checkOpus(obs.opus, claim));
  } else {
    const rate = checkRate(obs.tsRateHz, claim, '', obs.tsRateUncertainty);
    if (rate) f.push(rate);
  }
  if (pcm) {
    measured.byteOrder = pcm.byteOrder;
    measured.identicalChannels = pcm.identicalChannels;
    measured.signalChannels = pcm.channels;
  }
  return { findings: f, data: { claim, measured, pcm } };
}

// ---------------------------------------------------------------------------------------------
// Capture

export interface CheckFormatOptions {
  port: number;
  durationSec: number;
  /** the SDP text the receiver uses */
  sdp?: string;
  /** or the receiver's settings */
  expect?: { codec: string; rate: number; channels: number; payloadType?: number };
  bind?: string;
  group?: string;
  source?: string;
  signal?: AbortSignal;
}

const MAX_SAMPLE_BYTES = 256 * 1024;

/** Per (sender, SSRC): the first payloads in order, modal steps and sizes, Opus TOC tallies. */
export class FormatSampler {
  private readonly h: RtpHeaderFields = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadBytes: 0 };
  private readonly keys = new Map<string, {
    chunks: Buffer[]; bytes: number; lastSeq: number; lastTs: number; steps: Map<number, number>; sizes: Map<number, number>;
    opus: OpusTocTally; lastSamples: number; open: boolean;
  }>();

  add(buf: Buffer, r: { address: string; port: number }): void {
    const h = this.h;
    if (readRtpHeader(buf, h) !== -1) return;
    const key = `${normalizeAddress(r.address)}|${r.port}|${h.ssrc}`;
    let k = this.keys.get(key);
    if (!k) {
      if (this.keys.size >= 8) return;
      k = { chunks: [], bytes: 0, lastSeq: -2, lastTs: 0, steps: new Map(), sizes: new Map(), opus: { packets: 0, stereo: 0, mono: 0, durationMatches: 0, pairs: 0 }, lastSamples: 0, open: true };
      this.keys.set(key, k);
    }
    const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadBytes);
    const consecutive = h.sequence === ((k.lastSeq + 1) & 0xffff);
    if (consecutive) {
      const step = (h.timestamp - k.lastTs) | 0;
      if (step > 0) {
        if (k.steps.size < 64 || k.steps.has(step)) k.steps.set(step, (k.steps.get(step) ?? 0) + 1);
        k.opus.pairs++;
        if (k.lastSamples === step) k.opus.durationMatches++;
      }
    }
    if (k.sizes.size < 64 || k.sizes.has(h.payloadBytes)) k.sizes.set(h.payloadBytes, (k.sizes.get(h.payloadBytes) ?? 0) + 1);
    const toc = payload[0];
    k.opus.packets++;
    if (toc & 0x04) k.opus.stereo++;
    else k.opus.mono++;
    k.lastSamples = opusSamples(payload);
    // consecutive payloads only (a gap would be a discontinuity in the signal analysis)
    if (k.open && (k.chunks.length === 0 || consecutive)) {
      if (k.bytes + payload.length <= MAX_SAMPLE_BYTES) {
        k.chunks.push(Buffer.from(payload));
        k.bytes += payload.length;
      } else k.open = false;
    } else if (k.chunks.length) k.open = false;
    k.lastSeq = h.sequence;
    k.lastTs = h.timestamp;
  }

  get(address: string, port: number, ssrc: number): { samples: Uint8Array | null; tsStep: number | null; payloadBytes: number | null; opus: OpusTocTally } | null {
    const k = this.keys.get(`${address}|${port}|${ssrc}`);
    if (!k) return null;
    const mode = (m: Map<number, number>) => {
      let best: number | null = null;
      let n = 0;
      for (const [v, c] of m) if (c > n) { n = c; best = v; }
      return best;
    };
    return { samples: k.bytes ? Buffer.concat(k.chunks) : null, tsStep: mode(k.steps), payloadBytes: mode(k.sizes), opus: k.opus };
  }
}

function opusSamples(p: Uint8Array): number {
  if (!p.length) return 0;
  const toc = p[0];
  const config = toc >> 3;
  const frame = config < 12 ? [480, 960, 1920, 2880][config & 3] : config < 16 ? [480, 960][config & 1] : [120, 240, 480, 960][config & 3];
  const code = toc & 3;
  const count = code === 0 ? 1 : code < 3 ? 2 : p.length > 1 ? p[1] & 0x3f : 0;
  return count * frame;
}

/** The observation for one stream of a PacketCounter snapshot plus the sampler's data. */
export function observe(st: StreamSnapshot, sampler: FormatSampler): FormatObservation {
  const s = sampler.get(st.address, st.port, st.ssrc);
  const x = st.stats;
  return {
    sender: st.sender, ssrc: st.ssrc, payloadType: st.payloadType, packets: x.packets, durationSec: x.durationSec,
    tsRateHz: st.estimatedRateHz,
    tsRateUncertainty: rateUncertainty(x, st.delaySpreadMs),
    payloadBytesPerSec: x.durationSec > 0.2 ? (x.bitrateKbps * 1000) / 8 : null,
    tsStep: s?.tsStep ?? null, payloadBytes: s?.payloadBytes ?? null, samples: s?.samples ?? null, opus: s?.opus ?? null,
  };
}

/** Listen and compare (check 'format'). */
export async function checkFormat(o: CheckFormatOptions): Promise<DiagReport> {
  const findings: Finding[] = [];
  let claim: FormatClaim | null = null;
  if (o.sdp) {
    try {
      claim = claimFromSdp(o.sdp);
    } catch (e) {
      findings.push({ id: `${ID}.sdp-unreadable`, severity: 'problem', title: 'the SDP cannot be read, so a receiver cannot use it either', detail: (e as Error).message, fix: 'rtpcast diag sdp FILE explains what is wrong with it' });
    }
  }
  if (o.expect) {
    claim = {
      encoding: o.expect.codec.toLowerCase() === 'l16' ? 'L16' : o.expect.codec,
      clockRate: o.expect.rate,
      channels: o.expect.channels,
      payloadType: o.expect.payloadType ?? claim?.payloadType,
      from: 'flags',
    };
  }
  const payloadTypes = claim && claim.payloadType !== undefined ? { [claim.payloadType]: { encoding: claim.encoding, clockRate: claim.clockRate, channels: claim.channels } } : undefined;
  const counter = new PacketCounter({ payloadTypes, source: o.group ? undefined : o.source });
  const sampler = new FormatSampler();
  let l;
  try {
    l = await openListener({ port: o.port, bind: o.bind, group: o.group, source: o.source }, (msg: Buffer, r: RemoteInfo) => {
      counter.add(msg, r, process.hrtime.bigint());
      sampler.add(msg, r);
    });
  } catch (e) {
    const busy = e instanceof BindError && e.code === 'EADDRINUSE';
    findings.push({ id: `${ID}.${busy ? 'port-busy' : 'listen-failed'}`, severity: busy ? 'problem' : 'unknown', title: `cannot listen on UDP port ${o.port}`, detail: (e as Error).message, fix: busy ? `see which program holds it: rtpcast diag ports ${o.port}` : 'check --bind and --port' });
    return { check: ID, findings };
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
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
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
    await l.close();
  }
  const snap = counter.snapshot({ finish: true });
  return { check: ID, ...formatReport(snap, sampler, claim, o.port, findings) };
}

/** Findings from a finished capture (pure apart from reading the sampler). */
export function formatReport(snap: PacketSnapshot, sampler: FormatSampler, claimIn: FormatClaim | null, port: number, pre: Finding[] = []): { findings: Finding[]; data: unknown; conclusion?: string } {
  const findings = [...pre];
  const raw = snap.senders.filter((s) => s.kind === 'raw-pcm' && s.rawPcm);
  for (const s of raw) findings.push(rawPcmFinding(`${fmtAddr(s.address)}:${s.port}`, s.rawPcm as RawPcmSummary, ID, port));
  const st = snap.streams.find((x) => claimIn?.payloadType === undefined || x.payloadType === claimIn.payloadType) ?? snap.streams[0];
  if (!st) {
    if (!raw.length) {
      findings.push({
        id: `${ID}.none`, severity: 'problem', title: `no RTP arrived on UDP port ${port}: nothing to check`,
        fix: `rtpcast diag packets --port ${port} finds out why`,
      });
    }
    const conclusion = findings.find((f) => f.severity === 'problem')?.title;
    return { findings, data: { snapshot: snap }, ...(conclusion ? { conclusion } : {}) };
  }
  let claim = claimIn;
  if (!claim && STATIC_PAYLOAD_TYPES[st.payloadType]) {
    const s = STATIC_PAYLOAD_TYPES[st.payloadType];
    claim = { encoding: s.encoding, clockRate: s.clockRate, channels: s.channels, payloadType: st.payloadType, from: 'static payload type' };
  }
  const obs = observe(st, sampler);
  const a = analyzeFormat(obs, claim);
  findings.push(...a.findings);
  const conclusion = findings.find((f) => f.severity === 'problem')?.title;
  const { samples, ...obsData } = obs;
  return { findings, data: { observation: { ...obsData, sampledBytes: samples?.length ?? 0 }, ...a.data, snapshot: snap }, ...(conclusion ? { conclusion } : {}) };
}
