/**
 * rtpcast -> VLC (Debian's 3.0.x, headless, as the user rtpcast-test: VLC refuses root), for
 * every stream config, with the Debian/Ubuntu command rtpcast itself prints next to the SDP
 * (read from its --json output), plus a WAV output:
 *   runuser -u rtpcast-test -- cvlc --demux=avformat s.sdp -I dummy \
 *       --sout '#transcode{acodec=s16l}:std{access=file,mux=wav,dst=out.wav}'
 * Debian's VLC has no live555; its own SDP reader (sap demux) accepts only static payload types
 * (it needs --repeat to follow them and never binds the port for PT 96), so rtpcast prints the
 * avformat demux, which plays all five configs. Stopped with SIGTERM once the sender finished
 * and the WAV stopped growing.
 */
import { describe, test } from 'node:test';
import { CONFIGS, portAllocator, runInterop, VLC_PRINTED } from '../support/peers';

const port = portAllocator(25200);

describe('interop: rtpcast send -> VLC, the Debian command rtpcast prints', () => {
  for (const cfg of CONFIGS) {
    const p = port();
    test(`VLC (printed command) plays ${cfg.label} as the tone sent`, { timeout: 60_000 }, async (t) => {
      await runInterop(t, VLC_PRINTED, cfg, p);
    });
  }
});
