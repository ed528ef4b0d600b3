import { usageError } from '../errors';
import type { Destination } from '../transport/destination';

/**
 * The one stream description: the sender, the SDP writer, the player and diag all read this type.
 * Nothing else decides payload type, clock rate, packet size or channel count.
 */
export type CodecName = 'l16' | 'opus';

export interface StreamDescription {
  codec: CodecName;
  /** RTP payload type: 10/11 for L16 44.1 kHz stereo/mono (RFC 3551), dynamic (96-127) otherwise */
  payloadType: number;
  /** RTP timestamp clock (L16: the sample rate; Opus: always 48000, RFC 7587) */
  clockRate: number;
  /** sample rate of the audio that is encoded */
  sampleRate: number;
  channels: number;
  /** samples per channel in one packet */
  frameSamples: number;
  /** packet duration in ms as written in a=ptime (frameSamples / sampleRate, rounded to 0.1 ms) */
  ptimeMs: number;
  /** Opus only: target bitrate in bit/s and whether in-band FEC is on */
  bitrate?: number;
  fec?: boolean;
  destinations: Destination[];
  /** multicast TTL (hops); written into the SDP's c= line for IPv4 multicast */
  ttl: number;
  /** session name (SDP s=) */
  name: string;
}

export interface StreamOptions {
  codec?: string;
  rate?: number;
  channels?: number;
  ptime?: number;
  payloadType?: number;
  bitrate?: number;
  fec?: boolean;
  mtu?: number;
  ttl?: number;
  name?: string;
}

export const DEFAULT_MTU = 1500;
/** IPv6 header (40, larger than IPv4's 20) + UDP (8) + RTP fixed header (12). */
export const PACKET_OVERHEAD = 40 + 8 + 12;
export const DYNAMIC_PT = 96;
export const L16_RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000];
export const OPUS_PTIMES = [2.5, 5, 10, 20, 40, 60, 80, 100, 120];

/** Bytes of one packet's payload: exact for L16; the worst case (1275 bytes per Opus frame, RFC 6716) scaled by bitrate for Opus. */
export function maxPayloadBytes(d: Pick<StreamDescription, 'codec' | 'frameSamples' | 'channels' | 'bitrate' | 'sampleRate'>): number {
  if (d.codec === 'l16') return d.frameSamples * d.channels * 2;
  // CBR-ish upper bound with VBR headroom: bitrate * duration, doubled, plus TOC bytes.
  const seconds = d.frameSamples / d.sampleRate;
  return Math.ceil(((d.bitrate ?? 128000) * seconds) / 8) * 2 + 3;
}

/**
 * Builds and validates a stream description. Pure: every refusal names the rule and the fix.
 */
