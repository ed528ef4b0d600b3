import type { DiagReport, Finding } from './report';
import { checkPorts } from './ports';
import { checkFirewall } from './firewall';
import { capturePackets } from './packets';
import { checkCpu } from './cpu';
import { listCaptureDevices, measureLevels, type CaptureDevice } from '../audio/devices';

/**
 * The order in which causes explain "no sound": a problem earlier in this list makes the later
 * ones moot (nothing can arrive through a busy port or a closed firewall; a wrong port explains
 * silence before loss does). Pure.
 */
const PRIORITY: RegExp[] = [
  /^port\.(busy|excluded|denied)/,
  /^firewall\.(blocked|program-blocked)/,
  /^packets\.wrong-port/,
  /^packets\.(multicast-(route|join|not-joined)|sap-announced)/,
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

/** Below this peak a capture source counts as silent (the same threshold as send's silence warning). */
export const SILENT_DBFS = -60;

/**
 * What the measured levels say (pure; F8 "wrong or silent capture device"): the source send would
 * use by default is silent -> a problem, naming a source that carries sound if there is one.
 */
export function deviceLevelFindings(devices: CaptureDevice[], seconds: number): Finding[] {
  const f: Finding[] = [];
  const measured = devices.filter((d) => d.peakDb !== undefined && !d.levelError);
  const loud = measured.filter((d) => d.peakDb! > SILENT_DBFS).sort((a, b) => b.peakDb! - a.peakDb!);
  const level = (d: CaptureDevice) => (Number.isFinite(d.peakDb!) ? `peak ${d.peakDb!.toFixed(1)} dBFS` : 'digital silence');
  for (const d of devices) {
    if (d.levelError) f.push({ id: 'devices.level-error', severity: 'info', title: `${d.id}: could not capture (${d.levelError})` });
    else if (d.peakDb !== undefined) {
      const silent = d.peakDb <= SILENT_DBFS;
      f.push({ id: silent ? 'devices.silent' : 'devices.level', severity: silent && !d.isDefault ? 'info' : silent ? 'problem' : 'ok', title: `${d.id}${d.isDefault ? ' (default)' : ''}: ${silent ? `silent for ${seconds} s` : 'carries sound'} (${level(d)})`, ...(silent && d.isDefault ? {
        detail: `${d.kind === 'monitor' ? 'A monitor carries what its output plays: nothing plays there' : 'A microphone/line input: muted, unplugged, or the wrong input'}. rtpcast send captures it by default and would send silence.`,
        fix: loud.length
          ? `capture the source that carries sound: rtpcast send --source device:${loud[0].id}   (or make it the default: pactl set-default-source ${loud[0].name})`
          : 'play something on this machine (or unmute the application/source: pactl list sources), then check again: rtpcast devices --level',
      } : {}) });
    }
  }
  if (measured.length && !loud.length) {
    f.push({ id: 'devices.all-silent', severity: 'problem', title: `every capture source was silent for ${seconds} s (${measured.length} measured)`, detail: 'Nothing plays, or the application/source is muted.', fix: 'start the audio on this machine (and unmute it), then check again: rtpcast devices --level' });
  }
  return f;
}

export interface DoctorOptions {
  port: number;
  durationSec: number;
  /** receiver: ports, firewall, what arrives; sender: capture devices and CPU */
  side: 'receiver' | 'sender';
  /** the stream's SDP (text), as the receiver has it */
  sdp?: string;
}

const LEVEL_SECONDS = 2;

/** Runs the checks that apply on this side as a checklist; ends with the most likely cause. */
export async function runDoctor(o: DoctorOptions): Promise<DiagReport> {
  const reports: DiagReport[] = [];
  if (o.side === 'receiver') {
    reports.push(await checkPorts([o.port, o.port + 1]));
    reports.push(await checkFirewall(o.port));
    // a port we could not bind cannot be listened on: skip the capture then
    if (!reports[0].findings.some((f) => f.severity === 'problem' && f.id !== 'port.privileged')) {
      reports.push(await capturePackets({ port: o.port, durationSec: o.durationSec, sdp: o.sdp }));
    }
  } else {
    const list = await listCaptureDevices();
    const devFindings: Finding[] = list.backends.map((b) => ({ id: `devices.${b.backend}`, severity: b.available ? 'ok' : 'info', title: `${b.backend}: ${b.detail}` }));
    if (!list.devices.length) devFindings.push({ id: 'devices.none', severity: 'problem', title: 'no capture source found', fix: 'start PulseAudio/PipeWire, or send a file/tone: rtpcast send --input FILE' });
    else {
      const some = list.devices.slice(0, 16);
      await measureLevels(some, LEVEL_SECONDS);
      devFindings.push(...deviceLevelFindings(some, LEVEL_SECONDS));
    }
    reports.push({ check: 'devices', findings: devFindings });
    reports.push(checkCpu(2));
  }
  const findings = reports.flatMap((r) => r.findings);
  return { check: `doctor (${o.side})`, findings, data: { reports: reports.map((r) => ({ check: r.check, data: r.data })) }, conclusion: mostLikelyCause(findings) };
}
