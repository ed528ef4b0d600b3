/**
 * rtpcast -> ffmpeg, from the SDP, for every stream config; asserts on what ffmpeg decoded.
 *   ffmpeg -hide_banner -loglevel error -protocol_whitelist file,udp,rtp -i s.sdp -t 5 -y out.wav
 */
import { describe, test } from 'node:test';
import { CONFIGS, FFMPEG, portAllocator, runInterop } from '../support/peers';

const port = portAllocator(25000);

describe('interop: rtpcast send -> ffmpeg', () => {
  for (const cfg of CONFIGS) {
    const p = port();
    test(`ffmpeg decodes ${cfg.label} as the tone sent`, { timeout: 60_000 }, async (t) => {
      await runInterop(t, FFMPEG, cfg, p);
    });
  }
});
