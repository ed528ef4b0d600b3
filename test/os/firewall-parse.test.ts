import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  activeWindowsProfiles,
  evaluateFirewalldZone,
  evaluateIptablesInbound,
  evaluateNftInbound,
  evaluatePfInbound,
  evaluateUfwInbound,
  evaluateWindowsInbound,
  frontendOfIptables,
  frontendOfTable,
  iptablesHasFiltering,
  isIptablesNftTable,
  parseFirewalldActiveZones,
  parseFirewalldZone,
  parseIptablesSave,
  parseNftRuleset,
  parsePfEnabled,
  parseSocketfilterfw,
  parseUfwStatus,
  parseWindowsFirewallJson,
  renderNftRule,
  splitIptablesArgs,
  winProgramMatches,
  WINDOWS_FIREWALL_SCRIPT,
} from '../../src/os/firewall-parse';

// tests run from dist/test/os
const DIR = join(__dirname, '../../../test/fixtures/firewall');
const fx = (name: string): string => readFileSync(join(DIR, name), 'utf8');

function nft(name: string, port: number, o: Parameters<typeof evaluateNftInbound>[2] = {}) {
  return evaluateNftInbound(fx(name), port, o);
}

// =================================================================================================
describe('nftables (recorded: nft -j list ruleset, nftables 1.0.6)', () => {
  test('the rule text rendered from JSON is what `nft list ruleset` prints for every native rule', () => {
    let checked = 0;
    for (const n of readdirSync(DIR).filter((x) => /^nft-.*\.json$/.test(x))) {
      const txtFile = join(DIR, n.replace(/\.json$/, '.txt'));
      if (!existsSync(txtFile)) continue;
      const lines = new Set(
        readFileSync(txtFile, 'utf8')
          .replace(/counter packets \d+ bytes \d+/g, 'counter')
          .split('\n')
          .map((l) => l.trim().replace(/\s{2,}/g, ' ')),
      );
      for (const r of parseNftRuleset(fx(n)).rules) {
        if (r.expr.some((e: Record<string, unknown>) => 'xt' in e)) continue; // iptables-nft's opaque matches
        assert.ok(lines.has(renderNftRule(r)), `${n}: "${renderNftRule(r)}" is not a line of ${n.replace(/\.json$/, '.txt')}`);
        checked++;
      }
    }
    assert.ok(checked >= 30, `only ${checked} rules checked`);
  });

  test('F3: an explicit drop rule decides; RTCP falls to the accept policy', () => {
    const d = nft('nft-drop-port.json', 5004);
    assert.equal(d.verdict, 'drop');
    assert.equal(d.decidedBy, 'udp dport 5004 drop');
    assert.equal(d.byPolicy, false);
    assert.deepEqual([d.family, d.table, d.chain], ['inet', 'filter', 'input']);
    assert.equal(d.where, 'table inet filter, chain input');
    assert.deepEqual(d.conditional, []);
    const r = nft('nft-drop-port.json', 5005);
    assert.equal(r.verdict, 'accept');
    assert.equal(r.decidedBy, 'policy accept of chain input');
  });

  test('policy drop decides when no rule accepts the port (loopback and ssh rules do not count)', () => {
    for (const f of ['nft-policy-drop.json', 'nft-policy-drop-nolo.json']) {
      const d = nft(f, 5004);
      assert.equal(d.verdict, 'drop', f);
      assert.equal(d.decidedBy, 'policy drop of chain input');
      assert.equal(d.byPolicy, true);
    }
    // traffic that does come in on lo is accepted by the lo rule
    assert.equal(nft('nft-policy-drop.json', 5004, { iif: 'lo' }).decidedBy, 'iifname "lo" accept');
  });

  test('an anonymous set opens RTP and RTCP; other ports meet the policy', () => {
    assert.equal(nft('nft-open-set.json', 5004).decidedBy, 'udp dport { 5004, 5005 } counter accept');
    assert.equal(nft('nft-open-set.json', 5005).verdict, 'accept');
    assert.equal(nft('nft-open-set.json', 5006).decidedBy, 'policy drop of chain input');
  });

  test('reject is its own verdict', () => {
    const d = nft('nft-reject.json', 5004);
    assert.equal(d.verdict, 'reject');
    assert.equal(d.decidedBy, 'udp dport 5004 reject with icmpx admin-prohibited');
  });

  test('sets, ranges, named sets, th dport, vmaps, jump/return, goto, negation', () => {
    const cases: [number, string, string, string][] = [
      [7000, 'accept', 'udp dport 7000 accept', 'input'], // written as meta l4proto udp th dport 7000
      [5010, 'accept', 'udp dport { 5010, 5020-5030 } counter accept', 'input'],
      [5025, 'accept', 'udp dport { 5010, 5020-5030 } counter accept', 'input'],
      [5004, 'accept', 'udp dport @rtp_ports accept', 'input'],
      [5005, 'accept', 'udp dport @rtp_ports accept', 'input'],
      [6000, 'accept', 'udp dport @rtp_ports accept', 'input'],
      [5102, 'accept', 'udp dport 5100-5103 accept', 'input'],
      [4000, 'accept', 'udp dport vmap { 4000 : accept, 4001 : drop }', 'input'],
      [4001, 'drop', 'udp dport vmap { 4000 : accept, 4001 : drop }', 'input'],
      [5555, 'accept', 'udp dport 5555 accept', 'rtp'], // jump
      [5556, 'reject', 'udp dport 5556 reject with icmp port-unreachable', 'rtp'],
      [5200, 'drop', 'udp dport != 9 udp dport 5200 drop', 'input'], // after the jump returned
      [5557, 'drop', 'udp dport 5557 drop', 'rtp2'], // goto
      [5558, 'accept', 'udp dport 5558 accept', 'rtp2'],
      [5559, 'drop', 'policy drop of chain input', 'input'], // goto target ran out: the base chain's policy
      [22, 'drop', 'policy drop of chain input', 'input'], // tcp dport 22 does not match UDP
    ];
    for (const [port, verdict, by, chain] of cases) {
      const d = nft('nft-rich.json', port);
      assert.equal(d.verdict, verdict, `port ${port}: ${d.decidedBy}`);
      assert.equal(d.decidedBy, by, `port ${port}`);
      assert.equal(d.ruleChain, chain, `port ${port}`);
      assert.equal(d.chain, 'input', 'the base chain that decided');
    }
  });

  test('a rule that depends on the sender does not decide, it is reported as conditional', () => {
    const d = nft('nft-rich.json', 8000);
    assert.equal(d.verdict, 'drop');
    assert.equal(d.decidedBy, 'policy drop of chain input');
    assert.deepEqual(d.conditional, [{ verdict: 'accept', rule: 'ip saddr 192.168.1.0/24 udp dport 8000 accept', where: 'table inet filter, chain input' }]);
  });

  test('several base chains: an accept ends one chain only, a drop anywhere is final, families and hooks count', () => {
    const d = nft('nft-multi-base.json', 5004);
    assert.equal(d.verdict, 'drop');
    assert.equal(d.decidedBy, 'policy drop of chain input');
    assert.equal(d.where, 'table ip strict, chain input');
    assert.deepEqual(
      d.chains.map((c) => [`${c.family} ${c.table}`, c.chain, c.verdict]),
      [
        ['inet early', 'pre', 'accept'], // prerouting first
        ['inet filter', 'input', 'accept'],
        ['ip strict', 'input', 'drop'],
      ],
    );
    const ok = nft('nft-multi-base.json', 5005);
    assert.equal(ok.verdict, 'accept');
    assert.equal(ok.decidedBy, 'udp dport { 5004, 5005 } accept', 'the first explicit accept is named');
    assert.equal(ok.chains.length, 3);
    const v6 = nft('nft-multi-base.json', 5005, { family: 'ipv6' });
    assert.equal(v6.verdict, 'drop');
    assert.equal(v6.where, 'table ip6 v6only, chain input', 'priority -10 runs before inet filter');
    const pre = nft('nft-multi-base.json', 6000);
    assert.equal(pre.verdict, 'drop');
    assert.equal(pre.decidedBy, 'udp dport 6000 drop');
    assert.equal(pre.where, 'table inet early, chain pre', 'prerouting runs before input');
  });

  test('interface vmaps (OpenWrt fw4 style): the answer depends on the interface', () => {
    const d = nft('nft-conditional.json', 5004);
    assert.equal(d.verdict, 'drop');
    assert.equal(d.decidedBy, 'policy drop of chain input');
    assert.deepEqual(
      d.conditional.map((c) => c.rule),
      ['iifname vmap { "lo" : accept, "lan0" : jump input_lan, "wan0" : jump input_wan } -> udp dport 5004-5005 accept', 'ip saddr 192.168.1.0/24 udp dport 5004 accept'],
    );
    const lan = nft('nft-conditional.json', 5004, { iif: 'lan0' });
    assert.equal(lan.verdict, 'accept');
    assert.equal(lan.decidedBy, 'udp dport 5004-5005 accept');
    assert.equal(lan.where, 'table inet fw, chain input_lan');
    assert.equal(nft('nft-conditional.json', 5004, { iif: 'wan0' }).verdict, 'drop');
  });

  test('no tables: nothing filters', () => {
    const d = nft('nft-empty.json', 5004);
    assert.equal(d.verdict, 'accept');
    assert.equal(d.chains.length, 0);
    assert.match(d.decidedBy, /no input chain/);
  });

  test('iptables-nft tables are recognised (their matches are opaque xt expressions) and can be skipped', () => {
    const rs = parseNftRuleset(fx('nft-iptables-nft.json'));
    assert.equal(isIptablesNftTable(rs, { family: 'ip', name: 'filter' }), true);
    assert.equal(isIptablesNftTable(parseNftRuleset(fx('nft-rich.json')), { family: 'inet', name: 'filter' }), false);
    assert.equal(frontendOfTable(rs, { family: 'ip', name: 'filter' }), undefined);
    // read through nft alone, the REJECT target still decides; xt matches are conditional
    const d = evaluateNftInbound(rs, 5006);
    assert.equal(d.verdict, 'reject');
    assert.ok(d.conditional.some((c) => c.rule.includes('xt match "conntrack"')));
    const skipped = evaluateNftInbound(rs, 5006, { skipTable: (t) => isIptablesNftTable(rs, t) });
    assert.equal(skipped.chains.length, 0);
    assert.equal(skipped.verdict, 'accept');
  });

  test('bad input says what is wrong', () => {
    assert.throws(() => parseNftRuleset('Error: Operation not permitted'), /not JSON/);
    assert.throws(() => parseNftRuleset('{"x":1}'), /no "nftables" array/);
  });
});

