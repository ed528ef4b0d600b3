/**
 * `rtpcast diag firewall --port P`: would inbound UDP to P (RTP) and P+1 (RTCP, where rtpcast sends
 * its reports) be accepted on this machine? Names the rule or default policy that decides and prints
 * the command that opens the port. Linux: nftables, iptables (nft and legacy), ufw, firewalld;
 * Windows: Defender Firewall through PowerShell's JSON (never netsh's localized words); macOS:
 * application firewall and pf. The parsing and the evaluation are pure (src/os/firewall-parse.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram, type RunResult } from '../os/run';
import { findProgram } from '../os/programs';
import { usageError } from '../errors';
import type { DiagReport, Finding } from './report';
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
  WINDOWS_FIREWALL_SCRIPT,
  type ConditionalVerdict,
  type InboundDecision,
  type NftInbound,
  type NftRuleset,
  type WindowsFirewallState,
  type WindowsInbound,
  type WinProfile,
} from '../os/firewall-parse';

export type Runner = (exe: string, args: string[], o?: { timeoutMs?: number }) => Promise<RunResult>;

export interface FirewallCheckOptions {
  platform?: NodeJS.Platform;
  /** runs a program (default: runProgram: argument array, C locale, time limit) */
  run?: Runner;
  /** finds a program (default: PATH, plus the sbin directories on Linux, where nft and iptables live) */
  which?: (name: string) => string | undefined;
  /** also check P+1, where RTCP goes (default true) */
  rtcp?: boolean;
  family?: 'ipv4' | 'ipv6';
  /** the receiving program for program-specific rules (Windows: "vlc.exe"; macOS: a path) */
  program?: string;
}

