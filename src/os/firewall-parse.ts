/**
 * Pure parsers and evaluators that answer one question for every firewall rtpcast meets:
 * "would an inbound UDP datagram to this port, from another machine, be accepted, and which rule
 * or default policy decides?" Fixtures and their provenance: test/fixtures/firewall/README.md.
 *
 * The packet assumed everywhere: IPv4 (unless asked for IPv6), UDP, the first datagram of a new
 * flow (conntrack state "new"), arriving on a real interface (not `lo`) from an address we do not
 * know. A rule whose outcome depends on something we do not know (the sender's address, the
 * interface name, a rate limit, an opaque iptables-nft match) does not decide; it is reported as
 * `conditional` so the user can check whether it applies to their sender.
 */

export type Verdict = 'accept' | 'drop' | 'reject';

export interface ConditionalVerdict {
  verdict: Verdict;
  /** the rule text (for a rule reached through a conditional jump: "jump rule -> rule") */
  rule: string;
  where: string;
}

export interface InboundDecision {
  verdict: Verdict;
  /** the deciding rule's text, or e.g. "policy drop of chain input" */
  decidedBy: string;
  /** where that rule or policy lives, e.g. "table inet filter, chain input" */
  where?: string;
  /** decided by a default (chain policy, zone target, default incoming policy) rather than a rule */
  byPolicy: boolean;
  /** rules that would decide differently for some senders/interfaces (see the module comment) */
  conditional: ConditionalVerdict[];
}

type Tri = 'yes' | 'no' | 'maybe';

function and(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'maybe' || b === 'maybe') return 'maybe';
  return 'yes';
}
function not(a: Tri): Tri {
  return a === 'yes' ? 'no' : a === 'no' ? 'yes' : 'maybe';
}

// =================================================================================================
// nftables: `nft -j list ruleset`
// =================================================================================================

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export interface NftChainInfo {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

export interface NftRuleInfo {
  family: string;
  table: string;
  chain: string;
  handle?: number;
  expr: Json[];
  comment?: string;
}

export interface NftRuleset {
  version?: string;
  tables: { family: string; name: string }[];
  chains: NftChainInfo[];
  rules: NftRuleInfo[];
  sets: { family: string; table: string; name: string; elem: Json[]; map?: Json }[];
}

/** Reads `nft -j list ruleset` (text or already parsed). */
export function parseNftRuleset(json: string | Json): NftRuleset {
  let doc: Json = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw new Error(`nft -j output is not JSON (${(e as Error).message})`);
    }
  }
  const items: Json[] = Array.isArray(doc?.nftables) ? doc.nftables : [];
  if (!Array.isArray(doc?.nftables)) throw new Error('nft -j output has no "nftables" array');
  const rs: NftRuleset = { tables: [], chains: [], rules: [], sets: [] };
  for (const it of items) {
    if (it.metainfo) rs.version = it.metainfo.version;
    else if (it.table) rs.tables.push({ family: it.table.family, name: it.table.name });
    else if (it.chain) {
      const c = it.chain;
      rs.chains.push({ family: c.family, table: c.table, name: c.name, type: c.type, hook: c.hook, prio: prioNumber(c.prio), policy: c.policy });
    } else if (it.rule) {
      const r = it.rule;
      rs.rules.push({ family: r.family, table: r.table, chain: r.chain, handle: r.handle, expr: Array.isArray(r.expr) ? r.expr : [], comment: r.comment });
    } else if (it.set) {
      const s = it.set;
      rs.sets.push({ family: s.family, table: s.table, name: s.name, elem: Array.isArray(s.elem) ? s.elem : s.elem !== undefined ? [s.elem] : [] });
    } else if (it.map) {
      const s = it.map;
      rs.sets.push({ family: s.family, table: s.table, name: s.name, elem: Array.isArray(s.elem) ? s.elem : [], map: s.map });
    }
  }
  return rs;
}

const PRIO_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100, out: 100 };
function prioNumber(p: Json): number | undefined {
  if (typeof p === 'number') return p;
  if (typeof p === 'string') {
    const m = /^([a-z]+)\s*([+-])?\s*(\d+)?$/.exec(p.trim());
    if (m && m[1] in PRIO_NAMES) return PRIO_NAMES[m[1]] + (m[2] && m[3] ? (m[2] === '-' ? -1 : 1) * Number(m[3]) : 0);
    if (/^-?\d+$/.test(p)) return Number(p);
  }
  if (p && typeof p === 'object' && 'standard' in p) return prioNumber(p.standard);
  return undefined;
}

// ---- rendering nft JSON back to the nft syntax users know -------------------------------------

const BARE_META = new Set(['iifname', 'oifname', 'iif', 'oif', 'iiftype', 'oiftype', 'skuid', 'skgid', 'mark']);

function renderValue(v: Json, quote = false): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quote ? `"${v}"` : v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => renderValue(x, quote)).join(',');
  if (v.set !== undefined) {
    const items = Array.isArray(v.set) ? v.set : [v.set];
    return `{ ${items.map((x: Json) => (Array.isArray(x) ? `${renderValue(x[0], quote)} : ${renderStatement(x[1])}` : renderValue(x, quote))).join(', ')} }`;
  }
  if (v.range) return `${renderValue(v.range[0])}-${renderValue(v.range[1])}`;
  if (v.prefix) return `${v.prefix.addr}/${v.prefix.len}`;
  if (v.elem) return renderValue(v.elem.val, quote);
  if (v.concat) return v.concat.map((x: Json) => renderValue(x, quote)).join(' . ');
  if (v.payload) return v.payload.protocol ? `${v.payload.protocol} ${v.payload.field}` : 'payload';
  if (v.meta) return BARE_META.has(v.meta.key) ? v.meta.key : `meta ${v.meta.key}`;
  if (v.ct) return `ct ${v.ct.dir ? `${v.ct.dir} ` : ''}${v.ct.key}`;
  if (v.fib) return `fib ${[].concat(v.fib.flags ?? []).join(' . ')} ${v.fib.result}`;
  if (v.socket) return `socket ${v.socket.key}`;
  if (v.osf) return 'osf';
  if (v.rt) return `rt ${v.rt.key}`;
  if (v.exthdr) return `exthdr ${v.exthdr.name ?? ''}`.trim();
  if (v['&']) return `${renderValue(v['&'][0])} & ${renderValue(v['&'][1])}`;
  if (v['|']) return `${renderValue(v['|'][0])} | ${renderValue(v['|'][1])}`;
  return JSON.stringify(v);
}

function renderStatement(s: Json): string {
  if (s === null || s === undefined) return '';
  if (typeof s === 'string') return s;
  const k = Object.keys(s)[0];
  const v = s[k];
  switch (k) {
    case 'match': {
      const quote = v.left?.meta && /ifname$/.test(v.left.meta.key);
      const op = v.op === '==' || v.op === 'in' ? '' : `${v.op} `;
      return `${renderValue(v.left)} ${op}${renderValue(v.right, quote)}`;
    }
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
      return k;
    case 'reject':
      return v && v.type ? `reject with ${v.type === 'tcp reset' ? 'tcp reset' : `${v.type} ${v.expr ?? ''}`.trim()}` : 'reject';
    case 'jump':
    case 'goto':
      return `${k} ${v.target}`;
    case 'counter':
      return 'counter';
    case 'log':
      return v && v.prefix ? `log prefix "${v.prefix}"` : 'log';
    case 'limit':
      return v ? `limit rate ${v.inv ? 'over ' : ''}${v.rate}/${v.per}` : 'limit';
    case 'vmap':
      return `${renderValue(v.key)} vmap ${typeof v.data === 'string' ? v.data : renderValue(v.data, !!(v.key?.meta && /ifname$/.test(v.key.meta.key)))}`;
    case 'xt':
      return `xt ${v.type} "${v.name}"`;
    case 'queue':
      return 'queue';
    case 'notrack':
      return 'notrack';
    default:
      return k;
  }
}

/** A rule as `nft list ruleset` would print it (without counters' numbers and handles). */
export function renderNftRule(rule: { expr: Json[]; comment?: string }): string {
  const text = rule.expr.map(renderStatement).filter(Boolean).join(' ');
  return rule.comment ? `${text} comment "${rule.comment}"` : text;
}

// ---- evaluation ---------------------------------------------------------------------------------

export interface PacketAssumptions {
  family?: 'ipv4' | 'ipv6';
  /** the receiving interface, if known; by default "some interface that is not lo" */
  iif?: string;
}

