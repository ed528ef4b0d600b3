/**
 * Parsers for "who holds this UDP port" (pure; the fixtures are in test/fixtures/ports):
 *   Linux    `ss -H -u -a -n -p 'sport = :PORT'`
 *   macOS    `lsof -nP -iUDP:PORT -F pcn`
 *   Windows  `Get-NetUDPEndpoint ... | ConvertTo-Json`, `Get-Process ... | ConvertTo-Json`,
 *            `netsh interface ipv4 show excludedportrange protocol=udp` (numbers only: its words are localized)
 */

export interface PortHolder {
  /** program name as the OS reports it (ss/lsof: command; Windows: process name without .exe) */
  name?: string;
  pid: number;
  fd?: number;
}

export interface UdpSocketInfo {
  /** as printed: 0.0.0.0, ::, *, 127.0.0.1 (an interface suffix such as %lo is split off) */
  localAddress: string;
  localPort: number;
  /** interface a socket is bound to (ss prints 127.0.0.1%lo) */
  iface?: string;
  /** UNCONN (bound) or ESTAB (connected) for ss; undefined elsewhere */
  state?: string;
  peer?: string;
  /** empty when the OS did not say (ss shows other users' processes only to root) */
  holders: PortHolder[];
}

/** Splits "addr:port" as ss prints it: 0.0.0.0:5004, [::]:5004, *:5004, 127.0.0.1%lo:5004, [fe80::1]%eth0:5004. */
export function splitSsAddress(s: string): { address: string; port: number | undefined; iface?: string } {
  const i = s.lastIndexOf(':');
  if (i < 0) return { address: s, port: undefined };
  const portText = s.slice(i + 1);
  let address = s.slice(0, i);
  let iface: string | undefined;
  const pct = address.lastIndexOf('%');
  if (pct >= 0 && pct > address.lastIndexOf(']')) {
    iface = address.slice(pct + 1);
    address = address.slice(0, pct);
  }
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const port = /^\d+$/.test(portText) ? Number(portText) : undefined;
  return iface ? { address, port, iface } : { address, port };
}

/** `users:(("node",pid=20036,fd=18),("vlc",pid=7,fd=3))` -> holders. Names may contain spaces and escaped quotes. */
export function parseSsUsers(text: string): PortHolder[] {
  const out: PortHolder[] = [];
  const re = /\("((?:[^"\\]|\\.)*)",pid=(\d+)(?:,fd=(\d+))?\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ name: m[1].replace(/\\(.)/g, '$1'), pid: Number(m[2]), ...(m[3] !== undefined ? { fd: Number(m[3]) } : {}) });
  }
  return out;
}

const SS_STATES = new Set(['UNCONN', 'ESTAB', 'LISTEN', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'CLOSED', 'UNKNOWN']);

/**
 * `ss -H -u -a -n -p 'sport = :PORT'` (also accepts the header line and a leading Netid column).
 * Lines: `UNCONN 0 0 0.0.0.0:5004 0.0.0.0:* users:(("node",pid=20036,fd=18))`.
 */
export function parseSsUdp(text: string): UdpSocketInfo[] {
  const out: UdpSocketInfo[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const tok = line.split(/\s+/);
    if (tok[0] === 'State' || tok[0] === 'Netid') continue; // header
    if (tok[0] === 'udp' || tok[0] === 'udp6' || tok[0] === 'u_dgr') tok.shift();
    if (!SS_STATES.has(tok[0]) || tok.length < 5) continue;
    const local = splitSsAddress(tok[3]);
    if (local.port === undefined) continue;
    const rest = tok.slice(5).join(' ');
    out.push({
      state: tok[0],
      localAddress: local.address,
      localPort: local.port,
      ...(local.iface ? { iface: local.iface } : {}),
      peer: tok[4],
      holders: parseSsUsers(rest),
    });
  }
  return out;
}

/**
 * `lsof -nP -iUDP:PORT -F pcn`: one field per line, the first character names it
 * (p pid, c command, f fd, n name such as `*:5004` or `127.0.0.1:5004`). A `p` starts a process set.
 */
export function parseLsofUdp(text: string): UdpSocketInfo[] {
  const out: UdpSocketInfo[] = [];
  let holder: PortHolder | undefined;
  let fd: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line) continue;
    const k = line[0];
    const v = line.slice(1);
    if (k === 'p') {
      holder = { pid: Number(v) };
      fd = undefined;
    } else if (k === 'c' && holder) {
      holder.name = v;
    } else if (k === 'f') {
      fd = /^\d+$/.test(v) ? Number(v) : undefined;
    } else if (k === 'n' && holder) {
      // "*:5004", "127.0.0.1:5004", "[::1]:5004", connected: "127.0.0.1:5004->127.0.0.1:40000"
      const [local, peer] = v.split('->');
      const a = splitSsAddress(local);
      if (a.port === undefined) continue;
      out.push({
        localAddress: a.address,
        localPort: a.port,
        ...(peer ? { peer } : {}),
        holders: [{ ...holder, ...(fd !== undefined ? { fd } : {}) }],
      });
    }
  }
  return out;
}

/** ConvertTo-Json prints one object for one result, an array for several, nothing for none. */
function jsonItems(json: string): Record<string, unknown>[] {
  const t = json.replace(/^\uFEFF/, '').trim();
  if (!t) return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message}): ${t.slice(0, 120)}`);
  }
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
}

/** `Get-NetUDPEndpoint -LocalPort P | Select LocalAddress,LocalPort,OwningProcess | ConvertTo-Json`. */
export function parseNetUdpEndpointJson(json: string): UdpSocketInfo[] {
  return jsonItems(json).flatMap((o) => {
    const port = Number(o.LocalPort);
    const pid = Number(o.OwningProcess);
    if (!Number.isInteger(port)) return [];
    return [{ localAddress: String(o.LocalAddress ?? ''), localPort: port, holders: Number.isInteger(pid) ? [{ pid }] : [] }];
  });
}

/** `Get-Process -Id N | Select Name,Id | ConvertTo-Json` -> pid -> name. */
export function parseGetProcessJson(json: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const o of jsonItems(json)) {
    const pid = Number(o.Id);
    if (Number.isInteger(pid) && typeof o.Name === 'string') m.set(pid, o.Name);
  }
  return m;
}

export interface ExcludedRange {
  start: number;
  end: number;
  /** marked with `*`: an administrator's exclusion (netsh add excludedportrange), not Hyper-V/WinNAT's */
  administered: boolean;
}

/**
 * `netsh interface ipv4 show excludedportrange protocol=udp`. The headings and the footnote are
 * translated, the table is not: only lines made of two port numbers (and an optional `*`) count.
 */
export function parseExcludedRanges(text: string): ExcludedRange[] {
  const out: ExcludedRange[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(\d{1,5})\s+(\d{1,5})\s*(\*)?\s*$/.exec(raw);
    if (!m) continue;
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start < 1 || end > 65535 || end < start) continue;
    out.push({ start, end, administered: m[3] === '*' });
  }
  return out;
}

export function rangeContaining(ranges: ExcludedRange[], port: number): ExcludedRange | undefined {
  return ranges.find((r) => port >= r.start && port <= r.end);
}
