/**
 * checkFirewall's decisions and fixes, per platform, with the programs replaced by recorded or
 * documented outputs (test/fixtures/firewall). The real thing runs in
 * test/interop/diag-firewall.test.ts (nftables and iptables in a network namespace).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkFirewall, type Runner } from '../../src/diag/firewall';
import { exitCodeOf, type DiagReport, type Finding } from '../../src/diag/report';
import type { RunResult } from '../../src/os/run';
import { RtpcastError } from '../../src/errors';

const DIR = join(__dirname, '../../../test/fixtures/firewall');
const fx = (name: string): string => readFileSync(join(DIR, name), 'utf8');

type Answer = string | Partial<RunResult>;

/** A fake runner: answers keyed by "program arg1 arg2..." (program without its directory). */
function fake(answers: Record<string, Answer>) {
  const calls: { exe: string; args: string[] }[] = [];
  const run: Runner = async (exe, args) => {
    calls.push({ exe, args });
    const key = [basename(exe.replace(/\\/g, '/')), ...args].join(' ');
    const a = answers[key];
    if (a === undefined) return { code: 1, signal: null, stdout: '', stderr: `fake: no answer for ${key}`, timedOut: false };
    if (typeof a === 'string') return { code: 0, signal: null, stdout: a, stderr: '', timedOut: false };
    return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false, ...a };
  };
  return { run, calls };
}

function tools(...names: string[]) {
  return (n: string): string | undefined => (names.includes(n) ? (n.startsWith('/') ? n : `/usr/sbin/${n}`) : undefined);
}

function only(r: DiagReport, id: string): Finding {
  const f = r.findings.filter((x) => x.id === id);
  assert.equal(f.length, 1, `expected one ${id}, got:\n${JSON.stringify(r.findings, null, 2)}`);
  return f[0];
}
function ids(r: DiagReport): string[] {
  return r.findings.map((f) => f.id);
}

const IPT_NFT_V = 'iptables v1.8.9 (nf_tables)\n';

