/**
 * rtpcast -> GStreamer, for every stream config. The pipeline is the one rtpcast prints
 * (gstReceiveElements, caps from the SDP) ending in a WAV file instead of a sound card:
 *   gst-launch-1.0 -q -e udpsrc port=P caps="application/x-rtp,..." ! rtpjitterbuffer latency=100
 *       ! rtpL16depay|rtpopusdepay ! opusdec ! audioconvert ! audioresample ! wavenc ! filesink location=out.wav
 * stopped with SIGINT (EOS with -e) after the sender finished.
 */
import { describe, test } from 'node:test';
import { CONFIGS, GSTREAMER, portAllocator, runInterop } from '../support/peers';

const port = portAllocator(25100);

describe('interop: rtpcast send -> GStreamer', () => {
  for (const cfg of CONFIGS) {
    const p = port();
    test(`GStreamer decodes ${cfg.label} as the tone sent`, { timeout: 60_000 }, async (t) => {
      await runInterop(t, GSTREAMER, cfg, p);
    });
  }
});
