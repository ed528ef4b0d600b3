/**
 * Listening-quality ESTIMATE from network measurements: a simplified E-model (ITU-T G.107), the
 * form commonly used by VoIP monitors that only see packets (e.g. RFC 3611 4.7 "R factor" / "MOS"
 * fields are filled this way):
 *
 *   R      = 93.2 - Id - Ie_eff
 *   Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)                  (G.107 7.3, Ppl in %)
 *   Id     = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)                      (d = one-way delay, ms)
 *   MOS    = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), clamped to [1, 4.5]  (G.107 Annex B)
 *
 * It is an estimate, never a measurement of what a listener hears: it knows nothing about the
 * signal, the concealment actually used, echo or the room. The result is always labelled so.
 */

export type QualityCodec = 'l16' | 'opus' | 'other';

export interface QualityInput {
  /** Packet loss in percent (0-100) as seen by the decoder. Out-of-range values are clamped. */
  lossPct: number;
  /**
   * G.107 BurstR: 1 for random loss, > 1 for bursty loss (= 1/(p+q) of a 2-state Markov model;
   * RtpStreamStats reports it as `burst.burstR`). Values below 1 are taken as 1. Default 1.
   */
  burstR?: number;
  /**
   * RFC 3611 burst density (fraction 0-1). Accepted so that callers holding only RFC 3611 metrics
   * can pass them, but it does NOT change the result: the E-model's burst term needs BurstR, which
   * burst density alone does not determine. Pass `burstR`.
   */
  burstDensity?: number;
  /** Interarrival jitter (RFC 3550 A.8) in ms; sizes the assumed jitter buffer. */
  jitterMs: number;
  codec: QualityCodec;
  /**
   * Total one-way (mouth-to-ear) delay in ms when known. When absent it is estimated as
   * DEFAULT_BASE_DELAY_MS + JITTER_BUFFER_FACTOR * jitterMs (one packet + a jitter buffer).
   */
  oneWayDelayMs?: number;
}

export interface QualityEstimate {
  rFactor: number;
  mos: number;
  label: 'estimate';
}

/**
 * R with every G.107 parameter at its default value (G.107 section 7: "the default values ...
 * result in a very high quality with a rating factor of R = 93.2"): Ro - Is - Id(0) - Ie(0) + A(0).
 */
export const R_DEFAULT = 93.2;

/** Upper bound of Ie_eff for 100 % loss (the "95" in G.107 equation 7-29). */
const IE_EFF_CEILING = 95;

/**
 * Codec impairment Ie and packet-loss robustness Bpl (both G.107/G.113 quantities, narrowband
 * scale).
 * - l16: uncompressed linear PCM adds no coding distortion, like G.711 (G.113 Appendix I: G.711
 *   Ie = 0). rtpcast's player conceals lost packets only crudely, so Bpl is G.113 Appendix I's
 *   value for G.711 WITHOUT packet-loss concealment under random loss: 4.3.
 * - opus: not tabulated by the ITU. Opus ranges over roughly Ie 0-11 on this scale depending on
 *   bitrate (lower Ie at higher bitrate); rtpcast sends 64-128 kb/s, so we fix Ie = 5 (a mid value,
 *   an rtpcast assumption). Opus always has PLC and optionally in-band FEC; we take Bpl = 25, within
 *   the 20-30 range of codecs with good concealment (G.113 Appendix I: G.711 with Appendix I PLC
 *   25.1, G.729A 19.0).
 * - other: an unknown codec is assumed to behave like G.729A + VAD (G.113 Appendix I: Ie = 11,
 *   Bpl = 19), a conservative middle of the table.
 */
export const CODEC_IMPAIRMENT: Readonly<Record<QualityCodec, { ie: number; bpl: number }>> = {
  l16: { ie: 0, bpl: 4.3 },
  opus: { ie: 5, bpl: 25 },
  other: { ie: 11, bpl: 19 },
};

/** Assumed one-way delay without jitter: one 20 ms packet of packetization (rtpcast's default ptime). */
export const DEFAULT_BASE_DELAY_MS = 20;
/** Assumed jitter buffer depth, in multiples of the measured interarrival jitter. */
export const JITTER_BUFFER_FACTOR = 2;

/**
 * Delay impairment Id for a one-way delay d (ms), echo-free: the linear approximation of G.107's
 * Idd by R. G. Cole and J. H. Rosenbluth, "Voice over IP performance monitoring", ACM SIGCOMM CCR
 * 31(2), 2001: Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3), H = unit step.
 */
export function delayImpairment(d: number): number {
  const ms = Math.max(0, d);
  return 0.024 * ms + (ms > 177.3 ? 0.11 * (ms - 177.3) : 0);
}

/** Effective equipment impairment (G.107 7.3, equation 7-29). lossPct in percent. */
export function effectiveEquipmentImpairment(ie: number, bpl: number, lossPct: number, burstR = 1): number {
  const ppl = clamp(lossPct, 0, 100);
  const br = Math.max(1, Number.isFinite(burstR) ? burstR : 1);
  if (ppl === 0) return ie;
  return ie + ((IE_EFF_CEILING - ie) * ppl) / (ppl / br + bpl);
}

/** MOS (conversational quality estimate) from R: G.107 Annex B, B.4. */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return clamp(mos, 1, 4.5);
}

/** Simplified E-model estimate (see the top of this file). rFactor is clamped to [0, 100]. */
export function estimateQuality(o: QualityInput): QualityEstimate {
  const { ie, bpl } = CODEC_IMPAIRMENT[o.codec] ?? CODEC_IMPAIRMENT.other;
  const jitter = Number.isFinite(o.jitterMs) ? Math.max(0, o.jitterMs) : 0;
  const delay = o.oneWayDelayMs !== undefined && Number.isFinite(o.oneWayDelayMs)
    ? o.oneWayDelayMs
    : DEFAULT_BASE_DELAY_MS + JITTER_BUFFER_FACTOR * jitter;
  const loss = Number.isFinite(o.lossPct) ? o.lossPct : 0;
  const r = R_DEFAULT - delayImpairment(delay) - effectiveEquipmentImpairment(ie, bpl, loss, o.burstR ?? 1);
  const rFactor = clamp(r, 0, 100);
  return { rFactor, mos: mosFromR(rFactor), label: 'estimate' };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