type Val =
  | { k: 'value'; v: number | string }
  | { k: 'absent' } // the field does not exist for this packet (tcp dport of a UDP datagram)
  | { k: 'notlo' } // interface name: unknown but not lo
  | { k: 'unknown' };

const OTHER_L4 = new Set(['tcp', 'icmp', 'icmpv6', 'sctp', 'dccp', 'udplite', 'esp', 'ah', 'comp', 'igmp', 'gre', 'vlan', 'arp', 'ether', 'mh', 'rt', 'frag', 'hbh', 'dst']);

function keyValue(left: Json, port: number, pk: PacketAssumptions): Val {
  const fam = pk.family ?? 'ipv4';
  if (!left || typeof left !== 'object') return { k: 'unknown' };
  if (left.payload) {
    const { protocol, field } = left.payload;
    if (protocol === 'udp' || protocol === 'th') {
      if (field === 'dport') return { k: 'value', v: port };
      return { k: 'unknown' };
    }
    if (protocol === 'ip') {
      if (fam !== 'ipv4') return { k: 'absent' };
      if (field === 'protocol') return { k: 'value', v: 'udp' };
      if (field === 'version') return { k: 'value', v: 4 };
      return { k: 'unknown' };
    }
    if (protocol === 'ip6') {
      if (fam !== 'ipv6') return { k: 'absent' };
      if (field === 'nexthdr') return { k: 'value', v: 'udp' };
      if (field === 'version') return { k: 'value', v: 6 };
      return { k: 'unknown' };
    }
    if (OTHER_L4.has(protocol)) return { k: 'absent' };
    return { k: 'unknown' };
  }
  if (left.meta) {
    switch (left.meta.key) {
      case 'l4proto':
        return { k: 'value', v: 'udp' };
      case 'protocol':
        return { k: 'value', v: fam === 'ipv4' ? 'ip' : 'ip6' };
      case 'nfproto':
        return { k: 'value', v: fam };
      case 'iifname':
      case 'iif':
        return pk.iif ? { k: 'value', v: pk.iif } : { k: 'notlo' };
      case 'iiftype':
        return pk.iif === 'lo' ? { k: 'value', v: 'loopback' } : { k: 'unknown' };
      default:
        return { k: 'unknown' };
    }
  }
  if (left.ct) {
    if (left.ct.key === 'state') return { k: 'value', v: 'new' };
    if (left.ct.key === 'direction') return { k: 'value', v: 'original' };
    return { k: 'unknown' };
  }
  return { k: 'unknown' };
}

const PROTO_NUM: Record<string, number> = { udp: 17, tcp: 6, icmp: 1, icmpv6: 58, sctp: 132, ipv4: 2, ipv6: 10 };

function eqScalar(a: number | string, b: Json): boolean {
  if (typeof b === 'number' || typeof b === 'string') {
    if (a === b) return true;
    if (typeof a === 'string' && typeof b === 'number') return PROTO_NUM[a] === b;
    if (typeof a === 'number' && typeof b === 'string' && /^\d+$/.test(b)) return a === Number(b);
    return false;
  }
  if (b && typeof b === 'object') {
    if (b.range && typeof a === 'number') return a >= Number(b.range[0]) && a <= Number(b.range[1]);
    if (b.elem) return eqScalar(a, b.elem.val);
  }
  return false;
}

interface Ctx {
  rs: NftRuleset;
  port: number;
  pk: PacketAssumptions;
}

function setElems(ctx: Ctx, family: string, table: string, ref: string): Json[] | undefined {
  const name = ref.replace(/^@/, '');
  return ctx.rs.sets.find((s) => s.family === family && s.table === table && s.name === name)?.elem;
}

/** Does the key value belong to the right-hand side (a value, a range, an anonymous or a named set)? */
function member(ctx: Ctx, rule: NftRuleInfo, val: Val, right: Json): Tri {
  if (val.k === 'absent') return 'no';
  if (val.k === 'unknown') return 'maybe';
  const items: Json[] =
    typeof right === 'string' && right.startsWith('@')
      ? setElems(ctx, rule.family, rule.table, right) ?? []
      : Array.isArray(right)
        ? right
        : right && typeof right === 'object' && right.set !== undefined
          ? Array.isArray(right.set)
            ? right.set
            : [right.set]
          : [right];
  if (typeof right === 'string' && right.startsWith('@') && !setElems(ctx, rule.family, rule.table, right)) return 'maybe';
  if (val.k === 'notlo') {
    // interface names: "lo" never matches, any other name might be the one the sender's packets use
    const names = items.filter((x) => typeof x === 'string');
    const others = items.filter((x) => typeof x !== 'string' || x !== 'lo');
    if (names.length === items.length && others.length === 0) return 'no';
    return 'maybe';
  }
  return items.some((x) => eqScalar(val.v, x)) ? 'yes' : 'no';
}

function evalMatch(ctx: Ctx, rule: NftRuleInfo, m: Json): Tri {
  const val = keyValue(m.left, ctx.port, ctx.pk);
  if (val.k === 'absent') return 'no';
  const op: string = m.op ?? '==';
  if (op === '==' || op === 'in') return member(ctx, rule, val, m.right);
  if (op === '!=') {
    if (val.k === 'notlo') {
      return typeof m.right === 'string' && m.right === 'lo' ? 'yes' : 'maybe';
    }
    return not(member(ctx, rule, val, m.right));
  }
  if (val.k !== 'value' || typeof val.v !== 'number' || typeof m.right !== 'number') return 'maybe';
  switch (op) {
    case '<':
      return val.v < m.right ? 'yes' : 'no';
    case '>':
      return val.v > m.right ? 'yes' : 'no';
    case '<=':
      return val.v <= m.right ? 'yes' : 'no';
    case '>=':
      return val.v >= m.right ? 'yes' : 'no';
    default:
      return 'maybe';
  }
}

type ChainResult = { kind: 'verdict'; verdict: Verdict; by: string; chain: string; handle?: number } | { kind: 'return' };

interface RunState {
  ctx: Ctx;
  conditional: ConditionalVerdict[];
  depth: number;
}

function chainRules(ctx: Ctx, family: string, table: string, chain: string): NftRuleInfo[] {
  return ctx.rs.rules.filter((r) => r.family === family && r.table === table && r.chain === chain);
}

function where(family: string, table: string, chain: string): string {
  return `table ${family} ${table}, chain ${chain}`;
}

/** A verdict statement of a rule or vmap entry: the terminal verdicts and jump/goto targets. */
function verdictOf(s: Json): { v: 'accept' | 'drop' | 'reject' | 'return' | 'continue' } | { jump: string; goto: boolean } | undefined {
  if (!s || typeof s !== 'object') return undefined;
  if ('accept' in s) return { v: 'accept' };
  if ('drop' in s) return { v: 'drop' };
  if ('reject' in s) return { v: 'reject' };
  if ('return' in s) return { v: 'return' };
  if ('continue' in s) return { v: 'continue' };
  if (s.jump) return { jump: s.jump.target, goto: false };
  if (s.goto) return { jump: s.goto.target, goto: true };
  if (s.xt && s.xt.type === 'target') {
    const n = String(s.xt.name).toUpperCase();
    if (n === 'REJECT') return { v: 'reject' };
    if (n === 'DROP') return { v: 'drop' };
    if (n === 'ACCEPT') return { v: 'accept' };
  }
  return undefined;
}

function runChain(st: RunState, family: string, table: string, chain: string, via: string[]): ChainResult {
  if (st.depth > 32) return { kind: 'return' };
  st.depth++;
  try {
    for (const rule of chainRules(st.ctx, family, table, chain)) {
      const text = renderNftRule(rule);
      let cond: Tri = 'yes';
      let action: ReturnType<typeof verdictOf>;
      let vmapEntries: { cond: Tri; action: NonNullable<ReturnType<typeof verdictOf>> }[] | undefined;
      for (const e of rule.expr) {
        if (e.match) {
          cond = and(cond, evalMatch(st.ctx, rule, e.match));
          if (cond === 'no') break;
        } else if (e.limit || (e.xt && e.xt.type === 'match')) {
          cond = and(cond, 'maybe');
        } else if (e.vmap) {
          vmapEntries = vmapLookup(st.ctx, rule, e.vmap);
          break;
        } else {
          const v = verdictOf(e);
          if (v) {
            action = v;
            break;
          }
        }
      }
      if (cond === 'no') continue;
      const steps: { cond: Tri; action: NonNullable<ReturnType<typeof verdictOf>> }[] = vmapEntries
        ? vmapEntries.map((x) => ({ cond: and(cond, x.cond), action: x.action })).filter((x) => x.cond !== 'no')
        : action
          ? [{ cond, action }]
          : [];
      for (const step of steps) {
        const a = step.action;
        const label = [...via, text].join(' -> ');
        if ('v' in a) {
          if (a.v === 'continue') continue;
          if (a.v === 'return') {
            if (step.cond === 'yes') return { kind: 'return' };
            continue;
          }
          if (step.cond === 'yes') return { kind: 'verdict', verdict: a.v, by: text, chain, handle: rule.handle };
          st.conditional.push({ verdict: a.v, rule: label, where: where(family, table, chain) });
          continue;
        }
        // jump / goto
        if (step.cond === 'yes') {
          const r = runChain(st, family, table, a.jump, via);
          if (r.kind === 'verdict') return r;
          if (a.goto) return { kind: 'return' };
          continue;
        }
        // a conditional jump: whatever the target decides is conditional too
        const before = st.conditional.length;
        const r = runChain(st, family, table, a.jump, [...via, text]);
        if (r.kind === 'verdict') {
          st.conditional.splice(before);
          st.conditional.push({ verdict: r.verdict, rule: `${label} -> ${r.by}`, where: where(family, table, r.chain) });
        }
      }
    }
    return { kind: 'return' };
  } finally {
    st.depth--;
  }
}

