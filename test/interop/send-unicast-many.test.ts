/**
 * Two unicast destinations at once: `--dest 127.0.0.1:P1 --dest 127.0.0.2:P2 --sdp dir/s.sdp`
 * writes dir/s-127.0.0.1-P1.sdp and dir/s-127.0.0.2-P2.sdp; ffmpeg receives the first, GStreamer
 * the second, at the same time, and both must have decoded the tone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Procs, type Proc } from '../support/procs';
import {
  assertTone, checkTone, config, FFMPEG, GSTREAMER, makeWorkDir, readSdp, removeWorkDir, requireProgram,
  SEND_SECONDS, sendTone, startReceiver, summary, testPort, writeSdp, type ReceiveContext, type Receiver,
} from '../support/peers';

const P1 = testPort(25400);
const P2 = testPort(25402);

for (const cfg of [config('opus-stereo'), config('l16-44k-stereo')]) {
  const [p1, p2] = cfg.codec === 'opus' ? [P1, P2] : [P1 + 4, P2 + 4];
  test(`one rtpcast send, ${cfg.label}, to ffmpeg at 127.0.0.1:${p1} and GStreamer at 127.0.0.2:${p2}`, { timeout: 60_000 }, async (t) => {
    FFMPEG.require();
    GSTREAMER.require();
    requireProgram('ss');
    const procs = new Procs();
    const dir = makeWorkDir(`many-${cfg.id}`);
    let keep = false;
    try {
      const dests = [`127.0.0.1:${p1}`, `127.0.0.2:${p2}`];
      const sdpPath = join(dir, 's.sdp');
      const printed = await writeSdp(procs, cfg, cfg.hz, dests, sdpPath);
      const files = [join(dir, `s-127.0.0.1-${p1}.sdp`), join(dir, `s-127.0.0.2-${p2}.sdp`)];
      for (const f of files) assert.ok(existsSync(f), `rtpcast did not write ${f} (one SDP per destination)`);
      assert.ok(!existsSync(sdpPath), `with two destinations rtpcast should write one SDP per destination, not ${sdpPath}`);

      const peers: { r: Receiver; ctx: ReceiveContext; text: string; proc?: Proc }[] = [];
      [FFMPEG, GSTREAMER].forEach((r, i) => {
        const { text, stream } = readSdp(files[i], cfg);
        const [addr, port] = [['127.0.0.1', p1], ['127.0.0.2', p2]][i] as [string, number];
        assert.equal(stream.address, addr, `${files[i]} names the wrong address:\n${text}`);
        assert.equal(stream.port, port, `${files[i]} names the wrong port:\n${text}`);
        peers.push({ r, text, ctx: { sdpPath: files[i], sdp: stream, out: join(dir, `out-${r.id}.wav`), sendSeconds: SEND_SECONDS, printed: printed[i].commands } });
      });
      for (const p of peers) p.proc = await startReceiver(procs, p.r, p.ctx);
      const sender = await sendTone(procs, cfg, cfg.hz, dests, sdpPath);
      await Promise.all(peers.map((p) => p.r.finish(p.proc!, p.ctx)));

      const failures: string[] = [];
      for (const p of peers) {
        const check = checkTone(p.ctx.out, { hz: cfg.hz, sendSeconds: SEND_SECONDS, sentChannels: cfg.channels, channels: p.r.channels(cfg) });
        t.diagnostic(`${p.r.name} | ${cfg.label} -> ${p.ctx.sdp.address}:${p.ctx.sdp.port} | ${summary(check)}`);
        try {
          assertTone(check, `${p.r.name} receiving ${cfg.label} at ${p.ctx.sdp.address}:${p.ctx.sdp.port}`, { receiver: p.proc, sender, sdpText: p.text });
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      keep = failures.length > 0;
      if (keep) assert.fail(`${failures.join('\n\n')}\nfiles kept in ${dir}`);
    } finally {
      await procs.cleanup();
      if (!keep) removeWorkDir(dir);
    }
  });
}
