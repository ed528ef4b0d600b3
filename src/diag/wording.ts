/** Findings and phrases shared by the packets and format checks (pure). */
import type { Finding } from './report';
import type { RawPcmSummary } from './counter';

/**
 * What a receiver playing `senderHz` audio at `receiverHz` does: played at the receiver's rate,
 * N seconds of audio last N * sender/receiver seconds. 48000 played as 44100 is 8.8% slow (and
 * 8.1% lower in pitch); 44100 played as 48000 is 8.8% fast.
 */
export function playbackSpeed(senderHz: number, receiverHz: number): { slow: boolean; pct: number; text: string } {
  const slow = senderHz > receiverHz;
  const pct = slow ? (senderHz / receiverHz - 1) * 100 : (receiverHz / senderHz - 1) * 100;
  const p = pct.toFixed(1);
  return {
    slow,
    pct,
    text: slow
      ? `audio will play ${p}% slow (lower in pitch; the receiver's buffer overflows and it drops or resyncs)`
      : `audio will play ${p}% fast (higher in pitch; the receiver's buffer runs dry: gaps)`,
  };
}

export function fmtHz(hz: number): string {
  return Number.isInteger(hz) ? String(hz) : hz.toFixed(0);
}

/**
 * The finding for headerless PCM (the seed's Python sender): no player can know its rate, channels
 * or byte order; the fix is to send RTP with an SDP, with the format the payload suggests.
 */
export function rawPcmFinding(sender: string, raw: RawPcmSummary, idPrefix: string, listenPort?: number): Finding {
  const order = raw.byteOrder === 'unknown' ? null : raw.byteOrder;
  const guess = raw.rateGuesses.find((g) => g.rate === 44100 || g.rate === 48000) ?? raw.rateGuesses[0];
  const parts: string[] = [];
  parts.push(`${raw.datagrams} datagrams of ${raw.datagramBytes.min === raw.datagramBytes.max ? raw.datagramBytes.min : `${raw.datagramBytes.min}-${raw.datagramBytes.max}`} bytes with no RTP header`);
  if (raw.silent && raw.silent === raw.audioLike) parts.push('all sampled ones are digital silence');
  else parts.push(`the samples read as ${order ?? '16-bit PCM of unknown byte order'}${raw.channels ? `, ${raw.channels === 2 ? 'stereo' : 'mono'}` : ''}${raw.identicalChannels ? ' (both channels identical)' : ''}`);
  if (raw.bytesPerSec) parts.push(`${(raw.bytesPerSec / 1000).toFixed(1)} kB/s${guess ? ` = ${guess.rate} Hz x ${guess.channels} channel(s) x 2 bytes` : ''}${raw.rateGuesses.length > 1 ? ` (also fits: ${raw.rateGuesses.filter((g) => g !== guess).map((g) => `${g.rate} Hz x ${g.channels}`).join(', ')})` : ''}`);
  const fmt = order ?? 's16le';
  const rate = guess?.rate ?? 44100;
  const ch = guess?.channels ?? raw.channels ?? 2;
  const dest = `THIS_HOST:${listenPort ?? 5004}`;
  return {
    id: `${idPrefix}.raw-pcm`,
    severity: 'problem',
    title: `raw PCM without RTP from ${sender}: no player can know its format`,
    detail: `${parts.join('; ')}. Without RTP there are no sequence numbers or timestamps (no loss detection, no jitter buffer, no clock recovery) and nothing says the rate, channels or byte order: VLC, ffmpeg and PulseAudio cannot play it, and a custom receiver that guesses wrong plays it slowed down or as noise.`,
    fix: `send RTP with an SDP: rtpcast send --input - --format ${fmt} --input-rate ${rate} --input-channels ${ch} --dest ${dest} --sdp stream.sdp\n(e.g. parec --format=${fmt} --rate=${rate} --channels=${ch} | rtpcast send --input - --format ${fmt} --input-rate ${rate} --input-channels ${ch} --dest ${dest} --sdp stream.sdp; then open stream.sdp on the receiver)`,
  };
}