function vmapLookup(ctx: Ctx, rule: NftRuleInfo, vmap: Json): { cond: Tri; action: NonNullable<ReturnType<typeof verdictOf>> }[] {
  const val = keyValue(vmap.key, ctx.port, ctx.pk);
  let entries: Json[] = [];
  if (typeof vmap.data === 'string' && vmap.data.startsWith('@')) entries = setElems(ctx, rule.family, rule.table, vmap.data) ?? [];
  else if (vmap.data && vmap.data.set !== undefined) entries = Array.isArray(vmap.data.set) ? vmap.data.set : [vmap.data.set];
  const out: { cond: Tri; action: NonNullable<ReturnType<typeof verdictOf>> }[] = [];
  for (const ent of entries) {
    if (!Array.isArray(ent) || ent.length < 2) continue;
    const action = verdictOf(ent[1]);
    if (!action) continue;
    const cond = member(ctx, rule, val, ent[0]);
    if (cond === 'no') continue;
    out.push({ cond, action });
    if (cond === 'yes') break; // a map has one entry per key
  }
  return out;
}

const HOOK_ORDER = ['ingress', 'prerouting', 'input'];

export interface NftBaseChainOutcome {
  family: string;
  table: string;
  chain: string;
  hook: string;
  prio: number;
  policy: string;
  verdict: Verdict;
  decidedBy: string;
  /** the chain holding the deciding rule (differs from `chain` after a jump) */
  ruleChain?: string;
  handle?: number;
  byPolicy: boolean;
}

export interface NftInbound extends InboundDecision {
  /** the base chain whose verdict decided (for a drop: where to insert the accept rule) */
  family?: string;
  table?: string;
  chain?: string;
  /** the chain that holds the deciding rule (the base chain or one jumped to) */
  ruleChain?: string;
  handle?: number;
  /** every base chain on the way in, in the order the kernel runs them */
  chains: NftBaseChainOutcome[];
}

export interface NftEvalOptions extends PacketAssumptions {
  /** leave out tables another evaluator reports (ufw's, firewalld's, iptables-nft's) */
  skipTable?: (t: { family: string; name: string }) => boolean;
}

/**
 * Evaluates the base chains an inbound datagram meets (type filter, hooks ingress/prerouting/input,
 * families inet/ip (IPv4) or inet/ip6 (IPv6), ordered by hook then priority). An accept ends one base
 * chain only, the next one still runs; a drop or reject anywhere is final.
 */
export function evaluateNftInbound(rulesetJson: string | Json | NftRuleset, port: number, o: NftEvalOptions = {}): NftInbound {
  const rs: NftRuleset = rulesetJson && typeof rulesetJson === 'object' && Array.isArray(rulesetJson.chains) && !rulesetJson.nftables ? rulesetJson : parseNftRuleset(rulesetJson);
  const fam = o.family ?? 'ipv4';
  const families = fam === 'ipv4' ? ['inet', 'ip', 'netdev'] : ['inet', 'ip6', 'netdev'];
  const base = rs.chains
    .filter((c) => c.hook && HOOK_ORDER.includes(c.hook) && (c.type ?? 'filter') === 'filter' && families.includes(c.family))
    .filter((c) => !(c.family === 'netdev' && c.hook !== 'ingress'))
    .filter((c) => !o.skipTable?.({ family: c.family, name: c.table }))
    .sort((a, b) => HOOK_ORDER.indexOf(a.hook!) - HOOK_ORDER.indexOf(b.hook!) || (a.prio ?? 0) - (b.prio ?? 0));
  const st: RunState = { ctx: { rs, port, pk: o }, conditional: [], depth: 0 };
  const chains: NftBaseChainOutcome[] = [];
  for (const c of base) {
    const r = runChain(st, c.family, c.table, c.name, []);
    const policy = c.policy ?? 'accept';
    const outcome: NftBaseChainOutcome =
      r.kind === 'verdict'
        ? { family: c.family, table: c.table, chain: c.name, hook: c.hook!, prio: c.prio ?? 0, policy, verdict: r.verdict, decidedBy: r.by, ruleChain: r.chain, handle: r.handle, byPolicy: false }
        : { family: c.family, table: c.table, chain: c.name, hook: c.hook!, prio: c.prio ?? 0, policy, verdict: policy === 'drop' ? 'drop' : 'accept', decidedBy: `policy ${policy} of chain ${c.name}`, byPolicy: true };
    chains.push(outcome);
    if (outcome.verdict !== 'accept') break; // dropped: later chains never see it
  }
  const last = chains[chains.length - 1];
  if (!last) {
    return { verdict: 'accept', decidedBy: 'no input chain: nftables does not filter inbound traffic', byPolicy: true, conditional: st.conditional, chains };
  }
  // accepted by every chain: name the explicit accept rule if one decided, else the first policy
  const decider = last.verdict !== 'accept' ? last : chains.find((c) => !c.byPolicy) ?? chains[0];
  // conditionals that could not change the outcome (same verdict as the decision) are noise
  const conditional = st.conditional.filter((c) => (c.verdict === 'accept') !== (decider.verdict === 'accept'));
  return {
    verdict: decider.verdict,
    decidedBy: decider.decidedBy,
    where: where(decider.family, decider.table, decider.ruleChain ?? decider.chain),
    byPolicy: decider.byPolicy,
    conditional,
    family: decider.family,
    table: decider.table,
    chain: decider.chain,
    ruleChain: decider.ruleChain ?? decider.chain,
    handle: decider.handle,
    chains,
  };
}

/**
 * Tables that iptables-nft (iptables 1.8+ on Debian/Ubuntu/Fedora) created: its rules show up in
 * `nft -j` too, but with opaque `xt` expressions, so they are better read from `iptables-save`.
 */
export function isIptablesNftTable(rs: NftRuleset, t: { family: string; name: string }): boolean {
  if (t.family !== 'ip' && t.family !== 'ip6') return false;
  if (!['filter', 'raw', 'mangle', 'security', 'nat'].includes(t.name)) return false;
  const chains = rs.chains.filter((c) => c.family === t.family && c.table === t.name);
  return chains.some((c) => c.hook && ['INPUT', 'PREROUTING', 'FORWARD', 'OUTPUT', 'POSTROUTING'].includes(c.name));
}

/** Tables a firewall frontend manages: ufw (chains ufw-*), firewalld (table firewalld). */
export function frontendOfTable(rs: NftRuleset, t: { family: string; name: string }): 'ufw' | 'firewalld' | undefined {
  if (t.name === 'firewalld') return 'firewalld';
  const chains = rs.chains.filter((c) => c.family === t.family && c.table === t.name);
  if (chains.some((c) => /^ufw6?-/.test(c.name))) return 'ufw';
  // firewalld's iptables backend (FirewallBackend=iptables) through iptables-nft
  if (chains.some((c) => c.name === 'INPUT_ZONES')) return 'firewalld';
  return undefined;
}

/** Which frontend made an iptables-save dump's filter table, if any (its own report covers it). */
export function frontendOfIptables(save: IptablesSave): 'ufw' | 'firewalld' | undefined {
  const chains = Object.keys(save.tables.filter ?? {});
  if (chains.some((c) => /^ufw6?-/.test(c))) return 'ufw';
  if (chains.includes('INPUT_ZONES')) return 'firewalld';
  return undefined;
}

// =================================================================================================
// iptables-save
// =================================================================================================