// =================================================================================================
describe('Linux', () => {
  test('F3: an nft drop rule is named, with an insert (not add) fix for RTP only', async () => {
    const { run } = fake({ 'nft -j list ruleset': fx('nft-drop-port.json') });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft') });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.severity, 'problem');
    assert.equal(f.title, 'inbound UDP 5004 is dropped by nftables: udp dport 5004 drop');
    assert.match(f.detail!, /table inet filter, chain input/);
    assert.match(f.fix!, /^sudo nft insert rule inet filter input udp dport 5004 accept\n/);
    assert.deepEqual(ids(r), ['firewall.blocked'], 'RTCP (5005) is accepted: no second finding');
    assert.equal(exitCodeOf(r), 1);
  });

  test('policy drop: RTP and RTCP in one finding, an add fix for both', async () => {
    const { run } = fake({ 'nft -j list ruleset': fx('nft-policy-drop.json') });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft') });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.title, 'inbound UDP 5004 (and RTCP 5005) is dropped by nftables: policy drop of chain input');
    assert.match(f.fix!, /^sudo nft add rule inet filter input udp dport 5004-5005 accept/);
  });

  test('only RTCP blocked: a warning, not a problem', async () => {
    const { run } = fake({ 'nft -j list ruleset': fx('nft-drop-port.json') });
    const r = await checkFirewall(5003, { platform: 'linux', run, which: tools('nft') });
    assert.deepEqual(ids(r), ['firewall.open', 'firewall.rtcp-blocked']);
    assert.equal(only(r, 'firewall.rtcp-blocked').severity, 'warn');
    assert.match(only(r, 'firewall.rtcp-blocked').fix!, /udp dport 5004 accept/);
    assert.equal(exitCodeOf(r), 0);
    const noRtcp = await checkFirewall(5003, { platform: 'linux', run, which: tools('nft'), rtcp: false });
    assert.deepEqual(ids(noRtcp), ['firewall.open']);
  });

  test('open: the accepting rule is named; rules that depend on the sender are reported', async () => {
    const { run } = fake({ 'nft -j list ruleset': fx('nft-open-set.json') });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft') });
    const ok = only(r, 'firewall.open');
    assert.equal(ok.severity, 'ok');
    assert.equal(ok.title, 'inbound UDP 5004 is accepted by nftables');
    assert.equal(ok.detail, 'nftables: udp dport { 5004, 5005 } counter accept');
    const c = await checkFirewall(5004, { platform: 'linux', run: fake({ 'nft -j list ruleset': fx('nft-conditional.json') }).run, which: tools('nft') });
    assert.match(only(c, 'firewall.blocked').detail!, /unless the sender matches one of these rules:\n.*lan0.*\n.*ip saddr 192\.168\.1\.0\/24 udp dport 5004 accept/);
  });

  test('no base chain at all: nothing filters', async () => {
    const { run } = fake({ 'nft -j list ruleset': fx('nft-empty.json'), 'iptables -V': IPT_NFT_V, 'iptables-legacy-save': '' });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft', 'iptables', 'iptables-save', 'iptables-legacy-save') });
    assert.deepEqual(ids(r), ['firewall.open']);
    assert.equal(r.findings[0].title, 'nothing on this machine filters inbound UDP 5004');
  });

  test('iptables-nft rules are read from iptables-save, not reported twice through nft', async () => {
    const { run, calls } = fake({
      'nft -j list ruleset': fx('nft-iptables-nft.json'),
      'iptables -V': IPT_NFT_V,
      'iptables-save': fx('iptables-nft-save.txt'),
      'iptables-legacy-save': '',
    });
    const which = tools('nft', 'iptables', 'iptables-save', 'iptables-legacy-save');
    const r = await checkFirewall(5008, { platform: 'linux', run, which });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.title, 'inbound UDP 5008 (and RTCP 5009) is dropped by iptables: policy DROP of chain INPUT');
    assert.match(f.fix!, /^sudo iptables -I INPUT -p udp --dport 5008:5009 -j ACCEPT/);
    assert.match(f.detail!, /-A RTP -s 10\.0\.0\.0\/8 -p udp -m udp --dport 5007:5009 -j ACCEPT/);
    assert.deepEqual((r.data as { nftables: { reportedElsewhere: string[] } }).nftables.reportedElsewhere, ['ip filter']);
    assert.ok(calls.some((c) => c.exe.endsWith('iptables-save')));
    const open = await checkFirewall(5004, { platform: 'linux', run, which });
    assert.deepEqual(ids(open), ['firewall.open', 'firewall.rtcp-blocked']);
    assert.equal(open.findings[0].detail, 'iptables: -A INPUT -p udp -m udp --dport 5004 -j ACCEPT');
  });

  test('iptables-legacy rules beside nftables: both must accept', async () => {
    const { run } = fake({
      'nft -j list ruleset': fx('nft-open-set-with-legacy.json'),
      'iptables -V': IPT_NFT_V,
      'iptables-legacy-save': fx('iptables-legacy-save.txt'),
    });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft', 'iptables', 'iptables-save', 'iptables-legacy-save') });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.title, 'inbound UDP 5004 is dropped by iptables-legacy: -A INPUT -p udp -m udp --dport 5004 -j DROP');
    assert.match(f.fix!, /^sudo iptables-legacy -I INPUT -p udp --dport 5004 -j ACCEPT/);
  });

  test('ufw: default deny, and a deny rule that needs an insert', async () => {
    const which = tools('nft', 'ufw');
    const a = await checkFirewall(5004, { platform: 'linux', run: fake({ 'ufw status verbose': fx('ufw-active-default-deny.txt'), 'nft -j list ruleset': fx('nft-empty.json') }).run, which });
    const f = only(a, 'firewall.blocked');
    assert.equal(f.title, 'inbound UDP 5004 (and RTCP 5005) is dropped by ufw: Default: deny (incoming)');
    assert.equal(f.fix, 'sudo ufw allow 5004:5005/udp');
    const b = await checkFirewall(5004, { platform: 'linux', run: fake({ 'ufw status verbose': fx('ufw-active-deny-rule.txt'), 'nft -j list ruleset': fx('nft-empty.json') }).run, which });
    assert.match(only(b, 'firewall.blocked').fix!, /^sudo ufw insert 1 allow 5004:5005\/udp/);
    const c = await checkFirewall(5004, { platform: 'linux', run: fake({ 'ufw status verbose': fx('ufw-inactive.txt'), 'nft -j list ruleset': fx('nft-open-set.json') }).run, which });
    assert.deepEqual(ids(c), ['firewall.open']);
  });

  test('firewalld: zones, services, rich rules; its own nft table is not reported again', async () => {
    const base: Record<string, Answer> = {
      'firewall-cmd --state': fx('firewalld-state-running.txt'),
      'firewall-cmd --get-active-zones': fx('firewalld-active-zones.txt'),
      'firewall-cmd --list-all --zone=public': fx('firewalld-zone-public.txt'),
      'firewall-cmd --list-all --zone=trusted': 'trusted (active)\n  target: ACCEPT\n  sources: 192.168.50.0/24\n',
      'firewall-cmd --info-service=ssh': fx('firewalld-service-ssh.txt'),
      'firewall-cmd --info-service=mdns': fx('firewalld-service-mdns.txt'),
      'firewall-cmd --info-service=dhcpv6-client': fx('firewalld-service-dhcpv6-client.txt'),
      'nft -j list ruleset': JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'firewalld' } }, { chain: { family: 'inet', table: 'firewalld', name: 'filter_INPUT', type: 'filter', hook: 'input', prio: 10, policy: 'accept' } }, { rule: { family: 'inet', table: 'firewalld', chain: 'filter_INPUT', expr: [{ reject: null }] } }] }),
    };
    const which = tools('nft', 'firewall-cmd');
    const r = await checkFirewall(5004, { platform: 'linux', run: fake(base).run, which });
    const f = only(r, 'firewall.blocked');
    assert.match(f.title, /^inbound UDP 5004 \(and RTCP 5005\) is rejected by firewalld zone public \(eth0, wlan0\): target default of zone public/);
    assert.equal(f.fix, 'sudo firewall-cmd --zone=public --add-port=5004-5005/udp --permanent && sudo firewall-cmd --reload');
    assert.match(f.detail!, /senders 192\.168\.50\.0\/24 use zone trusted: target ACCEPT/);
    assert.deepEqual((r.data as { nftables: { reportedElsewhere: string[] } }).nftables.reportedElsewhere, ['inet firewalld']);
    const mdns = await checkFirewall(5353, { platform: 'linux', run: fake(base).run, which, rtcp: false });
    assert.equal(only(mdns, 'firewall.open').detail, 'firewalld zone public (eth0, wlan0): service mdns (5353/udp)');
    const rich = await checkFirewall(5004, { platform: 'linux', run: fake({ ...base, 'firewall-cmd --get-active-zones': 'home\n  interfaces: enp3s0\n', 'firewall-cmd --list-all --zone=home': fx('firewalld-zone-rich.txt') }).run, which });
    const rf = only(rich, 'firewall.blocked');
    assert.match(rf.fix!, /--remove-rich-rule='rule family="ipv4" port port="5004" protocol="udp" reject'/);
  });

  test('not root: "unknown" with the command to run', async () => {
    const { run } = fake({
      'nft -j list ruleset': { code: 1, stderr: 'Error: Could not process rule: Operation not permitted\n' },
      'iptables -V': IPT_NFT_V,
      'iptables-save': { code: 1, stderr: 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n' },
      'iptables-legacy-save': { code: 1, stderr: 'iptables-legacy-save v1.8.9 (legacy): Cannot initialize: Permission denied (you must be root)\n' },
      'ufw status verbose': { code: 1, stdout: fx('ufw-not-root.txt') },
    });
    const r = await checkFirewall(5004, { platform: 'linux', run, which: tools('nft', 'iptables', 'iptables-save', 'iptables-legacy-save', 'ufw') });
    const f = only(r, 'firewall.needs-root');
    assert.equal(f.severity, 'unknown');
    assert.equal(f.fix, 'sudo rtpcast diag firewall --port 5004');
    assert.equal(f.detail, 'could not run: ufw status verbose, nft list ruleset, iptables-save, iptables-legacy-save');
    assert.deepEqual(ids(r), ['firewall.needs-root'], 'no "accepted" guess');
    assert.equal(exitCodeOf(r), 2);
  });

  test('no firewall tool: "unknown" with what to install', async () => {
    const r = await checkFirewall(5004, { platform: 'linux', run: fake({}).run, which: tools() });
    const f = only(r, 'firewall.no-tool');
    assert.equal(f.severity, 'unknown');
    assert.match(f.fix!, /sudo apt-get install nftables/);
  });

  test('programs are run with argument arrays', async () => {
    const { run, calls } = fake({ 'nft -j list ruleset': fx('nft-empty.json') });
    await checkFirewall(5004, { platform: 'linux', run, which: tools('nft') });
    assert.deepEqual(calls, [{ exe: '/usr/sbin/nft', args: ['-j', 'list', 'ruleset'] }]);
  });
});

