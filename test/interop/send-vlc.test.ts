/**
 * rtpcast -> VLC (Debian's 3.0.x, headless, as the user rtpcast-test: VLC refuses root).
 *
 * Two ways, for every stream config:
 * 1. The Debian/Ubuntu VLC command rtpcast prints next to the SDP (today `cvlc --repeat s.sdp`),
 *    with a WAV output added:
 *      runuser -u rtpcast-test -- cvlc --repeat s.sdp -I dummy \
 *          --sout '#transcode{acodec=s16l}:std{access=file,mux=wav,dst=out.wav}'
 *    Works for the static payload types 10 and 11. For PT 96 (L16 48 kHz, Opus) Debian's VLC
 *    cannot open the SDP this way (no live555; the sap demux only takes static payload types):
 *    these tests fail because the command rtpcast prints does not play the stream.
 * 2. VLC's avformat demux, which works on Debian for every config:
 *      runuser -u rtpcast-test -- cvlc -I dummy --demux=avformat s.sdp \
 *          --sout '#transcode{acodec=s16l}:std{access=file,mux=wav,dst=out.wav}'
 * Both are stopped with SIGTERM once the sender finished and the WAV stopped growing.
 */
import { describe, test } from 'node:test';
import { CONFIGS, portAllocator, runInterop, VLC_AVFORMAT, VLC_PRINTED } from '../support/peers';

const port = portAllocator(25200);

describe('interop: rtpcast send -> VLC, the Debian command rtpcast prints', () => {
  for (const cfg of CONFIGS) {
    const p = port();
    test(`VLC (printed command) plays ${cfg.label} as the tone sent`, { timeout: 60_000 }, async (t) => {
      await runInterop(t, VLC_PRINTED, cfg, p);
    });
  }
});

describe('interop: rtpcast send -> VLC --demux=avformat', () => {
  for (const cfg of CONFIGS) {
    const p = port();
    test(`VLC (avformat demux) decodes ${cfg.label} as the tone sent`, { timeout: 60_000 }, async (t) => {
      await runInterop(t, VLC_AVFORMAT, cfg, p);
    });
  }
});
