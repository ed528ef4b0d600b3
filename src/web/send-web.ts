import { randomBytes } from 'node:crypto';
import { RTCDtlsTransport, RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';
import type { PacketSink } from '../transport/tee';

/** How a browser listener's WebRTC connection is set up. */
export interface WebRtcOptions {
  /**
   * The address the page is served on. A specific address also restricts the media (ICE) to
   * it, so `--web 127.0.0.1:8080` never exposes a UDP port on another interface. Undefined or a
   * wildcard (0.0.0.0, ::) offers every interface's address, as the page is reachable on all.
   */
  host?: string;
  /** UDP ports ICE may bind (default: the kernel's choice) */
  icePorts?: [number, number];
  /** most listeners at once (a listener beyond this is refused with 503) */
  maxListeners: number;
  /** a listener that is not connected after this long is dropped (ms) */
  connectTimeoutMs: number;
  /** Opus stereo (fmtp stereo=1) */
  stereo: boolean;
}

export interface ListenerInfo {
  id: number;
  remote: string;
  state: string;
}

interface Listener {
  id: number;
  remote: string;
  pc: RTCPeerConnection;
  transceiver: RTCRtpTransceiver;
  connected: boolean;
  timer?: NodeJS.Timeout;
  /** when the browser's last ICE check (consent, RFC 7675) arrived */
  lastCheckAt: number;
  /** what the browser shows to end this listener (POST /leave): other token holders cannot */
  secret: string;
}

/** A listener whose connection is "disconnected" this long (no recovery) is dropped. */
const DISCONNECTED_GRACE_MS = 10_000;
/**
 * As ICE-lite the sender never sends checks, so it cannot see a browser vanish (closed tab, phone
 * out of range) from its own traffic; but the browser sends a consent check every ~5 s while it
 * listens (RFC 7675, 30 s timeout). No check for this long: the listener is gone.
 */
export const CONSENT_TIMEOUT_MS = 20_000;

export class WebListenerError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The browser listeners of `rtpcast send --web`: one werift RTCPeerConnection per listener with one
 * send-only Opus track. Every RTP packet the sender has already encoded is handed to each connected
 * listener as is; werift rewrites SSRC, payload type, sequence number and timestamp offset for its
 * own connection and protects it with that connection's DTLS-SRTP keys. No listener costs an extra
 * encoding.
 */
export class WebListeners implements PacketSink {
  private readonly listeners = new Map<number, Listener>();
  private nextId = 1;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;
  private events: ((kind: 'join' | 'leave', l: ListenerInfo, count: number) => void) | undefined;
  /** packets handed to listeners (one per listener per packet) */
  forwarded = 0;
  sendErrors = 0;

  constructor(private readonly o: WebRtcOptions) {}

  /**
   * Makes the DTLS certificate (one ECDSA P-256 key for every connection, as werift shares it)
   * now rather than in the first listener's request, which would otherwise wait for it.
   */
  async prepare(): Promise<void> {
    await RTCDtlsTransport.SetupCertificate();
  }

  onListener(fn: (kind: 'join' | 'leave', l: ListenerInfo, count: number) => void): void {
    this.events = fn;
  }

  get maxListeners(): number {
    return this.o.maxListeners;
  }

  get count(): number {
    let n = 0;
    for (const l of this.listeners.values()) if (l.connected) n++;
    return n;
  }

  list(): ListenerInfo[] {
    return [...this.listeners.values()].map((l) => ({ id: l.id, remote: l.remote, state: l.pc.connectionState }));
  }

  /**
   * Answers a browser's offer (which must ask to receive audio); returns the listener's id and the answer SDP.
   * ANSWERS_AT_ONCE offers at a time, each step a turn of the event loop of its own (see `turn`): werift does
   * an answer's work synchronously (host address lookup, SDP), and ten listeners pressing Play at
   * once made one block of ~100 ms on the main thread, where the sender paces its packets.
   */
  async answer(offerSdp: string, remote: string): Promise<{ id: number; secret: string; sdp: string }> {
    while (this.answering >= ANSWERS_AT_ONCE) await new Promise<void>((r) => this.waiting.push(r));
    this.answering++;
    try {
      return await this.answerNow(offerSdp, remote);
    } finally {
      this.answering--;
      this.waiting.shift()?.();
    }
  }

  /** answers being made, and the offers waiting for a turn */
  private answering = 0;
  private readonly waiting: (() => void)[] = [];

  private async answerNow(offerSdp: string, remote: string): Promise<{ id: number; secret: string; sdp: string }> {
    await turn();
    if (this.closed) throw new WebListenerError('the sender is stopping', 503);
    if (this.listeners.size >= this.o.maxListeners) throw new WebListenerError(`this sender already has ${this.o.maxListeners} listeners (the most it takes; rtpcast send --web-max to change)`, 503);
    if (!/^m=audio /m.test(offerSdp)) throw new WebListenerError('the offer has no audio section', 400);
    const wildcard = !this.o.host || this.o.host === '0.0.0.0' || this.o.host === '::';
    const check: { listener?: Listener } = {};
    const pc = new RTCPeerConnection({
      iceFilterStunResponse: () => {
        if (check.listener) check.listener.lastCheckAt = Date.now();
        return true;
      },
      iceServers: [], // no STUN/TURN: nothing leaves for the Internet; listeners are on this network
      iceLite: true, // the browser does the checks; we answer them
      ...(this.o.icePorts ? { icePortRange: this.o.icePorts } : {}),
      ...(wildcard ? {} : { iceAdditionalHostAddresses: [this.o.host!], iceInterfaceAddresses: this.o.host!.includes(':') ? { udp6: this.o.host! } : { udp4: this.o.host! } }),
      iceUseIpv6: wildcard || this.o.host!.includes(':'),
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111, parameters: `minptime=10;useinbandfec=1${this.o.stereo ? ';stereo=1;sprop-stereo=1' : ''}` })],
        video: [],
      },
      headerExtensions: { audio: [], video: [] },
    });
    const id = this.nextId++;
    const transceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
    const l: Listener = { id, remote, pc, transceiver, connected: false, lastCheckAt: Date.now(), secret: randomBytes(12).toString('base64url') };
    check.listener = l;
    this.startSweeper();
    this.listeners.set(id, l);
    l.timer = setTimeout(() => void this.drop(l), this.o.connectTimeoutMs);
    l.timer.unref();
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        clearTimeout(l.timer);
        if (!l.connected) {
          l.connected = true;
          this.events?.('join', this.info(l), this.count);
        }
      } else if (state === 'disconnected') {
        // often a Wi-Fi blip that ICE recovers from: give it a while before dropping the listener
        clearTimeout(l.timer);
        l.timer = setTimeout(() => void this.drop(l), DISCONNECTED_GRACE_MS);
        l.timer.unref();
      } else if (state === 'failed' || state === 'closed') {
        void this.drop(l);
      }
    });
    try {
      await turn();
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      // werift matched our transceiver to the offer's m-line, or made its own: make sure it sends
      const t = pc.getTransceivers().find((x) => x.kind === 'audio');
      if (!t) throw new WebListenerError('the offer has no audio section werift could use', 400);
      t.setDirection('sendonly');
      l.transceiver = t;
      await turn();
      const answer = await pc.createAnswer();
      await turn();
      await pc.setLocalDescription(answer);
      await gatheringComplete(pc);
      await turn();
      let sdp = pc.localDescription?.sdp;
      if (!sdp) throw new WebListenerError('no answer was produced', 500);
      if (!wildcard) sdp = keepCandidatesOn(sdp, this.o.host!);
      return { id, secret: l.secret, sdp };
    } catch (e) {
      await this.drop(l, true);
      if (e instanceof WebListenerError) throw e;
      throw new WebListenerError(`cannot answer this browser's offer: ${(e as Error).message}`, 400);
    }
  }

  /** The browser said it stops (the page's Stop button, or the tab closing). */
  leave(id: number, secret: string): boolean {
    const l = this.listeners.get(id);
    if (!l || l.secret !== secret) return false;
    void this.drop(l);
    return true;
  }

  /** Drops connected listeners whose browser stopped sending ICE consent checks. */
  sweep(now = Date.now()): void {
    for (const l of this.listeners.values()) if (l.connected && now - l.lastCheckAt > CONSENT_TIMEOUT_MS) void this.drop(l);
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), 5000);
    this.sweeper.unref();
  }

  /** One RTP packet from the sender, to every connected listener. */
  send(packet: Buffer): void {
    for (const l of this.listeners.values()) {
      if (!l.connected) continue;
      this.forwarded++;
      // werift parses and rewrites the header per connection, so each gets its own copy
      l.transceiver.sender.sendRtp(Buffer.from(packet)).catch(() => {
        this.sendErrors++;
      });
    }
  }

  private info(l: Listener): ListenerInfo {
    return { id: l.id, remote: l.remote, state: l.pc.connectionState };
  }

  private async drop(l: Listener, quiet = false): Promise<void> {
    if (!this.listeners.has(l.id)) return;
    this.listeners.delete(l.id);
    clearTimeout(l.timer);
    const was = l.connected;
    l.connected = false;
    try {
      await l.pc.close();
    } catch {
      // already closed
    }
    if (was && !quiet) this.events?.('leave', this.info(l), this.count);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.listeners.values()].map((l) => this.drop(l, true)));
  }
}

/**
 * offers answered at the same time (the others wait). Measured with scripts/bench-web-join.ts
 * (docs/BENCHMARKS.md): with the turns, 10 at once left a 60 ms largest gap on the wire and all
 * ten playing after 1.2 s; 3 at once 50 ms but 1.8 s: the turns do the work, this only bounds a
 * crowd.
 */
const ANSWERS_AT_ONCE = 10;

/**
 * A turn of the event loop (a macrotask, not a microtask): the send loop's packets due meanwhile
 * go out before the next slice of a listener's set-up runs (awaiting werift's promises alone
 * chains microtasks, which never let it in).
 */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        unSubscribe();
        resolve();
      }
    });
    // werift finishes host-only gathering at once; never hang a request on it
    setTimeout(resolve, 3000).unref();
  });
}

/** Removes the answer's ICE candidates on other addresses than `host` (pure; exported for tests). */
export function keepCandidatesOn(sdp: string, host: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const f = line.split(' ');
      return f[4] === host;
    })
    .join('\r\n');
}