export interface IptablesChain {
  /** ACCEPT/DROP for built-in chains, undefined ("-") for user chains */
  policy?: string;
  rules: { line: string; args: string[] }[];
}

export interface IptablesSave {
  /** "nf_tables" or "legacy" when the header says ("# Generated by iptables-save v1.8.9 (nf_tables)") */
  variant?: 'nf_tables' | 'legacy';
  /** iptables-nft-save warns when legacy tables exist beside its own */
  legacyTablesPresent: boolean;
  tables: Record<string, Record<string, IptablesChain>>;
}

/** Splits an iptables-save rule line into arguments, honouring double quotes (comments). */
export function splitIptablesArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQ = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQ) {
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === '"') inQ = false;
      else cur += ch;
    } else if (ch === '"') {
      inQ = true;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

export function parseIptablesSave(text: string): IptablesSave {
  const out: IptablesSave = { legacyTablesPresent: /iptables-legacy tables present/.test(text), tables: {} };
  const gen = /# Generated by (?:ip6?tables-save|xtables-\w+-multi) v[\d.]+(?: \((nf_tables|legacy)\))?/.exec(text);
  if (gen) out.variant = gen[1] === 'nf_tables' ? 'nf_tables' : 'legacy';
  let table: Record<string, IptablesChain> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = out.tables[line.slice(1)] = {};
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (line.startsWith(':') && table) {
      const [name, policy] = line.slice(1).split(/\s+/);
      table[name] = { policy: policy === '-' ? undefined : policy, rules: table[name]?.rules ?? [] };
    } else if (line.startsWith('-A ') && table) {
      const args = splitIptablesArgs(line);
      const chain = args[1];
      (table[chain] ??= { rules: [] }).rules.push({ line, args: args.slice(2) });
    }
  }
  return out;
}

function portSpecMatches(spec: string, port: number): boolean {
  // "5004", "5000:5010", ":1024", "1024:", multiport "6000,6002:6004"
  return spec.split(',').some((p) => {
    const [a, b] = p.split(':');
    if (b === undefined) return Number(a) === port;
    const lo = a === '' ? 0 : Number(a);
    const hi = b === '' ? 65535 : Number(b);
    return port >= lo && port <= hi;
  });
}

interface IptRuleEval {
  cond: Tri;
  target?: string;
  goto: boolean;
}

/** Evaluates the matches of one iptables rule for our packet (UDP, new, from the network). */
function evalIptablesRule(args: string[], port: number, pk: PacketAssumptions): IptRuleEval {
  let cond: Tri = 'yes';
  let target: string | undefined;
  let goto = false;
  let proto: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let neg = false;
    let a = args[i];
    if (a === '!') {
      neg = true;
      a = args[++i];
    }
    const next = (): string => args[++i] ?? '';
    let r: Tri = 'yes';
    switch (a) {
      case '-p':
      case '--protocol': {
        const p = next().toLowerCase();
        proto = p;
        r = p === 'udp' || p === '17' || p === 'all' || p === '0' ? 'yes' : 'no';
        break;
      }
      case '-m':
      case '--match':
        next();
        continue;
      case '--dport':
      case '--destination-port':
        r = portSpecMatches(next(), port) ? 'yes' : 'no';
        break;
      case '--dports':
      case '--destination-ports':
        r = portSpecMatches(next(), port) ? 'yes' : 'no';
        break;
      case '--ports': // source or destination
        r = portSpecMatches(next(), port) ? 'yes' : 'maybe';
        break;
      case '--sport':
      case '--source-port':
      case '--sports':
      case '--source-ports':
        next();
        r = 'maybe';
        break;
      case '-i':
      case '--in-interface': {
        const ifname = next();
        if (pk.iif) r = ifname === pk.iif || (ifname.endsWith('+') && pk.iif.startsWith(ifname.slice(0, -1))) ? 'yes' : 'no';
        else r = ifname === 'lo' ? 'no' : 'maybe';
        if (neg && !pk.iif && ifname !== 'lo') {
          // "! -i eth0": unknown either way
          neg = false;
          r = 'maybe';
        }
        break;
      }
      case '-o':
      case '--out-interface':
        next();
        r = 'yes'; // no output interface on the way in
        if (neg) neg = false;
        break;
      case '--ctstate':
      case '--state': {
        const states = next().toUpperCase().split(',');
        r = states.includes('NEW') || states.includes('UNTRACKED') ? 'yes' : 'no';
        break;
      }
      case '--dst-type': {
        const t = next().toUpperCase().split(',');
        r = t.includes('LOCAL') ? 'yes' : t.includes('UNICAST') ? 'yes' : 'no';
        break;
      }
      case '--comment':
        next();
        r = 'yes';
        break;
      case '-j':
      case '--jump':
        target = next();
        continue;
      case '-g':
      case '--goto':
        target = next();
        goto = true;
        continue;
      case '-c':
      case '--set-counters':
        next();
        next();
        continue;
      case '--reject-with':
      case '--log-prefix':
      case '--log-level':
        next();
        continue;
      default:
        // -s/-d addresses, --limit, --match-set, --pkt-type...: cannot be known from here
        if (a.startsWith('-') && i + 1 < args.length && !args[i + 1].startsWith('-')) next();
        r = 'maybe';
    }
    if (neg) r = not(r);
    cond = and(cond, r);
  }
  void proto;
  return { cond, target, goto };
}

const IPT_STAGES: [string, string][] = [
  ['raw', 'PREROUTING'],
  ['mangle', 'PREROUTING'],
  ['mangle', 'INPUT'],
  ['filter', 'INPUT'],
];

export interface IptablesInbound extends InboundDecision {
  table?: string;
  /** the built-in chain that decided (INPUT...) */
  chain?: string;
  ruleChain?: string;
}

/**
 * Evaluates `iptables-save` output: raw/mangle PREROUTING, mangle INPUT, filter INPUT, following
 * -j/-g into user chains. ACCEPT ends one built-in chain; DROP/REJECT are final.
 */
export function evaluateIptablesInbound(save: string | IptablesSave, port: number, pk: PacketAssumptions = {}): IptablesInbound {
  const s = typeof save === 'string' ? parseIptablesSave(save) : save;
  const conditional: ConditionalVerdict[] = [];
  type R = { kind: 'verdict'; verdict: Verdict; by: string; chain: string } | { kind: 'return' };
  const run = (tableName: string, chainName: string, via: string[], depth: number): R => {
    const table = s.tables[tableName];
    const chain = table?.[chainName];
    if (!chain || depth > 32) return { kind: 'return' };
    for (const rule of chain.rules) {
      const e = evalIptablesRule(rule.args, port, pk);
      if (e.cond === 'no' || !e.target) continue;
      const t = e.target.toUpperCase();
      const label = [...via, rule.line].join(' -> ');
      const terminal: Verdict | undefined = t === 'ACCEPT' ? 'accept' : t === 'DROP' ? 'drop' : t === 'REJECT' ? 'reject' : undefined;
      if (terminal) {
        if (e.cond === 'yes') return { kind: 'verdict', verdict: terminal, by: rule.line, chain: chainName };
        conditional.push({ verdict: terminal, rule: label, where: `table ${tableName}, chain ${chainName}` });
        continue;
      }
      if (t === 'RETURN') {
        if (e.cond === 'yes') return { kind: 'return' };
        continue;
      }
      if (table[e.target]) {
        if (e.cond === 'yes') {
          const r = run(tableName, e.target, via, depth + 1);
          if (r.kind === 'verdict') return r;
          if (e.goto) return { kind: 'return' };
        } else {
          const before = conditional.length;
          const r = run(tableName, e.target, [...via, rule.line], depth + 1);
          if (r.kind === 'verdict') {
            conditional.splice(before);
            conditional.push({ verdict: r.verdict, rule: `${label} -> ${r.by}`, where: `table ${tableName}, chain ${r.chain}` });
          }
        }
      }
      // LOG, MARK, CT, NOTRACK...: not terminal
    }
    return { kind: 'return' };
  };
  let firstAccept: IptablesInbound | undefined;
  let any = false;
  for (const [tableName, chainName] of IPT_STAGES) {
    const chain = s.tables[tableName]?.[chainName];
    if (!chain) continue;
    any = true;
    const r = run(tableName, chainName, [], 0);
    const d: IptablesInbound =
      r.kind === 'verdict'
        ? { verdict: r.verdict, decidedBy: r.by, where: `table ${tableName}, chain ${r.chain}`, byPolicy: false, conditional, table: tableName, chain: chainName, ruleChain: r.chain }
        : {
            verdict: chain.policy === 'DROP' ? 'drop' : 'accept',
            decidedBy: `policy ${chain.policy ?? 'ACCEPT'} of chain ${chainName}`,
            where: `table ${tableName}, chain ${chainName}`,
            byPolicy: true,
            conditional,
            table: tableName,
            chain: chainName,
            ruleChain: chainName,
          };
    if (d.verdict !== 'accept') return { ...d, conditional: conditional.filter((c) => c.verdict === 'accept') };
    if (!firstAccept || (firstAccept.byPolicy && !d.byPolicy)) firstAccept = d;
  }
  if (!any || !firstAccept) return { verdict: 'accept', decidedBy: 'no INPUT chain: iptables does not filter inbound traffic', byPolicy: true, conditional: [] };
  return { ...firstAccept, conditional: conditional.filter((c) => c.verdict !== 'accept') };
}