// =================================================================================================
describe('Windows', () => {
  /** PowerShell answering the firewall script with a fixture; checks how it was called */
  const ps =
    (json: string): Runner =>
    async (exe, args) => {
      assert.equal(basename(exe.replace(/\\/g, '/')), 'powershell');
      assert.deepEqual(args.slice(0, 3), ['-NoProfile', '-NonInteractive', '-Command']);
      assert.equal(args.length, 4, 'the whole script is one argument');
      return { code: 0, signal: null, stdout: json, stderr: '', timedOut: false };
    };

  test('F3: Public network, default Block: the rule to add, and switching to Private; VLC\'s own Block rule', async () => {
    const r = await checkFirewall(5004, { platform: 'win32', run: ps(fx('windows-public-default.json')), which: tools() });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.title, 'Windows Defender Firewall blocks inbound UDP 5004 (and RTCP 5005) on the Public network ("HomeNet-5G" on Wi-Fi): default inbound action of the Public profile: Block (NotConfigured)');
    assert.match(f.fix!, /New-NetFirewallRule -DisplayName "rtpcast RTP" -Direction Inbound -Protocol UDP -LocalPort 5004-5005 -Action Allow -Profile Private/);
    assert.match(f.fix!, /Set-NetConnectionProfile -InterfaceAlias "Wi-Fi" -NetworkCategory Private/);
    assert.match(f.fix!, /-Profile Public/);
    const v = only(r, 'firewall.program-blocked');
    assert.match(v.title, /^vlc\.exe may not receive UDP 5004 on the Public network: rule "VLC media player" \(Block\)/);
    assert.match(v.fix!, /Disable-NetFirewallRule -Name 'UDP Query User\{0E7F6A9B-3C2D-4B1A-8F5E-6D4C3B2A1F00\}C:\\program files\\videolan\\vlc\\vlc\.exe'/);
    assert.match(v.fix!, /Cancel/);
    assert.equal(exitCodeOf(r), 1);
  });

  test('numeric enums, Private network with an allow rule: open', async () => {
    const r = await checkFirewall(5004, { platform: 'win32', run: ps(fx('windows-private-open-numeric.json')), which: tools() });
    assert.deepEqual(ids(r), ['firewall.open']);
    assert.equal(r.findings[0].title, 'inbound UDP 5004 is allowed on the Private network ("Network 2" on Ethernet): rule "rtpcast RTP" (Allow)');
  });

  test('two networks: a Block rule wins on one, the other is open', async () => {
    const r = await checkFirewall(5004, { platform: 'win32', run: ps(fx('windows-block-wins.json')), which: tools() });
    assert.deepEqual(ids(r).sort(), ['firewall.blocked', 'firewall.open']);
    const f = only(r, 'firewall.blocked');
    assert.match(f.title, /on the Private network \("Office" on Ethernet\): rule "Block media ports \(IT policy\)" \(Block\)/);
    assert.match(f.fix!, /Disable-NetFirewallRule -Name 'block-media'/);
  });

  test('firewall off: open; PowerShell error: unknown', async () => {
    assert.deepEqual(ids(await checkFirewall(5004, { platform: 'win32', run: ps(fx('windows-firewall-off.json')), which: tools() })), ['firewall.open']);
    const e = await checkFirewall(5004, { platform: 'win32', run: ps(fx('windows-error.json')), which: tools() });
    assert.equal(only(e, 'firewall.unknown').detail, 'The RPC server is unavailable.');
    assert.equal(exitCodeOf(e), 2);
  });
});

