import { Command } from 'commander';
import type { DeviceList } from '../audio/devices';
import type { OutputDeviceList } from '../audio/output-devices';
import { meter } from './output';

/** The capture-device table (pure: data in, text out). */
export function renderDevices(list: DeviceList, withLevels: boolean): string {
  const lines: string[] = [];
  for (const b of list.backends) lines.push(`${b.available ? '✔' : '✘'} ${b.backend.padEnd(9)} ${b.detail}`);
  const head = ['backend', 'id (--source device:ID)', 'description', 'kind', 'ch', 'rate', 'default', ...(withLevels ? ['level (2 s)'] : [])];
  const Table = require('cli-table3') as typeof import('cli-table3');
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true });
  for (const d of list.devices) {
    const level = d.levelError ? `error: ${d.levelError}` : d.peakDb === undefined ? '' : `${meter(d.peakDb)} ${Number.isFinite(d.peakDb) ? d.peakDb.toFixed(1) + ' dBFS' : 'silent'}`;
    t.push([d.backend, d.id, d.description, d.kind, d.channels, d.rate, d.isDefault ? 'yes' : '', ...(withLevels ? [level] : [])]);
  }
  lines.push(list.devices.length ? t.toString() : 'no capture devices found');
  for (const n of list.notes) lines.push(`note: ${n}`);
  if (!withLevels && list.devices.length) lines.push('which one carries sound? rtpcast devices --level');
  return lines.join('\n');
}

/** The output-device table (pure). */
export function renderOutputs(list: OutputDeviceList): string {
  const lines: string[] = [];
  for (const b of list.backends) lines.push(`${b.available ? '✔' : '✘'} ${b.backend.padEnd(9)} ${b.detail}`);
  const Table = require('cli-table3') as typeof import('cli-table3');
  const t = new Table({ head: ['backend', 'id (--out device:ID)', 'description', 'ch', 'rate', 'default'], style: { head: [], border: [] }, wordWrap: true });
  for (const d of list.devices) t.push([d.backend, d.id, d.description, d.channels, d.rate, d.isDefault ? 'yes' : '']);
  lines.push(list.devices.length ? t.toString() : 'no outputs found');
  return lines.join('\n');
}

export function devicesCommand(name = 'devices'): Command {
  return new Command(name)
    .summary('list capture sources (system sound monitors, microphones, PortAudio devices)')
    .description('List every capture source rtpcast can use, with its backend, id, channels and rate.\nA "monitor" carries what an output plays: that is the system sound.')
    .option('--level', 'capture each source for 2 s and show its level (find the one that carries sound)')
    .option('--outputs', 'list outputs (for rtpcast play --out device:ID) instead of capture sources')
    .option('--json', 'machine-readable output')
    .action(async (o: { level?: boolean; outputs?: boolean; json?: boolean }) => {
      if (o.outputs) {
        const { listOutputDevices } = require('../audio/output-devices') as typeof import('../audio/output-devices');
        const outs = await listOutputDevices();
        process.stdout.write((o.json ? JSON.stringify(outs, null, 2) : renderOutputs(outs)) + '\n');
        process.exitCode = outs.devices.length ? 0 : 1;
        return;
      }
      const { listCaptureDevices, measureLevels } = require('../audio/devices') as typeof import('../audio/devices');
      const list = await listCaptureDevices();
      if (o.level) await measureLevels(list.devices, 2);
      process.stdout.write((o.json ? JSON.stringify(list, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) : renderDevices(list, !!o.level)) + '\n');
      process.exitCode = list.devices.length ? 0 : 1;
    });
}