/** Whether an iptables-save dump filters anything at all (rules, or a non-ACCEPT policy). */
export function iptablesHasFiltering(save: string | IptablesSave): boolean {
  const s = typeof save === 'string' ? parseIptablesSave(save) : save;
  return IPT_STAGES.some(([t, c]) => {
    const ch = s.tables[t]?.[c];
    return !!ch && (ch.rules.length > 0 || (ch.policy !== undefined && ch.policy !== 'ACCEPT'));
  });
}

// =================================================================================================
// ufw: `ufw status verbose`
// =================================================================================================

export interface UfwRule {
  /** the line as printed */
  text: string;
  to: string;
  action: 'ALLOW' | 'DENY' | 'REJECT' | 'LIMIT';
  direction: 'IN' | 'OUT' | 'FWD';
  from: string;
  v6: boolean;
}

export interface UfwStatus {
  active: boolean;
  defaultIncoming?: 'allow' | 'deny' | 'reject';
  rules: UfwRule[];
}

export function parseUfwStatus(text: string): UfwStatus {
  const st: UfwStatus = { active: false, rules: [] };
  const status = /^Status:\s*(\w+)/m.exec(text);
  st.active = status?.[1] === 'active';
  const def = /^Default:\s*(allow|deny|reject)\s*\(incoming\)/m.exec(text);
  if (def) st.defaultIncoming = def[1] as UfwStatus['defaultIncoming'];
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (/^\s*(\[\s*\d+\]\s*)?--\s+------\s+----/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable || !line.trim()) continue;
    const body = line.replace(/^\s*\[\s*\d+\]\s*/, '').replace(/\s+#.*$/, '');
    const m = /^(.*?)\s+(ALLOW|DENY|REJECT|LIMIT)(?:\s+(IN|OUT|FWD))?(?:\s+(.*))?$/.exec(body);
    if (!m) continue;
    const to = m[1].trim();
    const from = (m[4] ?? '').replace(/\s*\((?:log|log-all)\)\s*$/, '').trim();
    st.rules.push({
      text: body.trim().replace(/\s{2,}/g, '  '),
      to,
      action: m[2] as UfwRule['action'],
      direction: (m[3] as UfwRule['direction']) ?? 'IN',
      from,
      v6: /\(v6\)/.test(to) || /\(v6\)/.test(from),
    });
  }
  return st;
}

/** Does ufw's "To" column cover UDP `port`? ("5004/udp", "5000:5010/udp", "80,443/tcp", "5004", "Anywhere", "OpenSSH"...) */
function ufwToMatches(to: string, port: number): Tri {
  let t = to.replace(/\s*\(v6\)/g, '');
  let cond: Tri = 'yes';
  // "22/tcp (OpenSSH)": the app name is a comment once ports are shown
  t = t.replace(/\s+\([^()]*(\([^()]*\))?[^()]*\)\s*$/, '');
  const on = /\s+on\s+(\S+)$/.exec(t);
  if (on) {
    cond = on[1] === 'lo' ? 'no' : 'maybe';
    t = t.slice(0, on.index);
  }
  const parts = t.trim().split(/\s+/);
  let spec = parts[parts.length - 1];
  if (parts.length > 1) cond = and(cond, /^anywhere$/i.test(parts[0]) ? 'yes' : 'maybe'); // "192.168.1.5 5004/udp"
  if (/^anywhere$/i.test(spec)) return cond;
  if (/^[\d.:/a-f]+$/i.test(spec) && (spec.includes('.') || spec.split(':').length > 2) && !/\/(udp|tcp)$/.test(spec)) {
    return and(cond, 'maybe'); // an address only
  }
  const pm = /^([\d,:]+)(?:\/(udp|tcp|ah|esp|gre|ipv6|igmp))?$/.exec(spec);
  if (!pm) return and(cond, 'maybe'); // an application profile name: its ports are in /etc/ufw/applications.d
  if (pm[2] && pm[2] !== 'udp') return 'no';
  spec = pm[1];
  return and(cond, portSpecMatches(spec, port) ? 'yes' : 'no');
}

export interface UfwInbound extends InboundDecision {
  rule?: UfwRule;
}

/** First matching rule wins (ufw's user rules, in order), else the default incoming policy. */
export function evaluateUfwInbound(status: string | UfwStatus, port: number, pk: PacketAssumptions = {}): UfwInbound {
  const st = typeof status === 'string' ? parseUfwStatus(status) : status;
  const fam = pk.family ?? 'ipv4';
  const conditional: ConditionalVerdict[] = [];
  if (!st.active) return { verdict: 'accept', decidedBy: 'ufw is inactive', byPolicy: true, conditional };
  for (const r of st.rules) {
    if (r.direction !== 'IN' || r.v6 !== (fam === 'ipv6')) continue;
    let cond = ufwToMatches(r.to, port);
    if (cond === 'no') continue;
    if (!/^anywhere(\s*\(v6\))?$/i.test(r.from)) cond = and(cond, 'maybe');
    const verdict: Verdict = r.action === 'DENY' ? 'drop' : r.action === 'REJECT' ? 'reject' : 'accept';
    if (r.action === 'LIMIT') cond = and(cond, 'maybe');
    if (cond === 'yes') return { verdict, decidedBy: r.text, where: 'ufw rules', byPolicy: false, conditional: conditional.filter((c) => c.verdict !== verdict), rule: r };
    conditional.push({ verdict, rule: r.text, where: 'ufw rules' });
  }
  const d = st.defaultIncoming ?? 'deny';
  const verdict: Verdict = d === 'allow' ? 'accept' : d === 'reject' ? 'reject' : 'drop';
  return { verdict, decidedBy: `Default: ${d} (incoming)`, where: 'ufw default policy', byPolicy: true, conditional: conditional.filter((c) => (c.verdict === 'accept') !== (verdict === 'accept')) };
}

// =================================================================================================
// firewalld: `firewall-cmd --get-active-zones`, `--list-all --zone=Z`, `--info-service=S`
// =================================================================================================

export interface FirewalldActiveZone {
  zone: string;
  interfaces: string[];
  sources: string[];
}

export function parseFirewalldActiveZones(text: string): FirewalldActiveZone[] {
  const out: FirewalldActiveZone[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    if (!/^\s/.test(raw)) {
      out.push({ zone: raw.trim().replace(/\s*\(.*\)$/, ''), interfaces: [], sources: [] });
      continue;
    }
    const m = /^\s+(interfaces|sources):\s*(.*)$/.exec(raw);
    const z = out[out.length - 1];
    if (m && z) (m[1] === 'interfaces' ? z.interfaces : z.sources).push(...m[2].split(/\s+/).filter(Boolean));
  }
  return out;
}

export interface FirewalldZone {
  name: string;
  active: boolean;
  isDefault: boolean;
  target: string;
  interfaces: string[];
  sources: string[];
  services: string[];
  ports: string[];
  protocols: string[];
  richRules: string[];
}

