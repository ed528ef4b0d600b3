/**
 * From measured jitter and loss: the playout latency to give `rtpcast play --latency`, and whether
 * Opus in-band FEC would help (pure).
 *
 * Latency: the same budget the adaptive player (src/player/player.ts targetMs) aims for,
 *   network part + one packet + one output block (10 ms) + 2 ms, at least 10 ms, rounded up to 5 ms,
 * where the network part is the measured spread of the relative one-way delay (95th percentile minus
 * minimum, as the player's DelayTracker measures it) when PacketCounter measured it, else
 * 4 x the RFC 3550 jitter (for uniformly distributed delay p95 - min = 2.85 J, for normally
 * distributed delay about 3.7 J: 4 J covers both).
 *
 * FEC: Opus in-band FEC carries a low-bitrate copy of each frame in the NEXT packet, so a lost packet
 * is rebuilt only when the packet after it arrives: it rebuilds the last packet of every loss run.
 * With the Gilbert model behind RtpStreamStats' BurstR (= 1/(p+q), q = P(lost -> received)), the
 * share of losses FEC rebuilds is q = (1 - loss) / BurstR. FEC "helps" when loss is above 0.5% and
 * at least half the losses are rebuildable (mostly isolated); with bursts it rebuilds little.
 */
import type { StreamStats } from '../rtp/stats';
import type { Finding } from './report';

export interface LatencyAdvice {
  /** the value for `rtpcast play --latency` */
  latencyMs: number;
  /** the network part of it, ms */
  networkMs: number;
  basis: 'delay-spread' | 'jitter';
  why: string;
  /** loss > 0.5% and most losses isolated */
  fecHelps: boolean;
  /** estimated share (0-1) of lost packets FEC would rebuild: (1 - loss) / BurstR */
  fecRecoverable: number;
  /** mean loss run, packets (1 = isolated losses) */
  meanLossRun: number;
  lossPct: number;
  findings: Finding[];
}

export interface LatencyOptions {
  /** packet duration, ms */
  packetMs: number;
  /** 'opus', 'l16' or anything else */
  codec: string;
  /** measured p95 - min of the relative delay (PacketCounter's delaySpreadMs), when known */
  delaySpreadMs?: number | null;
  /** output block, ms (default 10: a typical sound card period) */
  blockMs?: number;
}

export const FEC_MIN_LOSS_PCT = 0.5;
const MIN_LATENCY_MS = 10;
const LARGE_LATENCY_MS = 150;

export function recommendLatency(stats: StreamStats, o: LatencyOptions): LatencyAdvice {
  const packetMs = Number.isFinite(o.packetMs) && o.packetMs > 0 ? o.packetMs : 20;
  const blockMs = o.blockMs ?? 10;
  const jitterMs = Number.isFinite(stats.jitterMs) ? stats.jitterMs : 0;
  const spread = o.delaySpreadMs;
  const basis: LatencyAdvice['basis'] = spread !== undefined && spread !== null && Number.isFinite(spread) ? 'delay-spread' : 'jitter';
  const networkMs = basis === 'delay-spread' ? Math.max(0, spread!) : 4 * jitterMs;
  const raw = Math.max(MIN_LATENCY_MS, networkMs + packetMs + blockMs + 2);
  const latencyMs = Math.ceil(raw / 5) * 5;
  const netText = basis === 'delay-spread'
    ? `network delay spread (95th percentile - minimum) ${networkMs.toFixed(1)} ms`
    : `4 x the RFC 3550 jitter (${jitterMs.toFixed(1)} ms) = ${networkMs.toFixed(1)} ms`;
  const why = `${netText} + one packet ${fmt(packetMs)} ms + output block ${fmt(blockMs)} ms + 2 ms margin = ${raw.toFixed(1)} ms, rounded up to ${latencyMs} ms`;

  const loss = Math.max(0, Math.min(100, stats.lostPct)) / 100;
  const lossPct = loss * 100;
  const burstR = Math.max(1, Number.isFinite(stats.burst.burstR) ? stats.burst.burstR : 1);
  const fecRecoverable = loss > 0 ? Math.max(0, Math.min(1, (1 - loss) / burstR)) : 0;
  const meanLossRun = loss > 0 && fecRecoverable > 0 ? 1 / fecRecoverable : 1;
  const fecHelps = lossPct > FEC_MIN_LOSS_PCT && fecRecoverable >= 0.5;
  const codec = o.codec.toLowerCase();

  const findings: Finding[] = [];
  findings.push({
    id: 'jitter.latency',
    severity: latencyMs > LARGE_LATENCY_MS ? 'warn' : 'info',
    title: `recommended playout latency: ${latencyMs} ms (rtpcast play --latency ${latencyMs})`,
    detail: `${why}. RFC 3550 jitter ${jitterMs.toFixed(2)} ms (max ${stats.maxJitterMs.toFixed(2)} ms). Without --latency rtpcast play adapts to about this by itself; other players need a buffer at least this deep.`,
    ...(latencyMs > LARGE_LATENCY_MS ? { fix: 'the network delays packets very unevenly: use a wired connection, or a less busy Wi-Fi channel, before raising the latency further' } : {}),
  });
  const lossText = `${lossPct.toFixed(2)}% loss, about ${(fecRecoverable * 100).toFixed(0)}% of it in isolated single-packet losses (mean loss run ${meanLossRun.toFixed(1)} packets, BurstR ${burstR.toFixed(2)})`;
  if (lossPct <= FEC_MIN_LOSS_PCT) {
    findings.push({ id: 'jitter.fec', severity: 'ok', title: `loss ${lossPct.toFixed(2)}%: forward error correction is not needed` });
  } else if (fecHelps) {
    if (codec === 'opus') {
      findings.push({
        id: 'jitter.fec', severity: 'info',
        title: `Opus FEC would rebuild about ${(fecRecoverable * 100).toFixed(0)}% of the lost packets: keep it on`,
        detail: `${lossText}. FEC rebuilds a lost packet from the next one, so isolated losses are what it repairs.`,
        fix: 'rtpcast send uses Opus in-band FEC by default (do not pass --no-fec); other senders: enable useinbandfec=1 and tell the encoder the expected loss',
      });
    } else {
      findings.push({
        id: 'jitter.fec', severity: 'warn',
        title: `${lossPct.toFixed(1)}% loss, mostly isolated: ${codec === 'l16' ? 'L16 has no FEC' : 'this codec has no FEC'}; Opus with FEC would rebuild about ${(fecRecoverable * 100).toFixed(0)}% of it`,
        detail: lossText,
        fix: 'rtpcast send --codec opus   (in-band FEC is on by default)',
      });
    }
  } else {
    findings.push({
      id: 'jitter.fec', severity: 'warn',
      title: `losses come in bursts (mean run ${meanLossRun.toFixed(1)} packets): FEC would rebuild only about ${(fecRecoverable * 100).toFixed(0)}% of them`,
      detail: `${lossText}. FEC rebuilds one packet per burst and a deeper jitter buffer does not bring lost packets back.`,
      fix: 'find what drops packets in bursts: Wi-Fi (move closer, use 5 GHz or a cable), an overloaded sender (rtpcast diag cpu), a full receive buffer',
    });
  }
  return { latencyMs, networkMs, basis, why, fecHelps, fecRecoverable, meanLossRun, lossPct, findings };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
