/**
 * The field's F3 reproduced: a firewall drops inbound RTP. In a network namespace of its own, a
 * real ruleset (nftables; iptables-nft; iptables-legacy beside nftables) drops UDP 5004; a receiver
 * bound to 5004 really gets nothing from a sender in the same namespace; checkFirewall, run inside
 * the namespace, names the dropping rule (or policy) and prints a fix; the fix is applied as
 * printed; the packets then arrive and the diagnosis says "accepted". The machine's own rules are
 * never touched; the namespace is deleted afterwards, also on failure. Needs root.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createMulticastNetns, netnsExists, type Netns } from '../support/netns';
import { Procs, sleep, waitForUdpBound, type Proc } from '../support/procs';
import { whichSystemProgram } from '../../src/diag/firewall';
import { exitCodeOf, type DiagReport, type Finding } from '../../src/diag/report';

const PORT = 5004;
const FIREWALL_JS = join(__dirname, '../../src/diag/firewall.js');
const PORTS_JS = join(__dirname, '../../src/diag/ports.js');
const RULES = join(__dirname, '../../../test/fixtures/firewall/recording/rules');

const RECEIVER = `const s=require('dgram').createSocket('udp4');s.on('message',(m)=>console.log('got '+m.length));s.bind(${PORT},'0.0.0.0');`;
/** 20 RTP packets (version 2, PT 96, 160 bytes of payload) to 127.0.0.1:PORT, 10 ms apart. */
const SENDER = `const s=require('dgram').createSocket('udp4');let i=0;const t=setInterval(()=>{const b=Buffer.alloc(172);b[0]=0x80;b[1]=96;b.writeUInt16BE(i,2);b.writeUInt32BE(i*160,4);b.writeUInt32BE(0x5eed,8);s.send(b,${PORT},'127.0.0.1');if(++i>=20){clearInterval(t);setTimeout(()=>s.close(),100)}},10);`;

function need(name: string, pkg: string): string {
  const p = whichSystemProgram(name, 'linux');
  if (!p) throw new Error(`${name} is not installed: sudo apt-get install ${pkg}`);
  return p;
}

class Scenario {
  readonly procs = new Procs();
  receiver?: Proc;
  constructor(readonly ns: Netns) {}

  async run(argv: string[], what: string): Promise<Proc> {
    const p = await this.procs.run([...this.ns.exec, ...argv], 30_000);
    assert.equal(p.exit?.code, 0, `${what} failed:\n${p.describe()}`);
    return p;
  }

  async startReceiver(): Promise<void> {
    this.receiver = this.procs.start([...this.ns.exec, process.execPath, '-e', RECEIVER]);
    await waitForUdpBound(PORT, this.receiver, 10_000, this.ns.exec);
  }

  received(): number {
    return (this.receiver!.stdout.match(/^got 172$/gm) ?? []).length;
  }

  /** Sends 20 packets and returns how many the receiver got. */
  async sendAndCount(): Promise<number> {
    const before = this.received();
    await this.run([process.execPath, '-e', SENDER], 'the sender');
    await sleep(300);
    return this.received() - before;
  }

  async diagnose(): Promise<DiagReport> {
    const p = await this.run([process.execPath, '-e', `require(${JSON.stringify(FIREWALL_JS)}).checkFirewall(${PORT}).then((r)=>console.log(JSON.stringify(r)),(e)=>{console.error(e);process.exit(3)})`], 'checkFirewall');
    return JSON.parse(p.stdout) as DiagReport;
  }

  /** Runs the first line of a printed fix inside the namespace, exactly as printed but for sudo. */
  async applyFix(fix: string): Promise<string[]> {
    const argv = fix.split('\n')[0].trim().replace(/^sudo /, '').split(/\s+/);
    await this.run(argv, `the printed fix (${argv.join(' ')})`);
    return argv;
  }

  async cleanup(): Promise<void> {
    await this.procs.cleanup();
    this.ns.remove();
  }
}

function blocked(r: DiagReport): Finding[] {
  return r.findings.filter((f) => f.id === 'firewall.blocked');
}