/** `firewall-cmd --list-all --zone=Z` (also `--info-service=S`, whose "ports:" line is the same). */
export function parseFirewalldZone(text: string): FirewalldZone {
  const lines = text.split('\n');
  const head = lines.find((l) => l.trim() && !/^\s/.test(l)) ?? '';
  const hm = /^(\S+)(?:\s+\(([^)]*)\))?/.exec(head.trim());
  const flags = (hm?.[2] ?? '').split(/,\s*/);
  const z: FirewalldZone = {
    name: hm?.[1] ?? '',
    active: flags.includes('active'),
    isDefault: flags.includes('default'),
    target: 'default',
    interfaces: [],
    sources: [],
    services: [],
    ports: [],
    protocols: [],
    richRules: [],
  };
  let inRich = false;
  for (const raw of lines) {
    const m = /^\s+([a-z][a-z0-9-]*(?: rules)?):\s*(.*)$/.exec(raw);
    if (m) {
      inRich = m[1] === 'rich rules';
      const vals = m[2].trim() ? m[2].trim().split(/\s+/) : [];
      switch (m[1]) {
        case 'target':
          z.target = m[2].trim() || 'default';
          break;
        case 'interfaces':
          z.interfaces = vals;
          break;
        case 'sources':
          z.sources = vals;
          break;
        case 'services':
          z.services = vals;
          break;
        case 'ports':
          z.ports = vals;
          break;
        case 'protocols':
          z.protocols = vals;
          break;
        case 'rich rules':
          if (m[2].trim()) z.richRules.push(m[2].trim());
          break;
      }
      continue;
    }
    if (inRich && /^\s+rule\b/.test(raw)) z.richRules.push(raw.trim());
  }
  return z;
}

/** "5004/udp", "5000-5010/udp" */
function firewalldPortMatches(spec: string, port: number): boolean {
  const m = /^(\d+)(?:-(\d+))?\/(\w+)$/.exec(spec);
  if (!m || m[3] !== 'udp') return false;
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  return port >= lo && port <= hi;
}

function richAttr(rule: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(rule);
  return m?.[1];
}

export interface FirewalldInbound extends InboundDecision {
  zone: string;
}

/**
 * firewalld's order inside a zone: rich rules that deny (drop/reject) come before those that
 * allow; then ports, protocols and services allow; what nothing allowed meets the zone's target
 * (default/%%REJECT%%: reject, DROP: drop, ACCEPT: accept).
 * `servicePorts` maps a service name to its ports ("5004/udp", from `--info-service`).
 */
export function evaluateFirewalldZone(zone: string | FirewalldZone, port: number, servicePorts: Record<string, string[]> = {}, pk: PacketAssumptions = {}): FirewalldInbound {
  const z = typeof zone === 'string' ? parseFirewalldZone(zone) : zone;
  const fam = pk.family ?? 'ipv4';
  const conditional: ConditionalVerdict[] = [];
  const where = `firewalld zone ${z.name}`;
  const rich = z.richRules.map((r) => {
    const fm = richAttr(r, 'family');
    if (fm && fm !== fam) return { r, cond: 'no' as Tri, verdict: 'accept' as Verdict };
    let cond: Tri = 'yes';
    const p = /\bport\s+port="([^"]+)"\s+protocol="(\w+)"/.exec(r);
    const proto = /\bprotocol\s+value="(\w+)"/.exec(r);
    if (p) cond = p[2] === 'udp' && firewalldPortMatches(`${p[1]}/udp`, port) ? 'yes' : 'no';
    else if (proto) cond = proto[1] === 'udp' ? 'yes' : 'no';
    else if (/\bservice\s+name="([^"]+)"/.test(r)) {
      const svc = richAttr(r, 'name')!;
      cond = servicePorts[svc] ? (servicePorts[svc].some((s) => firewalldPortMatches(s, port)) ? 'yes' : 'no') : 'maybe';
    } else if (/\b(icmp-block|icmp-type|forward-port|masquerade|source-port)\b/.test(r)) cond = 'no';
    if (/\b(source|destination)\s/.test(r) || /\blimit\s+value=/.test(r)) cond = and(cond, 'maybe');
    const verdict: Verdict = /\breject\b/.test(r) ? 'reject' : /\bdrop\b/.test(r) ? 'drop' : 'accept';
    return { r, cond, verdict };
  });
  for (const x of rich.filter((x) => x.verdict !== 'accept')) {
    if (x.cond === 'yes') return { verdict: x.verdict, decidedBy: `rich rule: ${x.r}`, where, byPolicy: false, conditional, zone: z.name };
    if (x.cond === 'maybe') conditional.push({ verdict: x.verdict, rule: `rich rule: ${x.r}`, where });
  }
  const allow = (decidedBy: string): FirewalldInbound => ({ verdict: 'accept', decidedBy, where, byPolicy: false, conditional: conditional.filter((c) => c.verdict !== 'accept'), zone: z.name });
  for (const x of rich.filter((x) => x.verdict === 'accept')) {
    if (x.cond === 'yes') return allow(`rich rule: ${x.r}`);
  }
  const p = z.ports.find((s) => firewalldPortMatches(s, port));
  if (p) return allow(`ports: ${p}`);
  if (z.protocols.includes('udp')) return allow('protocols: udp');
  for (const svc of z.services) {
    const sp = servicePorts[svc]?.find((s) => firewalldPortMatches(s, port));
    if (sp) return allow(`service ${svc} (${sp})`);
  }
  for (const x of rich.filter((x) => x.verdict === 'accept' && x.cond === 'maybe')) conditional.push({ verdict: 'accept', rule: `rich rule: ${x.r}`, where });
  const t = z.target.toUpperCase();
  const verdict: Verdict = t === 'ACCEPT' ? 'accept' : t === 'DROP' ? 'drop' : 'reject';
  return {
    verdict,
    decidedBy: `target ${z.target} of zone ${z.name}${t === 'DEFAULT' ? ' (rejects what no service, port or rule allows)' : ''}`,
    where,
    byPolicy: true,
    conditional: conditional.filter((c) => (c.verdict === 'accept') !== (verdict === 'accept')),
    zone: z.name,
  };
}

// =================================================================================================
// Windows Defender Firewall: one JSON document from PowerShell (see WINDOWS_FIREWALL_SCRIPT)
// =================================================================================================

export type WinProfile = 'Domain' | 'Private' | 'Public';
export const WIN_PROFILES: WinProfile[] = ['Domain', 'Private', 'Public'];

export interface WinFirewallProfile {
  name: WinProfile;
  enabled: boolean;
  /** NotConfigured means the Windows default: Block */
  defaultInboundAction: 'Allow' | 'Block';
  defaultInboundActionRaw: string;
}

export interface WinConnection {
  name: string;
  interfaceAlias: string;
  category: 'Public' | 'Private' | 'DomainAuthenticated';
}

export interface WinRule {
  name: string;
  displayName: string;
  action: 'Allow' | 'Block';
  enabled: boolean;
  direction: 'Inbound' | 'Outbound';
  profiles: WinProfile[];
  /** "UDP", "TCP", "Any", "ICMPv4", or a protocol number */
  protocol: string;
  /** "Any", "5004", "5000-5010", keywords such as "RPC" */
  localPorts: string[];
  /** "Any" or a path (may contain %ProgramFiles%...) */
  program: string;
}

export interface WindowsFirewallState {
  profiles: WinFirewallProfile[];
  connections: WinConnection[];
  rules: WinRule[];
  error?: string;
}

// Enum values as ConvertTo-Json prints them when they are not converted to strings
// (MSFT_NetFirewallRule: Action Allow=2 AllowBypass=3 Block=4, Direction Inbound=1 Outbound=2,
// Enabled True=1 False=2, Profile flags Any=0 Domain=1 Private=2 Public=4;
// MSFT_NetFirewallProfile: Enabled (GpoBoolean) False=0 True=1 NotConfigured=2,
// DefaultInboundAction NotConfigured=0 Allow=2 Block=4; MSFT_NetConnectionProfile NetworkCategory
// Public=0 Private=1 DomainAuthenticated=2).
function enumText(v: Json, numbers: Record<number, string>): string {
  if (typeof v === 'number') return numbers[v] ?? String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') {
    if (/^\d+$/.test(v) && numbers[Number(v)]) return numbers[Number(v)];
    return v;
  }
  if (v && typeof v === 'object' && 'value' in v) return enumText(v.value, numbers); // PS 7 sometimes nests
  return '';
}

const ACTION = { 0: 'NotConfigured', 2: 'Allow', 3: 'AllowBypass', 4: 'Block' };
const DIRECTION = { 1: 'Inbound', 2: 'Outbound' };
const RULE_ENABLED = { 1: 'True', 2: 'False' };
const GPO_BOOLEAN = { 0: 'False', 1: 'True', 2: 'NotConfigured' };
const CATEGORY = { 0: 'Public', 1: 'Private', 2: 'DomainAuthenticated' };

function profileList(v: Json): WinProfile[] {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) {
    const n = Number(v);
    if (n === 0 || (n & 7) === 7 || n === 0x7fffffff) return [...WIN_PROFILES];
    return WIN_PROFILES.filter((_, i) => n & (1 << i));
  }
  const s = enumText(v, {});
  if (!s || /\bAny\b|\bAll\b/i.test(s)) return [...WIN_PROFILES];
  return WIN_PROFILES.filter((p) => new RegExp(`\\b${p}\\b`, 'i').test(s));
}

