import type { DiagReport, Finding } from '../diag/report';

const MARK: Record<Finding['severity'], string> = { ok: '✔', info: '·', warn: '!', problem: '✘', unknown: '?' };

/** Findings as a table, then each problem's fix (pure). */
export function renderReport(r: DiagReport): string {
  const Table = require('cli-table3') as typeof import('cli-table3');
  const t = new Table({ head: ['', 'check', 'finding'], style: { head: [], border: [] }, wordWrap: true, colWidths: [3, 28, 70] });
  for (const f of r.findings) t.push([MARK[f.severity], f.id + (f.line ? ` (line ${f.line})` : ''), f.title + (f.detail ? `\n${f.detail}` : '')]);
  const out = [`rtpcast diag ${r.check}`, t.toString()];
  const fixes = r.findings.filter((f) => f.fix && (f.severity === 'problem' || f.severity === 'warn' || f.severity === 'unknown'));
  if (fixes.length) out.push('To fix:', ...fixes.map((f) => `  ${MARK[f.severity]} ${f.title}\n      ${f.fix!.split('\n').join('\n      ')}`));
  if (r.conclusion) out.push(`Most likely: ${r.conclusion}`);
  return out.join('\n');
}

export function reportJson(r: DiagReport | DiagReport[]): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