// =================================================================================================
describe('macOS', () => {
  const SFW = '/usr/libexec/ApplicationFirewall/socketfilterfw';
  const mac = (a: Record<string, Answer>) => fake(a).run;
  const base = {
    'socketfilterfw --getglobalstate': fx('socketfilterfw-globalstate-on.txt'),
    'socketfilterfw --getblockall': fx('socketfilterfw-blockall-off.txt'),
    'socketfilterfw --listapps': fx('socketfilterfw-listapps.txt'),
    'pfctl -s info': fx('pfctl-info-disabled.txt'),
  };

  test('application firewall on: node blocked; pf disabled', async () => {
    const r = await checkFirewall(5004, { platform: 'darwin', run: mac(base), which: tools(SFW, 'pfctl') });
    const f = only(r, 'firewall.program-blocked');
    assert.equal(f.fix, `sudo ${SFW} --unblockapp "/opt/homebrew/Cellar/node/22.11.0/bin/node"`);
    assert.equal(only(r, 'firewall.app-firewall').severity, 'info');
  });

  test('block all incoming connections', async () => {
    const r = await checkFirewall(5004, { platform: 'darwin', run: mac({ ...base, 'socketfilterfw --getblockall': fx('socketfilterfw-blockall-on.txt') }), which: tools(SFW, 'pfctl') });
    assert.equal(only(r, 'firewall.blocked').fix, `sudo ${SFW} --setblockall off`);
  });

  test('pf enabled with a blocking rule; pf unreadable without root', async () => {
    const off = { ...base, 'socketfilterfw --getglobalstate': fx('socketfilterfw-globalstate-off.txt') };
    const r = await checkFirewall(5004, { platform: 'darwin', run: mac({ ...off, 'pfctl -s info': fx('pfctl-info-enabled.txt'), 'pfctl -s rules': fx('pfctl-rules-block.txt') }), which: tools(SFW, 'pfctl') });
    const f = only(r, 'firewall.blocked');
    assert.equal(f.title, 'inbound UDP 5004 (and RTCP 5005) is dropped by pf: block drop in all');
    assert.match(f.fix!, /pass in quick proto udp from any to any port 5004:5005/);
    assert.equal(only(r, 'firewall.conditional').severity, 'info');
    const nr = await checkFirewall(5004, { platform: 'darwin', run: mac({ ...off, 'pfctl -s info': { code: 1, stderr: 'pfctl: /dev/pf: Permission denied\n' } }), which: tools(SFW, 'pfctl') });
    assert.deepEqual(ids(nr), ['firewall.needs-root']);
    const open = await checkFirewall(5004, { platform: 'darwin', run: mac(off), which: tools(SFW, 'pfctl') });
    assert.deepEqual(ids(open), ['firewall.open']);
  });
});

test('the port is checked before anything runs', async () => {
  for (const bad of [0, 65536, 5004.5, -1]) {
    await assert.rejects(checkFirewall(bad, { platform: 'linux', run: fake({}).run, which: tools() }), (e: unknown) => e instanceof RtpcastError && e.exitCode === 2);
  }
  const r = await checkFirewall(5004, { platform: 'aix', run: fake({}).run, which: tools() });
  assert.equal(only(r, 'firewall.unknown').severity, 'unknown');
});
