/**
 * Headless Chromium (Debian's package) driven by playwright-core, for the --web interop tests.
 * A missing browser fails the test with the command that installs it (never a skip).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireProgram } from './peers';

/** The flags Chromium needs as root in a container, and nothing that talks to the Internet. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Launches Chromium with a fresh profile (playwright makes a new user-data-dir and removes it on
 * close). `wrapper`: a script that runs Chromium (e.g. inside a network namespace) with its arguments.
 */
export async function launchChromium(wrapper?: string): Promise<Browser> {
  const executablePath = requireProgram('chromium');
  return chromium.launch({ executablePath: wrapper ?? executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** The page's inbound audio RTP statistics (RTCInboundRtpStreamStats), or undefined before any. */
export interface InboundAudio {
  packetsReceived: number;
  packetsLost: number;
  totalSamplesReceived: number;
  audioLevel: number;
  totalAudioEnergy: number;
  totalSamplesDuration: number;
  concealedSamples: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  bytesReceived: number;
  /** the selected candidate pair's remote (the sender's) address */
  remoteAddress?: string;
  remotePort?: number;
  /** the codec the browser negotiated */
  mimeType?: string;
  channels?: number;
}

/** Runs in the page (a string: this project compiles without the DOM library). */
const INBOUND_AUDIO = `(async () => {
  const st = window.rtpcast;
  if (!st || !st.pc) return undefined;
  const r = await st.pc.getStats();
  const byId = new Map();
  let inbound, pairRemote;
  r.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairRemote = s.remoteCandidateId;
  });
  if (!inbound) return undefined;
  const codec = inbound.codecId ? byId.get(inbound.codecId) : undefined;
  const remote = pairRemote ? byId.get(pairRemote) : undefined;
  return {
    packetsReceived: inbound.packetsReceived || 0,
    packetsLost: inbound.packetsLost || 0,
    totalSamplesReceived: inbound.totalSamplesReceived || 0,
    audioLevel: inbound.audioLevel || 0,
    totalAudioEnergy: inbound.totalAudioEnergy || 0,
    totalSamplesDuration: inbound.totalSamplesDuration || 0,
    concealedSamples: inbound.concealedSamples || 0,
    jitterBufferDelay: inbound.jitterBufferDelay || 0,
    jitterBufferEmittedCount: inbound.jitterBufferEmittedCount || 0,
    bytesReceived: inbound.bytesReceived || 0,
    remoteAddress: remote ? (remote.address || remote.ip) : undefined,
    remotePort: remote ? remote.port : undefined,
    mimeType: codec ? codec.mimeType : undefined,
    channels: codec ? codec.channels : undefined,
  };
})()`;

export async function inboundAudio(page: Page): Promise<InboundAudio | undefined> {
  return (await page.evaluate(INBOUND_AUDIO)) as InboundAudio | undefined;
}

/**
 * The dominant frequency of what the page receives, from a Web Audio analyser on the received
 * stream (FFT of 8192 points at the context's rate, averaged over `ms`).
 */
export async function dominantFrequency(page: Page, ms: number): Promise<{ hz: number; peakDb: number; rate: number }> {
  return (await page.evaluate(`(async () => {
    const ctx = new AudioContext();
    await ctx.resume();
    const src = ctx.createMediaStreamSource(window.rtpcast.stream);
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0.9;
    src.connect(an);
    await new Promise((r) => setTimeout(r, ${ms}));
    const bins = new Float32Array(an.frequencyBinCount);
    an.getFloatFrequencyData(bins);
    let best = 1;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    const out = { hz: best * ctx.sampleRate / an.fftSize, peakDb: bins[best], rate: ctx.sampleRate };
    await ctx.close();
    return out;
  })()`)) as { hz: number; peakDb: number; rate: number };
}
