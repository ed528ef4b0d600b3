import type { DiagReport, Finding } from './report';
import { checkPorts } from './ports';
import { checkFirewall } from './firewall';
import { capturePackets } from './packets';
import { checkCpu } from './cpu';
import { listCaptureDevices } from '../audio/devices';

/**
 * The order in which causes explain "no sound": a problem earlier in this list makes the later
 * ones moot (nothing can arrive through a busy port or a closed firewall; a wrong port explains
 * silence before loss does). Pure.
 */
const PRIORITY: RegExp[] = [
  /^port\.(busy|excluded|denied)/,
  /^firewall\.(blocked|program-blocked)/,
  /^packets\.wrong-port/,
  /^packets\.multicast-(route|join)/,
  /^packets\.raw-pcm/,
  /^packets\.sender-missing/,
  /^packets\.none/,
  /^format\./,
  /^packets\.(loss|rate-mismatch|kernel-drops)/,
  /^jitter\./,
  /^cpu\.recommend/,
  /^devices\./,
];

/** The single most likely cause among all findings (pure). */
export function mostLikelyCause(findings: Finding[]): string {
  const bad = findings.filter((f) => f.severity === 'problem' || f.severity === 'warn');
  for (const re of PRIORITY) {
    const f = bad.find((x) => re.test(x.id) && x.severity === 'problem') ?? bad.find((x) => re.test(x.id));
    if (f) return `${f.title}${f.fix ? ` (fix: ${f.fix.split('\n')[0]})` : ''}`;
  }
  const any = bad.find((f) => f.severity === 'problem') ?? bad[0];
  if (any) return `${any.title}${any.fix ? ` (fix: ${any.fix.split('\n')[0]})` : ''}`;
  return findings.some((f) => f.severity === 'unknown') ? 'nothing wrong was found, but some checks could not run (see the ? lines)' : 'nothing wrong found on this side';
}

export interface DoctorOptions {
  port: number;
  durationSec: number;
  /** receiver: ports, firewall, what arrives; sender: capture devices and CPU */
  side: 'receiver' | 'sender';
}

/** Runs the checks that apply on this side as a checklist; ends with the most likely cause. */
export async function runDoctor(o: DoctorOptions): Promise<DiagReport> {
  const reports: DiagReport[] = [];
  if (o.side === 'receiver') {
    reports.push(await checkPorts([o.port, o.port + 1]));
    reports.push(await checkFirewall(o.port));
    // a port we could not bind cannot be listened on: skip the capture then
    if (!reports[0].findings.some((f) => f.severity === 'problem' && f.id !== 'port.privileged')) {
      reports.push(await capturePackets({ port: o.port, durationSec: o.durationSec }));
    }
  } else {
    const list = await listCaptureDevices();
    const devFindings: Finding[] = list.backends.map((b) => ({ id: `devices.${b.backend}`, severity: b.available ? 'ok' : 'info', title: `${b.backend}: ${b.detail}` }));
    if (!list.devices.length) devFindings.push({ id: 'devices.none', severity: 'problem', title: 'no capture source found', fix: 'start PulseAudio/PipeWire, or send a file/tone: rtpcast send --input FILE' });
    reports.push({ check: 'devices', findings: devFindings });
    reports.push(checkCpu(2));
  }
  const findings = reports.flatMap((r) => r.findings);
  return { check: `doctor (${o.side})`, findings, data: { reports: reports.map((r) => ({ check: r.check, data: r.data })) }, conclusion: mostLikelyCause(findings) };
}