/** The whole story for one ruleset: dropped for real, diagnosed, fixed as printed, delivered. */
async function reproduce(
  t: { diagnostic(m: string): void },
  name: string,
  load: (s: Scenario) => Promise<void>,
  expect: { title: RegExp; fix: string; rtcpToo: boolean },
  extra?: (s: Scenario) => Promise<void>,
): Promise<void> {
  need('nft', 'nftables');
  const s = new Scenario(createMulticastNetns(name));
  try {
    await load(s);
    await s.startReceiver();
    assert.equal(await s.sendAndCount(), 0, 'the firewall should drop every packet, yet the receiver got some');

    const before = await s.diagnose();
    t.diagnostic(`before: ${JSON.stringify(before.findings, null, 1)}`);
    const b = blocked(before);
    assert.equal(b.length, 1, `exactly one firewall.blocked finding (no double reporting):\n${JSON.stringify(before.findings, null, 2)}`);
    assert.equal(b[0].severity, 'problem');
    assert.match(b[0].title, expect.title);
    assert.equal(b[0].title.includes(`(and RTCP ${PORT + 1})`), expect.rtcpToo, b[0].title);
    assert.equal(b[0].fix!.split('\n')[0], expect.fix);
    assert.equal(exitCodeOf(before), 1);

    if (extra) await extra(s);

    const argv = await s.applyFix(b[0].fix!);
    t.diagnostic(`applied: ${argv.join(' ')}`);
    const got = await s.sendAndCount();
    assert.equal(got, 20, `after the fix the receiver got ${got} of 20 packets`);

    const after = await s.diagnose();
    t.diagnostic(`after: ${JSON.stringify(after.findings, null, 1)}`);
    assert.deepEqual(blocked(after), []);
    assert.deepEqual(after.findings.filter((f) => f.id === 'firewall.rtcp-blocked'), []);
    const ok = after.findings.find((f) => f.id === 'firewall.open');
    assert.ok(ok, `no firewall.open finding after the fix:\n${JSON.stringify(after.findings, null, 2)}`);
    assert.match(ok.title, new RegExp(`^inbound UDP ${PORT} is accepted by `));
    assert.equal(exitCodeOf(after), 0);
  } finally {
    await s.cleanup();
  }
  assert.equal(netnsExists(s.ns.name), false, `network namespace ${s.ns.name} was not deleted`);
}

describe('interop: diag firewall against real rulesets in a network namespace (F3)', () => {
  test('nftables: an explicit "udp dport 5004 drop" rule', { timeout: 60_000 }, async (t) => {
    await reproduce(
      t,
      'fw-drop',
      (s) => s.run(['nft', '-f', join(RULES, 'drop-port.nft')], 'loading drop-port.nft').then(() => undefined),
      { title: /^inbound UDP 5004 is dropped by nftables: udp dport 5004 drop$/, fix: `sudo nft insert rule inet filter input udp dport ${PORT} accept`, rtcpToo: false },
      async (s) => {
        // F9 on the same machine: diag ports names the receiver that holds the port
        const p = await s.run([process.execPath, '-e', `require(${JSON.stringify(PORTS_JS)}).checkPorts([${PORT}]).then((r)=>console.log(JSON.stringify(r)))`], 'checkPorts');
        const r = JSON.parse(p.stdout) as DiagReport;
        const busy = r.findings.find((f) => f.id === 'port.busy');
        assert.ok(busy, JSON.stringify(r.findings));
        assert.equal(busy.title, `UDP port ${PORT} is in use by node (pid ${s.receiver!.pid}) on 0.0.0.0:${PORT}`);
      },
    );
  });

  test('nftables: policy drop and no rule that accepts the port', { timeout: 60_000 }, async (t) => {
    await reproduce(
      t,
      'fw-policy',
      (s) => s.run(['nft', '-f', join(RULES, 'policy-drop-nolo.nft')], 'loading policy-drop-nolo.nft').then(() => undefined),
      { title: /^inbound UDP 5004 \(and RTCP 5005\) is dropped by nftables: policy drop of chain input$/, fix: `sudo nft add rule inet filter input udp dport ${PORT}-${PORT + 1} accept`, rtcpToo: true },
    );
  });

  test('iptables (nf_tables backend): read once, from iptables-save, not again through nft', { timeout: 60_000 }, async (t) => {
    need('iptables', 'iptables');
    await reproduce(
      t,
      'fw-iptnft',
      async (s) => {
        await s.run(['iptables', '-P', 'INPUT', 'DROP'], 'iptables -P INPUT DROP');
        await s.run(['iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'], 'iptables -A INPUT');
        await s.run(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'], 'iptables -A INPUT');
      },
      { title: /^inbound UDP 5004 \(and RTCP 5005\) is dropped by iptables: policy DROP of chain INPUT$/, fix: `sudo iptables -I INPUT -p udp --dport ${PORT}:${PORT + 1} -j ACCEPT`, rtcpToo: true },
    );
  });

  test('iptables-legacy beside nftables: nftables accepts, the legacy rule still drops', { timeout: 60_000 }, async (t) => {
    need('iptables-legacy', 'iptables');
    await reproduce(
      t,
      'fw-legacy',
      async (s) => {
        await s.run(['nft', '-f', join(RULES, 'open-set.nft')], 'loading open-set.nft');
        await s.run(['iptables-legacy', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'DROP'], 'iptables-legacy -A INPUT');
      },
      { title: /^inbound UDP 5004 is dropped by iptables-legacy: -A INPUT -p udp -m udp --dport 5004 -j DROP$/, fix: `sudo iptables-legacy -I INPUT -p udp --dport ${PORT} -j ACCEPT`, rtcpToo: false },
    );
  });
});
