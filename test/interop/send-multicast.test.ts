/**
 * Multicast on loopback: in a network namespace of its own (lo up, multicast on,
 * 224.0.0.0/4 routed to lo), rtpcast sends to 239.255.12.34 with --ttl 1 and ffmpeg receives from
 * the SDP; both run through `ip netns exec NS`. The namespace is deleted afterwards, also on
 * failure. Needs root (network namespaces).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMulticastNetns, netnsExists } from '../support/netns';
import { config, FFMPEG, portAllocator, runInterop } from '../support/peers';

const GROUP = '239.255.12.34';
const port = portAllocator(25300);

describe('interop: rtpcast send -> multicast group -> ffmpeg (network namespace)', () => {
  for (const cfg of [config('l16-48k-stereo'), config('opus-stereo')]) {
    const p = port();
    test(`ffmpeg receives ${cfg.label} from ${GROUP}:${p}`, { timeout: 60_000 }, async (t) => {
      const ns = createMulticastNetns(String(p));
      try {
        await runInterop(t, FFMPEG, cfg, p, {
          host: GROUP,
          prefix: ns.exec,
          sendFlags: ['--ttl', '1'],
          checkSdp(s, text) {
            assert.equal(s.address, GROUP, `the SDP's c= line does not name the group:\n${text}`);
            assert.equal(s.multicast, true);
            assert.equal(s.ttl, 1, `the SDP's c= line does not carry TTL 1 (c=IN IP4 ${GROUP}/1):\n${text}`);
          },
        });
      } finally {
        ns.remove();
      }
      assert.equal(netnsExists(ns.name), false, `network namespace ${ns.name} was not deleted`);
    });
  }
});