function arr(v: Json): Json[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function strList(v: Json): string[] {
  return arr(v)
    .flatMap((x) => (typeof x === 'string' ? x.split(',') : [String(x)]))
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The JSON document WINDOWS_FIREWALL_SCRIPT prints (keys Profiles, Connections, Rules). */
export function parseWindowsFirewallJson(json: string | Json): WindowsFirewallState {
  let doc: Json = json;
  if (typeof json === 'string') {
    const t = json.replace(/^\uFEFF/, '').trim();
    try {
      doc = JSON.parse(t);
    } catch (e) {
      throw new Error(`PowerShell did not print JSON (${(e as Error).message}): ${t.slice(0, 160)}`);
    }
  }
  const pick = (o: Json, ...keys: string[]): Json => {
    for (const k of keys) if (o && o[k] !== undefined) return o[k];
    return undefined;
  };
  const profiles: WinFirewallProfile[] = arr(pick(doc, 'Profiles', 'profiles')).flatMap((p: Json) => {
    const name = WIN_PROFILES.find((x) => x.toLowerCase() === String(p.Name ?? '').toLowerCase());
    if (!name) return [];
    const enabled = enumText(p.Enabled, GPO_BOOLEAN);
    const dia = enumText(p.DefaultInboundAction, ACTION);
    return [{ name, enabled: enabled !== 'False', defaultInboundAction: dia === 'Allow' ? 'Allow' : 'Block', defaultInboundActionRaw: dia || 'NotConfigured' } as WinFirewallProfile];
  });
  const connections: WinConnection[] = arr(pick(doc, 'Connections', 'connections')).map((c: Json) => {
    const cat = enumText(c.NetworkCategory, CATEGORY);
    return {
      name: String(c.Name ?? ''),
      interfaceAlias: String(c.InterfaceAlias ?? ''),
      category: (cat === 'Private' || cat === 'DomainAuthenticated' ? cat : 'Public') as WinConnection['category'],
    };
  });
  const rules: WinRule[] = arr(pick(doc, 'Rules', 'rules')).map((r: Json) => {
    const action = enumText(r.Action, ACTION);
    const direction = enumText(r.Direction, DIRECTION);
    const enabled = r.Enabled === undefined ? 'True' : enumText(r.Enabled, RULE_ENABLED);
    const proto = r.Protocol === undefined || r.Protocol === null || r.Protocol === '' ? 'Any' : String(r.Protocol);
    const ports = strList(r.LocalPort);
    const program = r.Program === undefined || r.Program === null || r.Program === '' ? 'Any' : String(r.Program);
    return {
      name: String(r.Name ?? r.DisplayName ?? ''),
      displayName: String(r.DisplayName ?? r.Name ?? ''),
      action: action === 'Block' ? 'Block' : 'Allow',
      enabled: enabled !== 'False',
      direction: direction === 'Outbound' ? 'Outbound' : 'Inbound',
      profiles: profileList(r.Profile ?? r.Profiles),
      protocol: proto,
      localPorts: ports.length ? ports : ['Any'],
      program,
    } as WinRule;
  });
  const err = pick(doc, 'Error', 'error');
  return { profiles, connections, rules, ...(err ? { error: String(err) } : {}) };
}

function winProtocolMatches(p: string): boolean {
  const s = p.trim().toUpperCase();
  return s === 'ANY' || s === 'UDP' || s === '17' || s === '256';
}

function winPortMatches(ports: string[], port: number): boolean {
  return ports.some((p) => {
    if (/^any$/i.test(p)) return true;
    const m = /^(\d+)(?:-(\d+))?$/.exec(p.trim());
    if (!m) return false; // RPC, RPC-EPMap, IPHTTPSIn, PlayToDiscovery, Teredo...
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    return port >= lo && port <= hi;
  });
}

function baseName(p: string): string {
  return p.replace(/^.*[\\/]/, '').toLowerCase();
}

/** A program-specific rule applies to `program` (a name such as vlc.exe or a full path). */
export function winProgramMatches(ruleProgram: string, program: string | undefined): boolean {
  if (/^any$/i.test(ruleProgram)) return true;
  if (!program) return false;
  if (/[\\/]/.test(program) && !/%/.test(ruleProgram)) return ruleProgram.toLowerCase() === program.toLowerCase();
  return baseName(ruleProgram) === baseName(program);
}

export interface WindowsInbound {
  profile: WinProfile;
  verdict: 'allow' | 'block';
  decidedBy: string;
  rule?: WinRule;
  /** decided by the profile's default inbound action (or because the profile's firewall is off) */
  byDefault: boolean;
  firewallOff: boolean;
}

/** Which profiles apply now: those of the connected networks (all three if none is reported). */
export function activeWindowsProfiles(st: WindowsFirewallState): WinProfile[] {
  const set = new Set<WinProfile>(st.connections.map((c) => (c.category === 'DomainAuthenticated' ? 'Domain' : c.category)));
  return set.size ? WIN_PROFILES.filter((p) => set.has(p)) : [...WIN_PROFILES];
}

/**
 * Windows semantics for one profile: a matching Block rule wins over any Allow rule; else a
 * matching Allow rule allows; else the profile's default inbound action (NotConfigured = Block).
 * Program-specific rules match only when `program` is given (e.g. "vlc.exe", "node.exe").
 */
export function evaluateWindowsInbound(st: WindowsFirewallState, o: { port: number; program?: string; profile?: WinProfile }): WindowsInbound[] {
  const profiles = o.profile ? [o.profile] : activeWindowsProfiles(st);
  return profiles.map((profile) => {
    const prof = st.profiles.find((p) => p.name === profile) ?? { name: profile, enabled: true, defaultInboundAction: 'Block' as const, defaultInboundActionRaw: 'NotConfigured' };
    if (!prof.enabled) return { profile, verdict: 'allow', decidedBy: `the firewall is off for the ${profile} profile`, byDefault: true, firewallOff: true };
    const matching = st.rules.filter(
      (r) => r.enabled && r.direction === 'Inbound' && r.profiles.includes(profile) && winProtocolMatches(r.protocol) && winPortMatches(r.localPorts, o.port) && winProgramMatches(r.program, o.program),
    );
    const block = matching.find((r) => r.action === 'Block');
    if (block) return { profile, verdict: 'block', decidedBy: `rule "${block.displayName}" (Block)`, rule: block, byDefault: false, firewallOff: false };
    const allow = matching.find((r) => r.action === 'Allow');
    if (allow) return { profile, verdict: 'allow', decidedBy: `rule "${allow.displayName}" (Allow)`, rule: allow, byDefault: false, firewallOff: false };
    return {
      profile,
      verdict: prof.defaultInboundAction === 'Allow' ? 'allow' : 'block',
      decidedBy: `default inbound action of the ${profile} profile: ${prof.defaultInboundAction}${prof.defaultInboundActionRaw === 'NotConfigured' ? ' (NotConfigured)' : ''}`,
      byDefault: true,
      firewallOff: false,
    };
  });
}

/**
 * One PowerShell script, one JSON document. Single quotes only (it travels as one argument of
 * `powershell -Command`); enums converted to strings; port and program filters fetched once with
 * -All and joined by InstanceID (piping each rule to Get-NetFirewallPortFilter takes minutes).
 */
export const WINDOWS_FIREWALL_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  'try {',
  '$pf = @{}; foreach ($f in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore)) { $pf[$f.InstanceID] = $f }',
  '$af = @{}; foreach ($f in @(Get-NetFirewallApplicationFilter -All -PolicyStore ActiveStore)) { $af[$f.InstanceID] = $f }',
  '$rules = @(Get-NetFirewallRule -Enabled True -Direction Inbound -PolicyStore ActiveStore | ForEach-Object { $p = $pf[$_.InstanceID]; $a = $af[$_.InstanceID]; [pscustomobject]@{ Name = $_.Name; DisplayName = $_.DisplayName; Action = [string]$_.Action; Direction = [string]$_.Direction; Enabled = [string]$_.Enabled; Profile = [string]$_.Profile; Protocol = [string]$p.Protocol; LocalPort = @($p.LocalPort | ForEach-Object { [string]$_ }); Program = [string]$a.Program } })',
  '$profiles = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object { [pscustomobject]@{ Name = [string]$_.Name; Enabled = [string]$_.Enabled; DefaultInboundAction = [string]$_.DefaultInboundAction } })',
  '$conns = @(Get-NetConnectionProfile -ErrorAction SilentlyContinue | ForEach-Object { [pscustomobject]@{ Name = [string]$_.Name; InterfaceAlias = [string]$_.InterfaceAlias; NetworkCategory = [string]$_.NetworkCategory } })',
  '[pscustomobject]@{ Profiles = $profiles; Connections = $conns; Rules = $rules } | ConvertTo-Json -Depth 4 -Compress',
  '} catch { [pscustomobject]@{ Error = $_.Exception.Message } | ConvertTo-Json -Compress }',
].join('; ').replace(/\{; /g, '{ ').replace(/; \}/g, ' }');

// =================================================================================================
// macOS: application firewall (socketfilterfw) and pf (pfctl)
// =================================================================================================

export interface MacAppFirewall {
  /** State = 0 off, 1 on, 2 on for essential services only (blocks everything else) */
  state?: number;
  enabled?: boolean;
  blockAll?: boolean;
  apps: { path: string; allow: boolean }[];
}

export function parseSocketfilterfw(out: { globalState?: string; blockAll?: string; listApps?: string }): MacAppFirewall {
  const r: MacAppFirewall = { apps: [] };
  const g = out.globalState ?? '';
  const sm = /State\s*=\s*(\d)/.exec(g);
  if (sm) r.state = Number(sm[1]);
  if (r.state !== undefined) r.enabled = r.state > 0;
  else if (/\bdisabled\b/i.test(g)) r.enabled = false;
  else if (/\benabled\b|\bblocking\b/i.test(g)) r.enabled = true;
  const b = out.blockAll ?? '';
  if (/block all state set to enabled|Block all ENABLED|block all is on/i.test(b)) r.blockAll = true;
  else if (/block all state set to disabled|Block all DISABLED|block all is off/i.test(b)) r.blockAll = false;
  if (r.state === 2) r.blockAll = true;
  let path: string | undefined;
  for (const raw of (out.listApps ?? '').split('\n')) {
    const pm = /^\s*\d+\s*:\s*(.*?)\s*$/.exec(raw);
    if (pm && !/\(\s*(Allow|Block) incoming connections\s*\)/i.test(raw)) {
      path = pm[1];
      continue;
    }
    const am = /\(\s*(Allow|Block) incoming connections\s*\)/i.exec(raw);
    if (am) {
      const inline = /^\s*\d+\s*:\s*(.*?)\s*\(\s*(?:Allow|Block) incoming/i.exec(raw);
      const p = inline ? inline[1] : path;
      if (p) r.apps.push({ path: p, allow: am[1].toLowerCase() === 'allow' });
      path = undefined;
    }
  }
  return r;
}

/** `pfctl -s info`: "Status: Enabled for 0 days ..." / "Status: Disabled". */
export function parsePfEnabled(text: string): boolean | undefined {
  const m = /^Status:\s*(Enabled|Disabled)/im.exec(text);
  return m ? m[1].toLowerCase() === 'enabled' : undefined;
}

function pfPortMatches(tokens: string[], port: number): Tri {
  // tokens after "port": "= 5004" | "5004" | "5000:5010" | "5000 >< 5010" | "5000 <> 5010" | "> 1024" | "!= 22" | "{ 5004 5005 }"
  const [a, b, c] = tokens;
  if (a === '{') {
    const end = tokens.indexOf('}');
    return tokens.slice(1, end < 0 ? undefined : end).some((t) => pfPortMatches([t.replace(/,$/, '')], port) === 'yes') ? 'yes' : 'no';
  }
  const num = (s: string | undefined): number => (s && /^\d+$/.test(s) ? Number(s) : NaN);
  if (['=', '!=', '<', '>', '<=', '>='].includes(a)) {
    const n = num(b);
    if (Number.isNaN(n)) return 'maybe';
    const ok = a === '=' ? port === n : a === '!=' ? port !== n : a === '<' ? port < n : a === '>' ? port > n : a === '<=' ? port <= n : port >= n;
    return ok ? 'yes' : 'no';
  }
  if (b === '><' || b === '<>') {
    const lo = num(a);
    const hi = num(c);
    if (Number.isNaN(lo) || Number.isNaN(hi)) return 'maybe';
    const inside = port > lo && port < hi;
    return (b === '><' ? inside : port < lo || port > hi) ? 'yes' : 'no';
  }
  const range = /^(\d+):(\d+)$/.exec(a ?? '');
  if (range) return port >= Number(range[1]) && port <= Number(range[2]) ? 'yes' : 'no';
  const n = num(a);
  if (!Number.isNaN(n)) return port === n ? 'yes' : 'no';
  return 'maybe'; // a service name
}

export interface PfInbound extends InboundDecision {
  anchors: string[];
}

/**
 * `pfctl -sr`: the last matching rule wins, unless a matching rule says `quick`. No match: pass.
 * Rules inside anchors (`anchor "com.apple/*"`) are not listed by -sr; they are reported.
 */
export function evaluatePfInbound(rules: string, port: number, pk: PacketAssumptions = {}): PfInbound {
  const fam = pk.family ?? 'ipv4';
  const anchors: string[] = [];
  const conditional: ConditionalVerdict[] = [];
  let decided: { verdict: Verdict; rule: string } | undefined;
  for (const raw of rules.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const tok = line.split(/\s+/);
    if (tok[0] === 'anchor') {
      anchors.push(tok[1]?.replace(/"/g, '') ?? '');
      continue;
    }
    if (tok[0] !== 'pass' && tok[0] !== 'block') continue;
    let cond: Tri = 'yes';
    let verdict: Verdict = tok[0] === 'pass' ? 'accept' : 'drop';
    let quick = false;
    let i = 1;
    if (tok[0] === 'block' && tok[1]) {
      if (tok[1] === 'drop') i++;
      else if (/^return/.test(tok[1])) {
        verdict = 'reject';
        i++;
      }
    }
    let toPart = false;
    for (; i < tok.length; i++) {
      const t = tok[i];
      if (t === 'in') continue;
      if (t === 'out') cond = 'no';
      else if (t === 'quick') quick = true;
      else if (t === 'on') {
        const ifn = tok[++i];
        cond = and(cond, pk.iif ? (ifn === pk.iif ? 'yes' : 'no') : ifn === 'lo0' ? 'no' : 'maybe');
      } else if (t === 'inet') cond = and(cond, fam === 'ipv4' ? 'yes' : 'no');
      else if (t === 'inet6') cond = and(cond, fam === 'ipv6' ? 'yes' : 'no');
      else if (t === 'proto') {
        const p = tok[++i];
        if (p === '{') {
          const end = tok.indexOf('}', i);
          const list = tok.slice(i + 1, end < 0 ? undefined : end).map((x) => x.replace(/,$/, ''));
          cond = and(cond, list.includes('udp') ? 'yes' : 'no');
          i = end < 0 ? tok.length : end;
        } else cond = and(cond, p === 'udp' || p === '17' ? 'yes' : 'no');
      } else if (t === 'from') {
        toPart = false;
        const a = tok[++i];
        if (a !== 'any') cond = and(cond, 'maybe');
      } else if (t === 'to') {
        toPart = true;
        const a = tok[++i];
        if (!['any', 'self', '(self)'].includes(a)) cond = and(cond, 'maybe');
      } else if (t === 'port') {
        const rest = tok.slice(i + 1);
        const r = pfPortMatches(rest, port);
        if (toPart) cond = and(cond, r);
        else cond = and(cond, 'maybe'); // a source port
        // skip the port expression
        if (rest[0] === '{') i += rest.indexOf('}') + 1;
        else if (['=', '!=', '<', '>', '<=', '>='].includes(rest[0])) i += 2;
        else if (rest[1] === '><' || rest[1] === '<>') i += 3;
        else i += 1;
      } else if (t === 'all') continue;
      else if (['keep', 'modulate', 'synproxy'].includes(t)) break; // state options follow
      else if (t === 'flags') i++;
      else if (t === 'log' || t === '(all)') continue;
    }
    if (cond === 'no') continue;
    if (cond === 'maybe') {
      conditional.push({ verdict, rule: line, where: 'pf rules' });
      continue;
    }
    decided = { verdict, rule: line };
    if (quick) break;
  }
  if (!decided) return { verdict: 'accept', decidedBy: 'no pf rule matches (pf passes by default)', where: 'pf', byPolicy: true, conditional: conditional.filter((c) => c.verdict !== 'accept'), anchors };
  const v = decided.verdict;
  return { verdict: v, decidedBy: decided.rule, where: 'pf rules', byPolicy: false, conditional: conditional.filter((c) => (c.verdict === 'accept') !== (v === 'accept')), anchors };
}
