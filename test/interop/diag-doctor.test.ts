/**
 * `rtpcast diag doctor` (the receiver's checklist) through the CLI, in a network namespace of its
 * own (so its firewall view, its ports and its multicast probe are ours alone):
 *
 * 1. healthy: rtpcast send is sending to the port, the doctor has its SDP -> exit 0, "nothing wrong
 *    found on this side", the stream counted;
 * 2. nothing arriving (no sender) -> exit 1, the conclusion names the likely cause (the sender is
 *    not running or sends elsewhere) and the checks behind it (firewall open, nearby ports quiet);
 *    and with the sender on another port, the conclusion names that port;
 * 3. the port held by another process -> exit 1, port.busy with the holder's name and pid, and no
 *    capture attempted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PacketSnapshot } from '../../src/diag/counter';
import { createMulticastNetns } from '../support/netns';
import { Procs, sleep } from '../support/procs';
import { brief, cli, finding, runDiag } from '../support/diag';

const PORT = 28300;

test('diag doctor: healthy with a real sender (exit 0); nothing arriving names the cause; the sender on another port is found; a busy port names its holder', { timeout: 150_000 }, async (t) => {
  const ns = createMulticastNetns('doctor');
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-doctor-'));
  try {
    // 1. healthy
    const sdp = join(dir, 'stream.sdp');
    const sender = procs.start(cli(['send', '--tone', '630', '--dest', `127.0.0.1:${PORT}`, '--sdp', sdp, '--duration', '60', '--quiet'], ns.exec));
    await sleep(800);
    assert.ok(sender.running, sender.describe());
    const ok = await runDiag(procs, ['doctor', '--port', String(PORT), '--duration', '2', '--sdp', sdp], { prefix: ns.exec });
    t.diagnostic(`healthy:\n${brief(ok.report)}`);
    assert.equal(ok.code, 0, brief(ok.report));
    assert.equal(ok.report.conclusion, 'nothing wrong found on this side');
    assert.equal(finding(ok.report, 'port.free').severity, 'ok');
    assert.equal(finding(ok.report, 'firewall.open').severity, 'ok');
    const reports = (ok.report.data as { reports: { check: string; data: { snapshot?: PacketSnapshot } }[] }).reports;
    const snap = reports.find((r) => r.check === 'packets')!.data.snapshot!;
    assert.equal(snap.streams.length, 1);
    assert.ok(snap.streams[0].stats.packets >= 80, String(snap.streams[0].stats.packets));
    assert.equal(snap.streams[0].stats.lost, 0);

    // 2a. the sender sends to another port: the doctor finds it
    await sender.stop('SIGTERM', 3000);
    const elsewhere = procs.start(cli(['send', '--tone', '630', '--dest', `127.0.0.1:${PORT + 4}`, '--duration', '60', '--quiet'], ns.exec));
    await sleep(800);
    const wp = await runDiag(procs, ['doctor', '--port', String(PORT), '--duration', '1'], { prefix: ns.exec, timeoutMs: 90_000 });
    t.diagnostic(`sender on ${PORT + 4}:\n${brief(wp.report)}`);
    assert.equal(wp.code, 1);
    assert.match(finding(wp.report, 'packets.wrong-port').title, new RegExp(`^traffic arrives on port ${PORT + 4} instead`));
    assert.match(wp.report.conclusion!, new RegExp(`^traffic arrives on port ${PORT + 4} instead.*\\(fix: listen on ${PORT + 4}`));
    await elsewhere.stop('SIGTERM', 3000);

    // 2b. nothing at all
    const none = await runDiag(procs, ['doctor', '--port', String(PORT), '--duration', '1'], { prefix: ns.exec, timeoutMs: 90_000 });
    t.diagnostic(`nothing:\n${brief(none.report)}`);
    assert.equal(none.code, 1);
    assert.equal(finding(none.report, 'packets.none').severity, 'problem');
    assert.equal(finding(none.report, 'packets.nearby-quiet').severity, 'info');
    assert.equal(finding(none.report, 'firewall.open').severity, 'ok');
    assert.match(none.report.conclusion!, /^the sender is not running or sends elsewhere \(fix: on the sender: rtpcast send --dest THIS_HOST_IP:28300/);

    // 3. the port is held by another program
    const holder = procs.start([...ns.exec, process.execPath, '-e', `require('dgram').createSocket('udp4').bind(${PORT},()=>console.log('bound'));setTimeout(()=>{},60000)`]);
    for (let i = 0; i < 100 && !holder.stdout.includes('bound'); i++) await sleep(50);
    assert.ok(holder.stdout.includes('bound'), holder.describe());
    const busy = await runDiag(procs, ['doctor', '--port', String(PORT), '--duration', '1'], { prefix: ns.exec });
    t.diagnostic(`busy:\n${brief(busy.report)}`);
    assert.equal(busy.code, 1);
    const b = finding(busy.report, 'port.busy');
    assert.match(b.title, new RegExp(`^UDP port ${PORT} is in use by node \\(pid \\d+\\)`));
    assert.match(busy.report.conclusion!, new RegExp(`^UDP port ${PORT} is in use by node \\(pid \\d+\\).*\\(fix: stop it: kill \\d+`));
    assert.ok(!busy.report.findings.some((f) => f.id.startsWith('packets.')), 'no capture on a busy port');
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