const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** findProgram, plus the sbin directories (not on an ordinary user's PATH on Debian). */
export function whichSystemProgram(name: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (name.startsWith('/')) return existsSync(name) ? name : undefined;
  const p = findProgram(name);
  if (p || platform === 'win32') return p;
  return SBIN.map((d) => join(d, name)).find((f) => existsSync(f));
}

interface Ran {
  ok: boolean;
  stdout: string;
  stderr: string;
  code: number | null;
  /** could not start at all */
  missing?: boolean;
  timedOut?: boolean;
}

async function tryRun(run: Runner, exe: string, args: string[], timeoutMs = 10_000): Promise<Ran> {
  try {
    const r = await run(exe, args, { timeoutMs });
    return { ok: r.code === 0 && !r.timedOut, stdout: r.stdout, stderr: r.stderr, code: r.code, timedOut: r.timedOut };
  } catch (e) {
    return { ok: false, stdout: '', stderr: (e as Error).message, code: null, missing: true };
  }
}

const NEEDS_ROOT = /Operation not permitted|Permission denied|must be root|need to be root|Not authorized|EPERM|EACCES/i;

function portLabel(ports: number[]): string {
  return ports.length === 1 ? String(ports[0]) : `${ports[0]}-${ports[ports.length - 1]}`;
}

/** One firewall that decides (or could decide) the fate of inbound UDP. */
interface Layer {
  /** short name for the finding: "nftables", "ufw", "firewalld zone public (eth0)"... */
  label: string;
  source: 'nftables' | 'iptables' | 'iptables-legacy' | 'ufw' | 'firewalld';
  decisions: Map<number, InboundDecision>;
  /** the command that opens these ports in this firewall, given the decision for the first */
  fix(ports: number[], d: InboundDecision): string;
}

function verbOf(v: string): string {
  return v === 'reject' ? 'rejected' : 'dropped';
}

function conditionalText(c: ConditionalVerdict[]): string {
  return c.map((x) => `${x.rule} (${x.verdict}; ${x.where})`).join('\n');
}

/**
 * Findings from evaluated layers: a problem per layer that blocks RTP (with its fix, covering RTCP
 * too when the same layer blocks it), a warning when only RTCP is blocked, notes for rules that
 * decide differently for some senders, and "accepted" when nothing blocks.
 */
function layerFindings(port: number, ports: number[], layers: Layer[], system: string): Finding[] {
  const out: Finding[] = [];
  const rtcp = ports.length > 1 ? ports[1] : undefined;
  for (const l of layers) {
    const d = l.decisions.get(port)!;
    const dr = rtcp !== undefined ? l.decisions.get(rtcp) : undefined;
    if (d.verdict !== 'accept') {
      const both = dr && dr.verdict !== 'accept';
      const fixPorts = both ? [port, rtcp!] : [port];
      out.push({
        id: 'firewall.blocked',
        severity: 'problem',
        title: `inbound UDP ${port}${both ? ` (and RTCP ${rtcp})` : ''} is ${verbOf(d.verdict)} by ${l.label}: ${d.decidedBy}`,
        detail: [
          d.where ? `where: ${d.where}` : '',
          'a receiver on this machine gets nothing from other machines while this holds',
          d.conditional.length ? `unless the sender matches one of these rules:\n${conditionalText(d.conditional)}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
        fix: l.fix(fixPorts, d),
      });
    } else if (dr && dr.verdict !== 'accept') {
      out.push({
        id: 'firewall.rtcp-blocked',
        severity: 'warn',
        title: `inbound UDP ${rtcp} (RTCP) is ${verbOf(dr.verdict)} by ${l.label}: ${dr.decidedBy}`,
        detail: `RTP on ${port} gets through, so sound plays; RTCP sender reports on ${rtcp} (used for lip-sync and multi-room sync) do not`,
        fix: l.fix([rtcp!], dr),
      });
    }
    const cond = d.conditional;
    if (cond.length && d.verdict === 'accept') {
      out.push({
        id: 'firewall.conditional',
        severity: 'warn',
        title: `${l.label} accepts UDP ${port}, but some rules would drop it for some senders or interfaces`,
        detail: conditionalText(cond),
        fix: 'check whether your sender\'s address or the receiving interface matches these rules',
      });
    }
  }
  if (!out.some((f) => f.id === 'firewall.blocked')) {
    const lines = layers.map((l) => `${l.label}: ${l.decisions.get(port)!.decidedBy}`);
    out.unshift({
      id: 'firewall.open',
      severity: 'ok',
      title: layers.length ? `inbound UDP ${port} is accepted by ${system}` : `nothing on this machine filters inbound UDP ${port}`,
      ...(lines.length ? { detail: lines.join('\n') } : {}),
    });
  }
  return out;
}

// =================================================================================================
// Linux
// =================================================================================================

function nftFix(d: NftInbound, ports: number[]): string {
  const spec = portLabel(ports);
  const fam = d.family ?? 'inet';
  const table = d.table ?? 'filter';
  const chain = d.chain ?? 'input';
  // "add" appends: enough when the policy decided; a dropping rule needs the accept *before* it
  const verb = d.byPolicy ? 'add' : 'insert';
  return `sudo nft ${verb} rule ${fam} ${table} ${chain} udp dport ${spec} accept\n(this lasts until the rules are reloaded or the machine restarts: add the same rule to chain ${chain} of table ${fam} ${table} in /etc/nftables.conf to keep it)`;
}

function iptablesFix(cmd: string, ports: number[], d: InboundDecision & { table?: string; chain?: string }): string {
  const spec = ports.length === 1 ? String(ports[0]) : `${ports[0]}:${ports[ports.length - 1]}`;
  const table = d.table && d.table !== 'filter' ? ` -t ${d.table}` : '';
  const chain = d.chain ?? 'INPUT';
  const file = cmd.startsWith('ip6') ? 'rules.v6' : 'rules.v4';
  return `sudo ${cmd}${table} -I ${chain} -p udp --dport ${spec} -j ACCEPT\n(this lasts until the next restart; to keep it: sudo apt-get install iptables-persistent, then: sudo sh -c '${cmd}-save > /etc/iptables/${file}')`;
}

async function linuxLayers(port: number, ports: number[], o: Required<Pick<FirewallCheckOptions, 'run' | 'which'>> & FirewallCheckOptions) {
  const { run, which } = o;
  const pk = { family: o.family ?? 'ipv4' } as const;
  const layers: Layer[] = [];
  const findings: Finding[] = [];
  const data: Record<string, unknown> = {};
  const needRoot: string[] = [];
  const tools = {
    nft: which('nft'),
    iptables: which('iptables'),
    iptablesSave: which('iptables-save'),
    iptablesLegacySave: which('iptables-legacy-save'),
    ufw: which('ufw'),
    firewallCmd: which('firewall-cmd'),
  };
  data.tools = Object.fromEntries(Object.entries(tools).map(([k, v]) => [k, v ?? null]));

  // ---- firewalld ------------------------------------------------------------------------------
  let firewalldRunning = false;
  if (tools.firewallCmd) {
    const st = await tryRun(run, tools.firewallCmd, ['--state']);
    firewalldRunning = /^running/m.test(st.stdout);
    data.firewalld = { state: (st.stdout || st.stderr).trim() };
    if (firewalldRunning) {
      const az = await tryRun(run, tools.firewallCmd, ['--get-active-zones']);
      let zones = parseFirewalldActiveZones(az.stdout);
      if (!zones.some((z) => z.interfaces.length)) {
        const dz = await tryRun(run, tools.firewallCmd, ['--get-default-zone']);
        const name = dz.stdout.trim();
        if (name) zones = [{ zone: name, interfaces: [], sources: [] }, ...zones.filter((z) => z.zone !== name)];
      }
      const svcCache: Record<string, string[]> = {};
      const zoneData: unknown[] = [];
      for (const az1 of zones) {
        const r = await tryRun(run, tools.firewallCmd, ['--list-all', `--zone=${az1.zone}`]);
        if (!r.ok) {
          if (NEEDS_ROOT.test(r.stderr)) needRoot.push('firewall-cmd --list-all');
          continue;
        }
        const z = parseFirewalldZone(r.stdout);
        for (const s of z.services.slice(0, 12)) {
          if (svcCache[s]) continue;
          const si = await tryRun(run, tools.firewallCmd, [`--info-service=${s}`]);
          svcCache[s] = si.ok ? parseFirewalldZone(si.stdout).ports : [];
        }
        zoneData.push({ zone: z.name, target: z.target, interfaces: az1.interfaces, sources: az1.sources, ports: z.ports, services: z.services });
        const decisions = new Map(ports.map((p) => [p, evaluateFirewalldZone(z, p, svcCache, pk) as InboundDecision]));
        if (az1.sources.length && !az1.interfaces.length) {
          // a zone bound to source addresses applies to those senders only
          for (const p of ports) {
            const d = decisions.get(p)!;
            const other = layers.find((l) => l.source === 'firewalld');
            if (other) other.decisions.get(p)!.conditional.push({ verdict: d.verdict, rule: `senders ${az1.sources.join(' ')} use zone ${z.name}: ${d.decidedBy}`, where: `firewalld zone ${z.name}` });
          }
          continue;
        }
        const ifs = az1.interfaces.length ? az1.interfaces.join(', ') : 'default zone';
        layers.push({
          label: `firewalld zone ${z.name} (${ifs})`,
          source: 'firewalld',
          decisions,
          fix: (ps, d) => {
            const spec = `${portLabel(ps)}/udp`;
            const open = `sudo firewall-cmd --zone=${z.name} --add-port=${spec} --permanent && sudo firewall-cmd --reload`;
            if (d.decidedBy.startsWith('rich rule: ')) {
              const rr = d.decidedBy.slice('rich rule: '.length);
              return `remove the rich rule that ${verbOf(d.verdict).replace(/ed$/, 's')} it:\nsudo firewall-cmd --zone=${z.name} --remove-rich-rule='${rr}' --permanent && sudo firewall-cmd --reload\nthen, if the port is still closed: ${open}`;
            }
            return open;
          },
        });
      }
      (data.firewalld as Record<string, unknown>).zones = zoneData;
    }
  }

  // ---- ufw ------------------------------------------------------------------------------------
  let ufwActive = false;
  if (tools.ufw) {
    const r = await tryRun(run, tools.ufw, ['status', 'verbose']);
    if (!r.ok && NEEDS_ROOT.test(r.stdout + r.stderr)) needRoot.push('ufw status verbose');
    else if (r.ok) {
      const st = parseUfwStatus(r.stdout);
      ufwActive = st.active;
      data.ufw = { active: st.active, defaultIncoming: st.defaultIncoming ?? null, rules: st.rules.map((x) => x.text) };
      if (st.active) {
        layers.push({
          label: 'ufw',
          source: 'ufw',
          decisions: new Map(ports.map((p) => [p, evaluateUfwInbound(st, p, pk) as InboundDecision])),
          fix: (ps, d) => {
            const spec = ps.length === 1 ? `${ps[0]}/udp` : `${ps[0]}:${ps[ps.length - 1]}/udp`;
            return d.byPolicy ? `sudo ufw allow ${spec}` : `sudo ufw insert 1 allow ${spec}\n(ufw takes the first matching rule: the allow must come before "${d.decidedBy}")`;
          },
        });
      }
    }
  }

  // ---- iptables (which variant; legacy tables beside nftables) --------------------------------
  let iptVariant: 'nf_tables' | 'legacy' | undefined;
  if (tools.iptables) {
    const v = await tryRun(run, tools.iptables, ['-V']);
    iptVariant = /nf_tables/.test(v.stdout) ? 'nf_tables' : /legacy/.test(v.stdout) ? 'legacy' : undefined;
    data.iptables = { version: v.stdout.trim() || null };
  }

  // ---- nftables -------------------------------------------------------------------------------
  let rs: NftRuleset | undefined;
  if (tools.nft) {
    const r = await tryRun(run, tools.nft, ['-j', 'list', 'ruleset']);
    if (!r.ok && NEEDS_ROOT.test(r.stderr)) needRoot.push('nft list ruleset');
    else if (!r.ok) findings.push({ id: 'firewall.unknown', severity: 'unknown', title: 'nft -j list ruleset failed', detail: (r.stderr || r.stdout).trim().slice(0, 400) });
    else {
      try {
        rs = parseNftRuleset(r.stdout || '{"nftables":[]}');
      } catch (e) {
        findings.push({ id: 'firewall.unknown', severity: 'unknown', title: 'cannot read nft -j output', detail: (e as Error).message });
      }
    }
  }

  // iptables-nft's tables: read from iptables-save (nft -j shows their matches as opaque "xt")
  let iptNftEvaluated = false;
  const iptNftTables = rs ? rs.tables.filter((t) => isIptablesNftTable(rs!, t) && !frontendOfTable(rs!, t)) : [];
  if (!ufwActive && tools.iptablesSave && iptVariant === 'nf_tables' && (iptNftTables.length || !rs)) {
    const r = await tryRun(run, tools.iptablesSave, []);
    if (!r.ok && NEEDS_ROOT.test(r.stderr)) needRoot.push('iptables-save');
    else if (r.ok) {
      const save = parseIptablesSave(r.stdout + '\n' + r.stderr);
      iptNftEvaluated = true;
      const fe = frontendOfIptables(save);
      if (iptablesHasFiltering(save) && !(fe === 'firewalld' && firewalldRunning)) {
        layers.push({
          label: 'iptables',
          source: 'iptables',
          decisions: new Map(ports.map((p) => [p, evaluateIptablesInbound(save, p, pk) as InboundDecision])),
          fix: (ps, d) => iptablesFix('iptables', ps, d),
        });
      }
    }
  }
  if (rs) {
    const skipped: string[] = [];
    const skipTable = (t: { family: string; name: string }): boolean => {
      const fe = frontendOfTable(rs!, t);
      const skip = (fe === 'ufw' && ufwActive) || (fe === 'firewalld' && firewalldRunning) || (iptNftEvaluated && isIptablesNftTable(rs!, t));
      if (skip) skipped.push(`${t.family} ${t.name}`);
      return skip;
    };
    const decisions = new Map(ports.map((p) => [p, evaluateNftInbound(rs!, p, { ...pk, skipTable }) as InboundDecision]));
    const nft0 = decisions.get(port) as NftInbound;
    data.nftables = {
      version: rs.version ?? null,
      tables: rs.tables.map((t) => `${t.family} ${t.name}`),
      reportedElsewhere: [...new Set(skipped)],
      baseChains: nft0.chains.map((c) => ({ table: `${c.family} ${c.table}`, chain: c.chain, hook: c.hook, prio: c.prio, policy: c.policy, verdict: c.verdict, decidedBy: c.decidedBy })),
    };
    if (nft0.chains.length) {
      layers.push({
        label: 'nftables',
        source: 'nftables',
        decisions,
        fix: (ps, d) => {
          const nd = d as NftInbound;
          if (nd.family && (nd.family === 'ip' || nd.family === 'ip6') && isIptablesNftTable(rs!, { family: nd.family, name: nd.table ?? '' })) {
            return iptablesFix(nd.family === 'ip6' ? 'ip6tables' : 'iptables', ps, { ...d, table: nd.table, chain: nd.chain });
          }
          return nftFix(nd, ps);
        },
      });
    }
  }

  // iptables-legacy: its hooks run beside nftables' (both must accept)
  const legacyCmd = iptVariant === 'legacy' ? tools.iptablesSave : tools.iptablesLegacySave;
  if (!ufwActive && legacyCmd) {
    const r = await tryRun(run, legacyCmd, []);
    if (!r.ok && NEEDS_ROOT.test(r.stderr)) needRoot.push(`${iptVariant === 'legacy' ? 'iptables-save' : 'iptables-legacy-save'}`);
    else if (r.ok && iptablesHasFiltering(r.stdout) && !(frontendOfIptables(parseIptablesSave(r.stdout)) === 'firewalld' && firewalldRunning)) {
      const cmd = iptVariant === 'legacy' ? 'iptables' : 'iptables-legacy';
      layers.push({
        label: cmd,
        source: 'iptables-legacy',
        decisions: new Map(ports.map((p) => [p, evaluateIptablesInbound(r.stdout, p, pk) as InboundDecision])),
        fix: (ps, d) => iptablesFix(cmd, ps, d),
      });
    }
  }
  return { layers, findings, data, needRoot, tools };
}

async function checkLinux(port: number, ports: number[], o: Required<Pick<FirewallCheckOptions, 'run' | 'which'>> & FirewallCheckOptions): Promise<DiagReport> {
  const { layers, findings, data, needRoot, tools } = await linuxLayers(port, ports, o);
  if (!Object.values(tools).some(Boolean)) {
    findings.push({
      id: 'firewall.no-tool',
      severity: 'unknown',
      title: 'no firewall tool found (nft, iptables, ufw, firewall-cmd)',
      detail: 'without one of them the kernel\'s packet filter cannot be read; a machine that never installed one usually filters nothing',
      fix: 'sudo apt-get install nftables   (then run this check again: sudo rtpcast diag firewall --port ' + port + ')',
    });
    return { check: 'firewall', findings, data: { port, ports, platform: 'linux', ...data } };
  }
  if (needRoot.length) {
    findings.push({
      id: 'firewall.needs-root',
      severity: 'unknown',
      title: 'reading the firewall rules needs root',
      detail: `could not run: ${needRoot.join(', ')}`,
      fix: `sudo rtpcast diag firewall --port ${port}`,
    });
    // what could be read still counts, but "accepted" would be a guess
    const blocked = layerFindings(port, ports, layers, 'the firewall rules that could be read').filter((f) => f.id !== 'firewall.open');
    return { check: 'firewall', findings: [...blocked, ...findings], data: { port, ports, platform: 'linux', layers: layerData(layers, ports), ...data } };
  }
  return {
    check: 'firewall',
    findings: [...layerFindings(port, ports, layers, layers.map((l) => l.label).join(' and ')), ...findings],
    data: { port, ports, platform: 'linux', layers: layerData(layers, ports), ...data },
  };
}

function layerData(layers: Layer[], ports: number[]): unknown[] {
  return layers.map((l) => ({
    firewall: l.label,
    ports: Object.fromEntries(ports.map((p) => {
      const d = l.decisions.get(p)!;
      return [p, { verdict: d.verdict, decidedBy: d.decidedBy, where: d.where ?? null, byPolicy: d.byPolicy, conditional: d.conditional }];
    })),
  }));
}

// =================================================================================================
// Windows
// =================================================================================================

/** Programs whose own rules matter for receiving RTP (rtpcast play runs as node.exe). */
const WIN_RECEIVERS = ['node.exe', 'vlc.exe', 'ffplay.exe', 'ffmpeg.exe', 'gst-launch-1.0.exe'];

function winFix(ps: number[], r: WindowsInbound, st: WindowsFirewallState): string {
  const spec = portLabel(ps);
  if (r.rule && r.rule.action === 'Block') {
    return [
      'In PowerShell as administrator (a Block rule wins over every Allow rule, so it must go):',
      `  Disable-NetFirewallRule -Name '${r.rule.name.replace(/'/g, "''")}'`,
      r.rule.program !== 'Any' ? `(rules that block one program, like this one for ${r.rule.program}, are typically created when the Windows Security prompt for it was answered with Cancel)` : '',
    ]
      .filter(Boolean)
      .join('\n');
  }
  const rule = (profile: WinProfile): string => `  New-NetFirewallRule -DisplayName "rtpcast RTP" -Direction Inbound -Protocol UDP -LocalPort ${spec} -Action Allow -Profile ${profile}`;
  if (r.profile === 'Public') {
    const alias = st.connections.find((c) => c.category === 'Public')?.interfaceAlias || 'Wi-Fi';
    return [
      'In PowerShell as administrator:',
      rule('Private'),
      `and switch this network to Private (Windows blocks inbound traffic on Public networks by default):`,
      `  Set-NetConnectionProfile -InterfaceAlias "${alias}" -NetworkCategory Private`,
      'or, to stay on Public, create the rule with -Profile Public instead.',
    ].join('\n');
  }
  return ['In PowerShell as administrator:', rule(r.profile)].join('\n');
}

function windowsFindings(port: number, ports: number[], st: WindowsFirewallState, program?: string): Finding[] {
  const out: Finding[] = [];
  const profiles = activeWindowsProfiles(st);
  const nets = (p: WinProfile): string => {
    const c = st.connections.filter((x) => (x.category === 'DomainAuthenticated' ? 'Domain' : x.category) === p);
    return c.length ? ` (${c.map((x) => `"${x.name || x.interfaceAlias}" on ${x.interfaceAlias}`).join(', ')})` : '';
  };
  const rtcp = ports[1];
  for (const profile of profiles) {
    const [r] = evaluateWindowsInbound(st, { port, profile, program });
    const rr = rtcp !== undefined ? evaluateWindowsInbound(st, { port: rtcp, profile, program })[0] : undefined;
    if (r.verdict === 'block') {
      const both = rr && rr.verdict === 'block';
      out.push({
        id: 'firewall.blocked',
        severity: 'problem',
        title: `Windows Defender Firewall blocks inbound UDP ${port}${both ? ` (and RTCP ${rtcp})` : ''} on the ${profile} network${nets(profile)}: ${r.decidedBy}`,
        detail:
          r.byDefault
            ? `no enabled inbound rule allows UDP ${port} in the ${profile} profile, so its default inbound action decides${profile === 'Public' ? ' (new networks are Public unless you chose otherwise)' : ''}`
            : `a matching Block rule wins over any Allow rule: ${r.rule!.displayName} (Name ${r.rule!.name}${r.rule!.program !== 'Any' ? `, program ${r.rule!.program}` : ''})`,
        fix: winFix(both ? ports : [port], r, st),
      });
    } else if (rr && rr.verdict === 'block') {
      out.push({
        id: 'firewall.rtcp-blocked',
        severity: 'warn',
        title: `Windows Defender Firewall blocks inbound UDP ${rtcp} (RTCP) on the ${profile} network: ${rr.decidedBy}`,
        detail: `RTP on ${port} gets through; RTCP sender reports on ${rtcp} do not`,
        fix: winFix([rtcp], rr, st),
      });
    }
    // rules for one program (VLC, node): a Block rule for the program wins over any port rule,
    // so it keeps that program deaf even after the port is opened
    const progs = new Set<string>(program ? [program.replace(/^.*[\\/]/, '').toLowerCase()] : []);
    for (const rule of st.rules) {
      const b = rule.program.replace(/^.*[\\/]/, '').toLowerCase();
      if (rule.program !== 'Any' && WIN_RECEIVERS.includes(b)) progs.add(b);
    }
    for (const prog of progs) {
      const [pr] = evaluateWindowsInbound(st, { port, profile, program: prog });
      if (!pr.rule || pr.rule.program === 'Any') continue;
      if (pr.verdict === 'block') {
        out.push({
          id: 'firewall.program-blocked',
          severity: 'problem',
          title: `${prog} may not receive UDP ${port} on the ${profile} network: ${pr.decidedBy} for ${pr.rule.program}`,
          detail: `a Block rule for the program wins over every Allow rule, so opening the port does not help ${prog}`,
          fix: winFix(ports, pr, st),
        });
      } else if (r.verdict === 'block') {
        out.push({
          id: 'firewall.program-allowed',
          severity: 'info',
          title: `${prog} may receive UDP ${port} on the ${profile} network (${pr.decidedBy}); other programs may not`,
          detail: 'rtpcast play runs as node.exe, VLC as vlc.exe: only the program the rule names gets through',
        });
      }
    }
    if (r.verdict === 'allow') {
      out.unshift({ id: 'firewall.open', severity: 'ok', title: `inbound UDP ${port} is allowed on the ${profile} network${nets(profile)}: ${r.decidedBy}` });
    }
  }
  return out;
}

async function checkWindows(port: number, ports: number[], o: Required<Pick<FirewallCheckOptions, 'run' | 'which'>> & FirewallCheckOptions): Promise<DiagReport> {
  const ps = o.which('powershell') ?? 'powershell';
  const r = await tryRun(o.run, ps, ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_FIREWALL_SCRIPT], 90_000);
  let st: WindowsFirewallState | undefined;
  let err = r.missing ? `powershell could not be started: ${r.stderr}` : r.timedOut ? 'PowerShell did not answer within 90 s' : '';
  if (!err) {
    try {
      st = parseWindowsFirewallJson(r.stdout);
      if (st.error) err = st.error;
    } catch (e) {
      err = `${(e as Error).message}${r.stderr ? `\n${r.stderr.trim().slice(0, 300)}` : ''}`;
    }
  }
  if (!st || err) {
    return {
      check: 'firewall',
      findings: [
        {
          id: 'firewall.unknown',
          severity: 'unknown',
          title: 'could not read the Windows Defender Firewall rules',
          detail: err,
          fix: `Get-NetFirewallProfile | Select Name,Enabled,DefaultInboundAction   (in PowerShell; the Windows Defender Firewall service must be running)`,
        },
      ],
      data: { port, ports, platform: 'win32' },
    };
  }
  return {
    check: 'firewall',
    findings: windowsFindings(port, ports, st, o.program),
    data: {
      port,
      ports,
      platform: 'win32',
      activeProfiles: activeWindowsProfiles(st),
      profiles: st.profiles,
      connections: st.connections,
      decisions: ports.map((p) => ({ port: p, profiles: evaluateWindowsInbound(st!, { port: p, program: o.program }) })),
    },
  };
}

// =================================================================================================
// macOS
// =================================================================================================

const SOCKETFILTERFW = '/usr/libexec/ApplicationFirewall/socketfilterfw';
const MAC_RECEIVERS = /(^|\/)(node|VLC\.app|VLC|ffplay|ffmpeg|gst-launch-1\.0)(\/|$)/;

async function checkMac(port: number, ports: number[], o: Required<Pick<FirewallCheckOptions, 'run' | 'which'>> & FirewallCheckOptions): Promise<DiagReport> {
  const findings: Finding[] = [];
  const data: Record<string, unknown> = { port, ports, platform: 'darwin' };
  const sfw = o.which(SOCKETFILTERFW);
  let appBlocksAll = false;
  if (sfw) {
    const [g, b, l] = await Promise.all([tryRun(o.run, sfw, ['--getglobalstate']), tryRun(o.run, sfw, ['--getblockall']), tryRun(o.run, sfw, ['--listapps'])]);
    const alf = parseSocketfilterfw({ globalState: g.stdout, blockAll: b.stdout, listApps: l.stdout });
    data.applicationFirewall = alf;
    if (alf.enabled && alf.blockAll) {
      appBlocksAll = true;
      findings.push({
        id: 'firewall.blocked',
        severity: 'problem',
        title: `the macOS application firewall blocks all incoming connections (inbound UDP ${port} included)`,
        detail: '"Block all incoming connections" is on: only essential system services receive anything',
        fix: `sudo ${SOCKETFILTERFW} --setblockall off`,
      });
    } else if (alf.enabled) {
      const prog = o.program ?? process.execPath;
      const blocked = alf.apps.filter((a) => !a.allow && (MAC_RECEIVERS.test(a.path) || a.path === prog));
      for (const a of blocked) {
        findings.push({
          id: 'firewall.program-blocked',
          severity: 'problem',
          title: `the macOS application firewall blocks incoming connections for ${a.path}`,
          detail: 'this firewall filters by program, not by port: this program receives nothing from other machines',
          fix: `sudo ${SOCKETFILTERFW} --unblockapp "${a.path}"`,
        });
      }
      findings.push({
        id: 'firewall.app-firewall',
        severity: 'info',
        title: 'the macOS application firewall is on: it filters by program, not by port',
        detail: 'the first time a program receives, macOS asks whether to allow it (unsigned programs can be blocked without asking); allowed: ' + (alf.apps.filter((a) => a.allow).map((a) => a.path).join(', ') || 'none listed'),
        fix: `to allow the receiver (here node) explicitly: sudo ${SOCKETFILTERFW} --add "${prog}" && sudo ${SOCKETFILTERFW} --unblockapp "${prog}"`,
      });
    }
  }
  const pfctl = o.which('pfctl');
  let pfBlocked = false;
  let pfUnknown = false;
  if (pfctl) {
    const info = await tryRun(o.run, pfctl, ['-s', 'info']);
    const enabled = parsePfEnabled(info.stdout);
    if (enabled === undefined && NEEDS_ROOT.test(info.stderr)) pfUnknown = true;
    data.pf = { enabled: enabled ?? null };
    if (enabled) {
      const rules = await tryRun(o.run, pfctl, ['-s', 'rules']);
      if (!rules.ok && NEEDS_ROOT.test(rules.stderr)) pfUnknown = true;
      else {
        const decisions = ports.map((p) => evaluatePfInbound(rules.stdout, p, { family: o.family }));
        (data.pf as Record<string, unknown>).decisions = decisions.map((d, i) => ({ port: ports[i], verdict: d.verdict, decidedBy: d.decidedBy }));
        const d = decisions[0];
        const both = decisions[1] && decisions[1].verdict !== 'accept';
        const spec = both ? `${ports[0]}:${ports[1]}` : String(port);
        if (d.verdict !== 'accept') {
          pfBlocked = true;
          findings.push({
            id: 'firewall.blocked',
            severity: 'problem',
            title: `inbound UDP ${port}${both ? ` (and RTCP ${ports[1]})` : ''} is ${verbOf(d.verdict)} by pf: ${d.decidedBy}`,
            detail: `pf takes the last matching rule (or the first "quick" one)${d.anchors.length ? `; rules inside anchors (${d.anchors.join(', ')}) are not shown by pfctl -s rules` : ''}`,
            fix: `put this line before the blocking rule in /etc/pf.conf (or the anchor that holds it), then reload:\n  pass in quick proto udp from any to any port ${spec}\n  sudo pfctl -f /etc/pf.conf`,
          });
        } else if (decisions[1] && decisions[1].verdict !== 'accept') {
          findings.push({
            id: 'firewall.rtcp-blocked',
            severity: 'warn',
            title: `inbound UDP ${ports[1]} (RTCP) is ${verbOf(decisions[1].verdict)} by pf: ${decisions[1].decidedBy}`,
            fix: `add before it in /etc/pf.conf: pass in quick proto udp from any to any port ${ports[1]}   then: sudo pfctl -f /etc/pf.conf`,
          });
        }
        if (d.conditional.length) {
          findings.push({ id: 'firewall.conditional', severity: d.verdict === 'accept' ? 'warn' : 'info', title: `some pf rules decide differently for some senders or interfaces`, detail: conditionalText(d.conditional) });
        }
      }
    }
  }
  if (pfUnknown && !appBlocksAll) {
    findings.push({ id: 'firewall.needs-root', severity: 'unknown', title: 'reading the pf rules needs root', detail: 'pfctl: /dev/pf: Permission denied', fix: `sudo rtpcast diag firewall --port ${port}` });
  }
  if (!sfw && !pfctl) {
    findings.push({ id: 'firewall.no-tool', severity: 'unknown', title: 'neither socketfilterfw nor pfctl was found', fix: `${SOCKETFILTERFW} --getglobalstate` });
  }
  if (!findings.some((f) => f.severity === 'problem' || f.severity === 'unknown') && !pfBlocked) {
    findings.unshift({ id: 'firewall.open', severity: 'ok', title: `inbound UDP ${port} is not blocked by the application firewall or pf` });
  }
  return { check: 'firewall', findings, data };
}

// =================================================================================================

/**
 * Would inbound UDP to `port` (and `port`+1, RTCP) be accepted here? Finding ids:
 * firewall.open (ok), firewall.blocked (problem, with the deciding rule and the fix),
 * firewall.rtcp-blocked (warn), firewall.conditional (warn: rules that depend on the sender),
 * firewall.program-blocked (problem) / firewall.program-allowed (info) for per-program rules
 * (Windows, macOS), firewall.app-firewall (info, macOS), firewall.needs-root / firewall.no-tool /
 * firewall.unknown (unknown: what to run instead).
 */
export async function checkFirewall(port: number, o: FirewallCheckOptions = {}): Promise<DiagReport> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`--port must be a UDP port number (1-65535), not ${port}`);
  const platform = o.platform ?? process.platform;
  const ports = o.rtcp === false || port === 65535 ? [port] : [port, port + 1];
  const opts = { ...o, run: o.run ?? runProgram, which: o.which ?? ((n: string) => whichSystemProgram(n, platform)) };
  if (platform === 'linux') return checkLinux(port, ports, opts);
  if (platform === 'win32') return checkWindows(port, ports, opts);
  if (platform === 'darwin') return checkMac(port, ports, opts);
  return {
    check: 'firewall',
    findings: [{ id: 'firewall.unknown', severity: 'unknown', title: `rtpcast cannot read the firewall on ${platform}`, fix: `check that inbound UDP ${ports.join(' and ')} is allowed` }],
    data: { port, ports, platform },
  };
}
