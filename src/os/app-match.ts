import type { Sink, SinkInput } from './sound-server-types';

/**
 * Which playback streams belong to the application the user named: a number is a process id;
 * otherwise the application name or the program's file name, exactly (case-insensitive), and
 * if nothing matches exactly, as a substring. Pure.
 */
export function matchApps(inputs: SinkInput[], query: string): SinkInput[] {
  const q = query.trim().toLowerCase();
  if (/^\d+$/.test(q)) return inputs.filter((i) => i.pid === Number(q));
  const names = (i: SinkInput) => [i.appName, i.binary].filter((x): x is string => !!x).map((x) => x.toLowerCase());
  const exact = inputs.filter((i) => names(i).includes(q));
  if (exact.length) return exact;
  return inputs.filter((i) => names(i).some((n) => n.includes(q)));
}

/** "firefox (firefox, pid 1234) playing "Song" on Speakers" lines for messages. Pure. */
export function describeInputs(inputs: SinkInput[], sinks: Sink[]): string[] {
  return inputs.map((i) => {
    const sink = sinks.find((s) => s.index === i.sink);
    const who = [i.binary, i.pid !== undefined ? `pid ${i.pid}` : undefined].filter(Boolean).join(', ');
    return `${i.appName ?? '(unnamed)'}${who ? ` (${who})` : ''}${i.mediaName ? ` playing "${i.mediaName}"` : ''} on ${sink?.description ?? sink?.name ?? `sink #${i.sink}`}${i.corked ? ' [paused]' : ''}`;
  });
}

/** Text safe to put inside a PulseAudio module argument (no quotes, spaces or backslashes). */
export function moduleArgSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'app';
}