export function describeStream(o: StreamOptions, destinations: Destination[]): StreamDescription {
  const codec = (o.codec ?? 'opus').toLowerCase();
  if (codec !== 'l16' && codec !== 'opus') {
    throw usageError(`unknown codec "${o.codec}"`, 'use --codec l16 (uncompressed, any player) or --codec opus (compressed, robust on Wi-Fi)');
  }
  const channels = o.channels ?? 2;
  if (!Number.isInteger(channels) || channels < 1) throw usageError(`--channels ${o.channels} is not a channel count`, 'use --channels 1 or 2');
  const mtu = o.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw usageError(`--mtu ${o.mtu} is out of range`, 'use 1500 for Ethernet/Wi-Fi, 1280 to be safe on any IPv6 path');
  const maxPayload = mtu - PACKET_OVERHEAD;
  const ttl = o.ttl ?? 1;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw usageError(`--ttl ${o.ttl} is out of range`, 'use 1 (this LAN segment) up to 255');
  const name = o.name ?? 'rtpcast';

  if (codec === 'opus') {
    const sampleRate = 48000;
    if (o.rate !== undefined && o.rate !== 48000) {
      throw usageError(
        `Opus over RTP always runs a 48000 Hz clock (RFC 7587); --rate ${o.rate} cannot be sent`,
        'leave out --rate (rtpcast resamples the source to 48000), or use --codec l16 --rate ' + o.rate + '; to describe raw PCM on stdin use --input-rate',
      );
    }
    if (channels > 2) throw usageError(`Opus over RTP carries 1 or 2 channels, not ${channels}`, 'use --channels 2, or --codec l16 for more channels');
    const ptime = o.ptime ?? 20;
    if (!OPUS_PTIMES.includes(ptime)) throw usageError(`--ptime ${ptime} is not an Opus frame duration`, `use one of ${OPUS_PTIMES.join(', ')} ms (20 is the usual choice)`);
    const bitrate = o.bitrate ?? (channels === 2 ? 128000 : 64000);
    if (!Number.isFinite(bitrate) || bitrate < 6000 || bitrate > 510000) throw usageError(`--bitrate ${bitrate} is out of Opus's range`, 'use 6000 to 510000 bit/s, e.g. --bitrate 128k for music in stereo');
    const frameSamples = (sampleRate * ptime) / 1000;
    const d: StreamDescription = {
      codec: 'opus', payloadType: checkPt(o.payloadType ?? DYNAMIC_PT, false), clockRate: 48000, sampleRate, channels,
      frameSamples, ptimeMs: ptime, bitrate, fec: o.fec ?? true, destinations, ttl, name,
    };
    if (maxPayloadBytes(d) > maxPayload && ptime > 20) {
      throw usageError(`Opus at ${bitrate} bit/s with ${ptime} ms packets can exceed the ${mtu}-byte MTU`, 'use --ptime 20 or a lower --bitrate');
    }
    return d;
  }

  const sampleRate = o.rate ?? 48000;
  if (!L16_RATES.includes(sampleRate)) throw usageError(`L16 at ${o.rate} Hz is not supported`, `use one of ${L16_RATES.join(', ')} Hz`);
  if (channels > 8) throw usageError(`L16 with ${channels} channels is not supported`, 'use 1 to 8 channels');
  const bytesPerMs = (sampleRate * channels * 2) / 1000;
  const maxPtime = Math.floor((maxPayload / bytesPerMs) * 10) / 10;
  const ptime = o.ptime ?? Math.min(5, maxPtime);
  if (!(ptime > 0)) throw usageError(`--ptime ${o.ptime} must be a positive number of milliseconds`);
  const frameSamples = Math.round((sampleRate * ptime) / 1000);
  if (frameSamples < 1) throw usageError(`--ptime ${ptime} ms is shorter than one sample at ${sampleRate} Hz`);
  const bytes = frameSamples * channels * 2;
  if (bytes > maxPayload) {
    throw usageError(
      `L16 ${sampleRate} Hz ${channels} ch with ${ptime} ms packets makes ${bytes}-byte payloads, more than fits a ${mtu}-byte MTU (${maxPayload} bytes after IP/UDP/RTP headers); IP fragments are lost whole on Wi-Fi`,
      `use --ptime ${maxPtime} or less (or a larger --mtu only if every link on the path carries it)`,
    );
  }
  const staticPt = sampleRate === 44100 && channels === 2 ? 10 : sampleRate === 44100 && channels === 1 ? 11 : undefined;
  const payloadType = o.payloadType ?? staticPt ?? DYNAMIC_PT;
  if (o.payloadType !== undefined && o.payloadType !== staticPt) checkPt(o.payloadType, true);
  return {
    codec: 'l16', payloadType, clockRate: sampleRate, sampleRate, channels, frameSamples,
    ptimeMs: Math.round((frameSamples / sampleRate) * 10000) / 10, destinations, ttl, name,
  };
}

function checkPt(pt: number, l16: boolean): number {
  if (!Number.isInteger(pt) || pt < 96 || pt > 127) {
    throw usageError(
      `payload type ${pt} is not a dynamic payload type`,
      l16 ? 'static payload types are only 10 (L16/44100/2) and 11 (L16/44100/1); use 96-127 otherwise' : 'use a payload type from 96 to 127',
    );
  }
  return pt;
}

/** Human summary: "L16 48000 Hz stereo, 5 ms packets (PT 96)". */
export function describeFormat(d: StreamDescription): string {
  const ch = d.channels === 1 ? 'mono' : d.channels === 2 ? 'stereo' : `${d.channels} ch`;
  const codec = d.codec === 'opus' ? `Opus ${Math.round((d.bitrate ?? 0) / 1000)} kb/s${d.fec ? ' +FEC' : ''}` : 'L16';
  return `${codec} ${d.sampleRate} Hz ${ch}, ${d.ptimeMs} ms packets (PT ${d.payloadType})`;
}