// =================================================================================================
describe('iptables-save (recorded: iptables 1.8.9, nf_tables and legacy)', () => {
  test('header, policies, user chains, quoted comments', () => {
    const s = parseIptablesSave(fx('iptables-nft-save.txt'));
    assert.equal(s.variant, 'nf_tables');
    assert.equal(s.tables.filter.INPUT.policy, 'DROP');
    assert.equal(s.tables.filter.RTP.policy, undefined);
    assert.equal(s.tables.filter.INPUT.rules.length, 6);
    assert.equal(parseIptablesSave(fx('iptables-legacy-save.txt')).variant, 'legacy');
    assert.deepEqual(splitIptablesArgs('-A INPUT -m comment --comment "rtp range" -j ACCEPT'), ['-A', 'INPUT', '-m', 'comment', '--comment', 'rtp range', '-j', 'ACCEPT']);
    const warn = parseIptablesSave(fx('iptables-nft-save-legacy-warning.txt'));
    assert.equal(warn.legacyTablesPresent, true);
    assert.equal(iptablesHasFiltering(warn), false);
    assert.equal(iptablesHasFiltering(fx('iptables-legacy-save.txt')), true);
  });

  test('evaluation: --dport, multiport, user chains, REJECT, conntrack, -s conditions, policy', () => {
    const save = fx('iptables-nft-save.txt');
    const cases: [number, string, string][] = [
      [5004, 'accept', '-A INPUT -p udp -m udp --dport 5004 -j ACCEPT'],
      [6003, 'accept', '-A INPUT -p udp -m multiport --dports 6000,6002:6004 -m comment --comment "rtp range" -j ACCEPT'],
      [5006, 'reject', '-A RTP -p udp -m udp --dport 5006 -j REJECT --reject-with icmp-port-unreachable'],
      [6001, 'drop', 'policy DROP of chain INPUT'],
      [22, 'drop', 'policy DROP of chain INPUT'], // -p tcp --dport 22
    ];
    for (const [port, verdict, by] of cases) {
      const d = evaluateIptablesInbound(save, port);
      assert.equal(d.verdict, verdict, `${port}: ${d.decidedBy}`);
      assert.equal(d.decidedBy, by);
    }
    const c = evaluateIptablesInbound(save, 5008);
    assert.equal(c.verdict, 'drop');
    assert.deepEqual(c.conditional, [{ verdict: 'accept', rule: '-A RTP -s 10.0.0.0/8 -p udp -m udp --dport 5007:5009 -j ACCEPT', where: 'table filter, chain RTP' }]);
    assert.equal(evaluateIptablesInbound(save, 5004, { iif: 'lo' }).decidedBy, '-A INPUT -i lo -j ACCEPT');
  });

  test('dumps made by a frontend are recognised (ufw, firewalld\'s iptables backend)', () => {
    assert.equal(frontendOfIptables(parseIptablesSave('*filter\n:INPUT DROP [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-before-input\nCOMMIT\n')), 'ufw');
    assert.equal(frontendOfIptables(parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n:INPUT_ZONES - [0:0]\n-A INPUT -j INPUT_ZONES\nCOMMIT\n')), 'firewalld');
    assert.equal(frontendOfIptables(parseIptablesSave(fx('iptables-nft-save.txt'))), undefined);
  });

  test('legacy: a DROP rule, the rest accepted by policy', () => {
    assert.equal(evaluateIptablesInbound(fx('iptables-legacy-save.txt'), 5004).decidedBy, '-A INPUT -p udp -m udp --dport 5004 -j DROP');
    assert.equal(evaluateIptablesInbound(fx('iptables-legacy-save.txt'), 5005).decidedBy, 'policy ACCEPT of chain INPUT');
  });
});

// =================================================================================================
describe('ufw status verbose (written from published outputs)', () => {
  test('parses status, default policy and rules, including overflowing columns and comments', () => {
    const st = parseUfwStatus(fx('ufw-active-default-deny.txt'));
    assert.equal(st.active, true);
    assert.equal(st.defaultIncoming, 'deny');
    assert.equal(st.rules.length, 7);
    assert.deepEqual(st.rules[5], { text: '80,443/tcp (Nginx Full (v6)) ALLOW IN  Anywhere (v6)', to: '80,443/tcp (Nginx Full (v6))', action: 'ALLOW', direction: 'IN', from: 'Anywhere (v6)', v6: true });
    assert.equal(parseUfwStatus(fx('ufw-inactive.txt')).active, false);
    assert.equal(parseUfwStatus(fx('ufw-active-open.txt')).rules[1].to, '5004:5005/udp');
  });

  test('first matching rule, else the default policy; tcp-only and v6 rules do not match IPv4 UDP', () => {
    assert.equal(evaluateUfwInbound(fx('ufw-inactive.txt'), 5004).verdict, 'accept');
    const deny = evaluateUfwInbound(fx('ufw-active-default-deny.txt'), 5004);
    assert.deepEqual([deny.verdict, deny.decidedBy, deny.byPolicy], ['drop', 'Default: deny (incoming)', true]);
    assert.equal(evaluateUfwInbound(fx('ufw-active-default-deny.txt'), 5353).decidedBy, '5353/udp  ALLOW IN  Anywhere');
    const open = evaluateUfwInbound(fx('ufw-active-open.txt'), 5005);
    assert.deepEqual([open.verdict, open.decidedBy], ['accept', '5004:5005/udp  ALLOW IN  Anywhere']);
    const r = evaluateUfwInbound(fx('ufw-active-deny-rule.txt'), 5004);
    assert.deepEqual([r.verdict, r.decidedBy], ['drop', '5000:5010/udp  DENY IN  Anywhere']);
    assert.deepEqual(r.conditional.map((c) => c.rule), ['5004/udp on wg0  ALLOW IN  Anywhere', '5004/udp  ALLOW IN  192.168.1.0/24']);
    assert.equal(evaluateUfwInbound(fx('ufw-active-deny-rule.txt'), 6000).verdict, 'reject');
    assert.equal(evaluateUfwInbound(fx('ufw-active-deny-rule.txt'), 7000).decidedBy, 'Default: allow (incoming)');
  });
});

// =================================================================================================
describe('firewalld (written from published firewall-cmd outputs)', () => {
  const svc = {
    ssh: parseFirewalldZone(fx('firewalld-service-ssh.txt')).ports,
    mdns: parseFirewalldZone(fx('firewalld-service-mdns.txt')).ports,
    'dhcpv6-client': parseFirewalldZone(fx('firewalld-service-dhcpv6-client.txt')).ports,
  };

  test('active zones and zone listings', () => {
    assert.deepEqual(parseFirewalldActiveZones(fx('firewalld-active-zones.txt')), [
      { zone: 'public', interfaces: ['eth0', 'wlan0'], sources: [] },
      { zone: 'trusted', interfaces: [], sources: ['192.168.50.0/24'] },
    ]);
    const z = parseFirewalldZone(fx('firewalld-zone-rich.txt'));
    assert.equal(z.name, 'home');
    assert.equal(z.active, true);
    assert.deepEqual(z.ports, ['5000-5010/udp']);
    assert.equal(z.richRules.length, 2);
    const d = parseFirewalldZone(fx('firewalld-zone-public-open.txt'));
    assert.deepEqual([d.isDefault, d.target], [true, 'default']);
    assert.deepEqual(svc, { ssh: ['22/tcp'], mdns: ['5353/udp'], 'dhcpv6-client': ['546/udp'] });
  });

  test('ports, services, rich rules (deny before allow), zone targets', () => {
    const pub = evaluateFirewalldZone(fx('firewalld-zone-public.txt'), 5004, svc);
    assert.deepEqual([pub.verdict, pub.byPolicy], ['reject', true]);
    assert.match(pub.decidedBy, /^target default of zone public/);
    assert.equal(evaluateFirewalldZone(fx('firewalld-zone-public.txt'), 5353, svc).decidedBy, 'service mdns (5353/udp)');
    assert.equal(evaluateFirewalldZone(fx('firewalld-zone-public-open.txt'), 5005, svc).decidedBy, 'ports: 5004-5005/udp');
    const rich = evaluateFirewalldZone(fx('firewalld-zone-rich.txt'), 5004, svc);
    assert.deepEqual([rich.verdict, rich.decidedBy], ['reject', 'rich rule: rule family="ipv4" port port="5004" protocol="udp" reject']);
    assert.equal(evaluateFirewalldZone(fx('firewalld-zone-rich.txt'), 5005, svc).decidedBy, 'ports: 5000-5010/udp');
    const cond = evaluateFirewalldZone(fx('firewalld-zone-rich.txt'), 6000, svc);
    assert.equal(cond.verdict, 'reject');
    assert.equal(cond.conditional.length, 1);
    const drop = evaluateFirewalldZone(fx('firewalld-zone-drop.txt'), 5004, svc);
    assert.deepEqual([drop.verdict, drop.decidedBy], ['drop', 'target DROP of zone drop']);
  });
});

// =================================================================================================
describe('Windows Defender Firewall JSON (written from the documented PowerShell shapes)', () => {
  test('string enums (what WINDOWS_FIREWALL_SCRIPT prints) and numeric enums (plain ConvertTo-Json) read the same', () => {
    const s = parseWindowsFirewallJson(fx('windows-public-default.json'));
    assert.deepEqual(s.profiles.map((p) => [p.name, p.enabled, p.defaultInboundAction, p.defaultInboundActionRaw]), [
      ['Domain', true, 'Block', 'NotConfigured'],
      ['Private', true, 'Block', 'NotConfigured'],
      ['Public', true, 'Block', 'NotConfigured'],
    ]);
    assert.deepEqual(s.connections, [{ name: 'HomeNet-5G', interfaceAlias: 'Wi-Fi', category: 'Public' }]);
    assert.deepEqual(s.rules[3].profiles, ['Private', 'Public']);
    const n = parseWindowsFirewallJson(fx('windows-private-open-numeric.json'));
    assert.deepEqual(n.connections, [{ name: 'Network 2', interfaceAlias: 'Ethernet', category: 'Private' }], 'a single object where an array was expected');
    assert.deepEqual(
      n.rules.map((r) => [r.action, r.direction, r.enabled, r.profiles.join('+'), r.localPorts.join(',')]),
      [
        ['Allow', 'Inbound', true, 'Private', '5004-5005'],
        ['Block', 'Inbound', true, 'Domain+Private+Public', '6000,6002-6004'],
        ['Allow', 'Inbound', false, 'Domain+Private+Public', '7000'],
      ],
    );
    assert.equal(n.profiles[1].defaultInboundAction, 'Block');
    assert.equal(parseWindowsFirewallJson(fx('windows-error.json')).error, 'The RPC server is unavailable.');
    assert.throws(() => parseWindowsFirewallJson('Get-NetFirewallRule : Access is denied'), /did not print JSON/);
  });

  test('F3: a Public network with no rule for the port is blocked by its default; VLC\'s own Block rule wins', () => {
    const s = parseWindowsFirewallJson(fx('windows-public-default.json'));
    assert.deepEqual(activeWindowsProfiles(s), ['Public']);
    const [d] = evaluateWindowsInbound(s, { port: 5004 });
    assert.deepEqual([d.profile, d.verdict, d.byDefault], ['Public', 'block', true]);
    assert.equal(d.decidedBy, 'default inbound action of the Public profile: Block (NotConfigured)');
    const [v] = evaluateWindowsInbound(s, { port: 5004, program: 'vlc.exe' });
    assert.equal(v.verdict, 'block');
    assert.equal(v.rule?.program, 'C:\\program files\\videolan\\vlc\\vlc.exe');
    const [priv] = evaluateWindowsInbound(s, { port: 5004, program: 'vlc.exe', profile: 'Private' });
    assert.deepEqual([priv.verdict, priv.decidedBy], ['allow', 'rule "VLC media player" (Allow)']);
    // a rule for a keyword port (RPCEPMap) or another program does not match
    assert.equal(evaluateWindowsInbound(s, { port: 135 })[0].verdict, 'block');
  });

  test('allow rules, block over allow, disabled rules, profiles off', () => {
    const n = parseWindowsFirewallJson(fx('windows-private-open-numeric.json'));
    assert.equal(evaluateWindowsInbound(n, { port: 5005 })[0].decidedBy, 'rule "rtpcast RTP" (Allow)');
    assert.equal(evaluateWindowsInbound(n, { port: 6003 })[0].decidedBy, 'rule "Block old app" (Block)');
    assert.equal(evaluateWindowsInbound(n, { port: 7000 })[0].byDefault, true, 'a disabled rule does not count');
    const b = parseWindowsFirewallJson(fx('windows-block-wins.json'));
    assert.deepEqual(
      evaluateWindowsInbound(b, { port: 5004 }).map((x) => [x.profile, x.verdict, x.decidedBy]),
      [
        ['Private', 'block', 'rule "Block media ports (IT policy)" (Block)'],
        ['Public', 'allow', 'rule "Allow RTP" (Allow)'],
      ],
    );
    const off = evaluateWindowsInbound(parseWindowsFirewallJson(fx('windows-firewall-off.json')), { port: 5004 })[0];
    assert.deepEqual([off.verdict, off.firewallOff], ['allow', true]);
  });

  test('program matching: by path, or by file name when the rule uses environment variables', () => {
    assert.equal(winProgramMatches('Any', undefined), true);
    assert.equal(winProgramMatches('C:\\Program Files\\nodejs\\node.exe', 'node.exe'), true);
    assert.equal(winProgramMatches('%ProgramFiles%\\VideoLAN\\VLC\\vlc.exe', 'C:\\Program Files\\VideoLAN\\VLC\\vlc.exe'), true);
    assert.equal(winProgramMatches('C:\\a\\vlc.exe', 'C:\\b\\vlc.exe'), false);
    assert.equal(winProgramMatches('C:\\a\\vlc.exe', undefined), false);
  });

  test('the PowerShell script is one argument: no double quotes, no line breaks, JSON out', () => {
    assert.doesNotMatch(WINDOWS_FIREWALL_SCRIPT, /["\n\r]/);
    assert.match(WINDOWS_FIREWALL_SCRIPT, /ConvertTo-Json -Depth 4 -Compress/);
    assert.match(WINDOWS_FIREWALL_SCRIPT, /Get-NetFirewallPortFilter -All/);
    assert.match(WINDOWS_FIREWALL_SCRIPT, /Get-NetFirewallApplicationFilter -All/);
    assert.equal((WINDOWS_FIREWALL_SCRIPT.match(/\{/g) ?? []).length, (WINDOWS_FIREWALL_SCRIPT.match(/\}/g) ?? []).length);
  });
});

// =================================================================================================
describe('macOS (written from published socketfilterfw/pfctl outputs)', () => {
  test('socketfilterfw: global state, block all (new and old wording), per-app list', () => {
    const a = parseSocketfilterfw({ globalState: fx('socketfilterfw-globalstate-on.txt'), blockAll: fx('socketfilterfw-blockall-off.txt'), listApps: fx('socketfilterfw-listapps.txt') });
    assert.deepEqual([a.state, a.enabled, a.blockAll], [1, true, false]);
    assert.deepEqual(a.apps, [
      { path: '/Applications/VLC.app', allow: true },
      { path: '/opt/homebrew/Cellar/node/22.11.0/bin/node', allow: false },
      { path: '/Applications/Spotify.app', allow: true },
    ]);
    assert.equal(parseSocketfilterfw({ blockAll: fx('socketfilterfw-blockall-on.txt') }).blockAll, true);
    assert.equal(parseSocketfilterfw({ blockAll: fx('socketfilterfw-blockall-old-disabled.txt') }).blockAll, false);
    assert.equal(parseSocketfilterfw({ globalState: fx('socketfilterfw-globalstate-off.txt') }).enabled, false);
  });

  test('pf: enabled state; last match wins, quick stops, anchors noted', () => {
    assert.equal(parsePfEnabled(fx('pfctl-info-enabled.txt')), true);
    assert.equal(parsePfEnabled(fx('pfctl-info-disabled.txt')), false);
    assert.equal(parsePfEnabled('pfctl: /dev/pf: Permission denied'), undefined);
    const def = evaluatePfInbound(fx('pfctl-rules-default.txt'), 5004);
    assert.deepEqual([def.verdict, def.anchors], ['accept', ['com.apple/*']]);
    const b = evaluatePfInbound(fx('pfctl-rules-block.txt'), 5004);
    assert.deepEqual([b.verdict, b.decidedBy], ['drop', 'block drop in all']);
    assert.deepEqual(b.conditional.map((c) => c.rule), ['pass in proto udp from 192.168.1.0/24 to any port 5004:5005 keep state']);
    const q = evaluatePfInbound(fx('pfctl-rules-block.txt'), 6000);
    assert.deepEqual([q.verdict, q.decidedBy], ['reject', 'block return in quick proto udp from any to any port = 6000']);
    assert.equal(evaluatePfInbound(fx('pfctl-rules-block.txt'), 7005).verdict, 'accept');
  });
});
