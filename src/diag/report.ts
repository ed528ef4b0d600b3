/**
 * What every `rtpcast diag` check returns: findings (each with its cause and the fix to try) and
 * the measured data. Rendering (table or JSON) and the exit code are decided in one place.
 */
export type Severity = 'ok' | 'info' | 'warn' | 'problem' | 'unknown';

export interface Finding {
  /** stable id for scripts, e.g. "sdp.rtpmap-missing", "port.busy", "firewall.blocked" */
  id: string;
  severity: Severity;
  /** one line: what was found */
  title: string;
  /** why it matters / what was measured */
  detail?: string;
  /** the command or change that fixes it */
  fix?: string;
  /** for file checks: the line it refers to */
  line?: number;
}

export interface DiagReport {
  check: string;
  findings: Finding[];
  /** numbers and tables behind the findings (same data in --json) */
  data?: unknown;
  /** for a checklist (diag doctor): the single most likely cause */
  conclusion?: string;
}

/** 0 healthy, 1 a problem found, 2 could not check (documented in --help). */
export function exitCodeOf(r: DiagReport | DiagReport[]): 0 | 1 | 2 {
  const all = (Array.isArray(r) ? r : [r]).flatMap((x) => x.findings);
  if (all.some((f) => f.severity === 'problem')) return 1;
  if (all.some((f) => f.severity === 'unknown')) return 2;
  return 0;
}

export const DIAG_EXIT_HELP = `Exit codes:
  0  healthy: nothing wrong found
  1  a problem was found (each one is printed with its cause and the fix)
  2  could not check (a tool was missing, permission denied, ...)`;
