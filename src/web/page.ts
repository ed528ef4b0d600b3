/**
 * The listening page of `rtpcast send --web`: one self-contained HTML document (no external
 * script, style, font or image), a play button, the connection state, live receive statistics and
 * the QR code of the page's URL so the next listener can scan it from this screen.
 */

export interface PageOptions {
  /** session name (the stream's s= name) */
  title: string;
  /** the QR code of the URL, as inline SVG */
  qrSvg: string;
  /** the URL shown under the code */
  url: string;
  /** the access token the page sends with its offer */
  token: string;
  /** CSP nonce for the inline script and style */
  nonce: string;
  /** what is sent: "Opus 48 kHz stereo, 20 ms packets" */
  format: string;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's script. It reads its settings from a JSON block, never from interpolated code. */
const SCRIPT = `
'use strict';
const cfg = JSON.parse(document.getElementById('cfg').textContent);
const btn = document.getElementById('play');
const st = document.getElementById('status');
const statsEl = document.getElementById('stats');
const audio = document.getElementById('audio');
const state = { pc: null, id: 0, secret: '', stream: null, playAt: 0, connectedAt: 0 };
function bye() {
  // tell the sender at once (it would otherwise notice within ~20 s, when the checks stop)
  if (state.id) navigator.sendBeacon('leave?k=' + encodeURIComponent(cfg.token) + '&id=' + state.id + '&s=' + encodeURIComponent(state.secret));
  state.id = 0;
}
addEventListener('pagehide', bye);
window.rtpcast = state;
function show(text, cls) { st.textContent = text; st.className = cls || ''; }
async function stop() {
  bye();
  if (state.pc) state.pc.close();
  state.pc = null;
  state.stream = null;
  audio.srcObject = null;
  btn.textContent = 'Play';
  show('stopped');
}
async function start() {
  btn.disabled = true;
  state.playAt = Date.now();
  state.connectedAt = 0;
  show('connecting...');
  try {
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pc = pc;
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      state.stream = e.streams[0] || new MediaStream([e.track]);
      audio.srcObject = state.stream;
      audio.play().catch((err) => show('press Play again: the browser blocked sound (' + err.name + ')', 'bad'));
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === 'connected') { state.connectedAt = Date.now(); show('playing', 'good'); }
      else if (s === 'failed') show('the connection failed: is this device on the same network as the sender? (see docs/WEB.md)', 'bad');
      else if (s === 'disconnected') show('connection lost; trying to recover...', 'bad');
      else if (s === 'closed') show('stopped');
      else show(s + '...');
    };
    const offer = await pc.createOffer();
    // ask for stereo: browsers decode Opus as mono unless the receiver says stereo=1
    offer.sdp = offer.sdp.replace(/(a=fmtp:\\d+ [^\\r\\n]*useinbandfec=1)/, '$1;stereo=1');
    // no waiting for ICE candidates: the sender is ICE-lite and learns this browser's address
    // from its connectivity checks, so the offer goes out at once
    await pc.setLocalDescription(offer);
    const res = await fetch('connect?k=' + encodeURIComponent(cfg.token), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: pc.localDescription.sdp }),
    });
    const body = await res.json().catch(() => ({ error: 'the sender answered ' + res.status }));
    if (!res.ok) throw new Error(body.error || ('the sender answered ' + res.status));
    state.id = body.id;
    state.secret = body.secret;
    await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    btn.textContent = 'Stop';
  } catch (e) {
    show('could not connect: ' + e.message, 'bad');
    if (state.pc) state.pc.close();
    state.pc = null;
  } finally {
    btn.disabled = false;
  }
}
btn.addEventListener('click', () => (state.pc ? stop() : start()));
setInterval(async () => {
  if (!state.pc) { statsEl.textContent = ''; return; }
  const r = await state.pc.getStats();
  r.forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
    const buf = s.jitterBufferEmittedCount ? (1000 * s.jitterBufferDelay / s.jitterBufferEmittedCount).toFixed(0) : '-';
    statsEl.textContent = 'packets ' + s.packetsReceived + ', lost ' + (s.packetsLost || 0) +
      ', jitter ' + ((s.jitter || 0) * 1000).toFixed(1) + ' ms, buffer ' + buf + ' ms, level ' + (s.audioLevel || 0).toFixed(3);
  });
}, 1000);
`;

export function renderPage(o: PageOptions): string {
  const cfg = JSON.stringify({ token: o.token }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(o.title)} - rtpcast</title>
<style nonce="${o.nonce}">
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; text-align: center; color: #222; }
h1 { font-size: 1.4rem; }
#play { font-size: 1.4rem; padding: .8rem 3rem; border-radius: .5rem; border: 1px solid #555; background: #f4f4f4; cursor: pointer; }
#status { margin: 1rem 0 .3rem; min-height: 1.4em; }
.good { color: #070; } .bad { color: #a00; }
#stats { font-size: .8rem; color: #666; min-height: 1.2em; }
figure { margin: 2rem 0 0; } figcaption { font-size: .8rem; color: #555; word-break: break-all; }
</style>
</head>
<body>
<h1>${esc(o.title)}</h1>
<p>${esc(o.format)}</p>
<button id="play" type="button">Play</button>
<div id="status">press Play to listen</div>
<div id="stats"></div>
<audio id="audio" autoplay></audio>
<figure>${o.qrSvg}<figcaption>another phone: scan this, or open ${esc(o.url)}</figcaption></figure>
<script type="application/json" id="cfg">${cfg}</script>
<script nonce="${o.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
