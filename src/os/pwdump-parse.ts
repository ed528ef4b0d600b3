/**
 * Pure parser for `pw-dump` output (PipeWire 0.3.x and 1.x): the JSON array of every global
 * object (Core, Client, Node, Port, Link, Metadata, ...).
 *
 * Mapping (see test/fixtures/os/README.md for what real dumps contain):
 *  - Node "Audio/Sink"                          → Sink (monitorSource = `${node.name}.monitor`)
 *  - Node "Audio/Source", "Audio/Source/Virtual" → Source
 *  - every Audio/Sink also yields its monitor as a Source, as pipewire-pulse lists it: PipeWire has
 *    no monitor node, the sink node itself has monitor output ports (a recorder of
 *    "speakers.monitor" is linked straight to the sink node, with `stream.capture.sink = true`).
 *    The monitor Source has the sink's index, like pipewire-pulse's.
 *  - Node "Stream/Output/Audio"                 → SinkInput
 *
 * Indices are PipeWire global (object) ids. NOTE: pactl on PipeWire shows the object.serial
 * instead; the serial is kept in `properties["object.serial"]`.
 *
 * Which sink a stream plays to, first match wins:
 *  1. its Links (output-node-id = the stream → input-node-id = a sink node);
 *  2. its `target.object` property (a node name or an object.serial; PipeWire ≥ 0.3.64) or the older
 *     `node.target` (a node id or name);
 *  3. the "default" metadata entries for that stream: `target.node` (node id) / `target.object`
 *     (serial) — set when a stream is moved; -1 means "none";
 *  4. the default sink; -1 when none of these resolve.
 *
 * Corked: PipeWire 1.x's pipewire-pulse sets `pulse.corked` on the stream node; without it (0.3.x,
 * or a native PipeWire client) a stream is taken as corked when its node is not "running" (a
 * corked pipewire-pulse stream is "suspended"/"idle", its links "paused").
 *
 * Sample spec: the negotiated "Format" param, else "EnumFormat" (the default of a choice), else the
 * `audio.format`/`audio.rate`/`audio.channels` props, else PipeWire's own defaults: 48000 Hz
 * (default.clock.rate), 2 channels, float32le (PipeWire's internal sample format).
 *
 * No I/O here: callers pass pw-dump's stdout.
 */
import type { SampleSpec, ServerInfo, Sink, SinkInput, Source } from './sound-server-types';

export interface PwDumpResult {
  info?: Partial<ServerInfo>;
  sinks: Sink[];
  sources: Source[];
  sinkInputs: SinkInput[];
}

type Obj = Record<string, unknown>;

/** PipeWire defaults used when a node says nothing about its format (see the header comment). */
export const PIPEWIRE_DEFAULT_SPEC: Readonly<SampleSpec> = { format: 'float32le', rate: 48000, channels: 2 };

/** SPA audio format names → PulseAudio sample format names. Planar (…P) formats are native-endian. */
const SPA_FORMATS: Record<string, string> = {
  U8: 'u8', U8P: 'u8',
  ALAW: 'alaw', ULAW: 'ulaw',
  S16LE: 's16le', S16BE: 's16be', S16P: 's16le',
  S24LE: 's24le', S24BE: 's24be', S24P: 's24le',
  S24_32LE: 's24-32le', S24_32BE: 's24-32be', S24_32P: 's24-32le',
  S32LE: 's32le', S32BE: 's32be', S32P: 's32le',
  F32LE: 'float32le', F32BE: 'float32be', F32P: 'float32le',
  F64LE: 'float64le', F64BE: 'float64be', F64P: 'float64le',
};

export function spaFormatToPulse(spa: string): string {
  return SPA_FORMATS[spa.toUpperCase()] ?? spa.toLowerCase();
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function propString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A pw-dump choice value ({"default": x, "alt1": …} or {"default": x, "min": …}) → its default. */
function choiceDefault(v: unknown): unknown {
  return isObj(v) && 'default' in v ? v.default : v;
}

function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return undefined;
}

interface PwNode {
  id: number;
  state: string;
  props: Obj;
  params: Obj;
}

interface PwLink {
  outNode: number;
  inNode: number;
}

/** The audio sample spec of a node, by the rules in the header comment. */
function nodeSpec(node: PwNode): SampleSpec {
  const fromParam = (list: unknown): SampleSpec | undefined => {
    if (!Array.isArray(list)) return undefined;
    for (const p of list) {
      if (!isObj(p) || p.mediaType !== 'audio' || p.mediaSubtype !== 'raw') continue;
      const format = choiceDefault(p.format);
      const rate = toInt(choiceDefault(p.rate));
      const channels = toInt(choiceDefault(p.channels));
      return {
        format: typeof format === 'string' ? spaFormatToPulse(format) : PIPEWIRE_DEFAULT_SPEC.format,
        rate: rate && rate > 0 ? rate : toInt(node.props['audio.rate']) ?? PIPEWIRE_DEFAULT_SPEC.rate,
        channels: channels && channels > 0 ? channels : toInt(node.props['audio.channels']) ?? PIPEWIRE_DEFAULT_SPEC.channels,
      };
    }
    return undefined;
  };
  const fromFormat = fromParam(node.params.Format) ?? fromParam(node.params.EnumFormat);
  if (fromFormat) return fromFormat;
  const format = node.props['audio.format'];
  return {
    format: typeof format === 'string' && format ? spaFormatToPulse(format) : PIPEWIRE_DEFAULT_SPEC.format,
    rate: toInt(node.props['audio.rate']) ?? PIPEWIRE_DEFAULT_SPEC.rate,
    channels: toInt(node.props['audio.channels']) ?? PIPEWIRE_DEFAULT_SPEC.channels,
  };
}

function properties(props: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) out[k] = propString(v);
  return out;
}

function description(props: Obj, name: string): string {
  for (const key of ['node.description', 'device.description', 'node.nick']) {
    const v = props[key];
    if (typeof v === 'string' && v) return v;
  }
  return name;
}

/** pactl-style state: RUNNING, IDLE, SUSPENDED, … */
function stateOf(node: PwNode): string {
  return node.state ? node.state.toUpperCase() : 'UNKNOWN';
}

/** A metadata value as pw-dump prints it: already parsed JSON, or a JSON string (older/other tools). */
function metadataName(value: unknown): string | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return v as string; // a bare name
    }
  }
  return isObj(v) && typeof v.name === 'string' ? v.name : undefined;
}

export function parsePwDump(text: string): PwDumpResult {
  const what = 'pw-dump';
  if (text.trim() === '') throw new Error(`${what}: expected a JSON array of PipeWire objects, got nothing`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: expected a JSON array of PipeWire objects: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`${what}: expected a JSON array of PipeWire objects`);

  const nodes: PwNode[] = [];
  const links: PwLink[] = [];
  const clients = new Map<number, Obj>();
  const streamMeta = new Map<number, { node?: number; object?: number }>();
  let core: Obj | undefined;
  let defaultSink: string | undefined;
  let defaultSource: string | undefined;

  data.forEach((o, i) => {
    if (!isObj(o)) throw new Error(`${what}: item ${i}: expected an object`);
    const type = o.type;
    const id = o.id;
    if (typeof type !== 'string' || typeof id !== 'number') throw new Error(`${what}: item ${i}: expected "id" (number) and "type" (string)`);
    // pw-dump --monitor style removals ({"id": n, "info": null}) and partial objects are skipped
    const info = isObj(o.info) ? o.info : undefined;
    switch (type) {
      case 'PipeWire:Interface:Core':
        core = info;
        break;
      case 'PipeWire:Interface:Client':
        if (info && isObj(info.props)) clients.set(id, info.props);
        break;
      case 'PipeWire:Interface:Node':
        if (!info) break;
        if (!isObj(info.props)) throw new Error(`${what}: node ${id}: expected "info.props" to be an object`);
        nodes.push({
          id,
          state: typeof info.state === 'string' ? info.state : '',
          props: info.props,
          params: isObj(info.params) ? info.params : {},
        });
        break;
      case 'PipeWire:Interface:Link': {
        if (!info) break;
        const props = isObj(info.props) ? info.props : {};
        const outNode = toInt(info['output-node-id']) ?? toInt(props['link.output.node']);
        const inNode = toInt(info['input-node-id']) ?? toInt(props['link.input.node']);
        if (outNode === undefined || inNode === undefined) throw new Error(`${what}: link ${id}: expected "output-node-id" and "input-node-id"`);
        links.push({ outNode, inNode });
        break;
      }
      case 'PipeWire:Interface:Metadata': {
        const props = isObj(o.props) ? o.props : {};
        if (props['metadata.name'] !== 'default' || !Array.isArray(o.metadata)) break;
        for (const entry of o.metadata) {
          if (!isObj(entry)) continue;
          const subject = toInt(entry.subject);
          if (subject === 0 && entry.key === 'default.audio.sink') defaultSink = metadataName(entry.value) ?? defaultSink;
          else if (subject === 0 && entry.key === 'default.audio.source') defaultSource = metadataName(entry.value) ?? defaultSource;
          else if (subject !== undefined && subject > 0 && (entry.key === 'target.node' || entry.key === 'target.object')) {
            const v = toInt(entry.value);
            if (v === undefined || v < 0) continue; // -1: no explicit target
            const m = streamMeta.get(subject) ?? {};
            if (entry.key === 'target.node') m.node = v;
            else m.object = v;
            streamMeta.set(subject, m);
          }
        }
        break;
      }
      default:
        break;
    }
  });

  const classOf = (n: PwNode): string => (typeof n.props['media.class'] === 'string' ? (n.props['media.class'] as string) : '');
  const nameOf = (n: PwNode): string => (typeof n.props['node.name'] === 'string' ? (n.props['node.name'] as string) : '');
  const sinkNodes = nodes.filter((n) => classOf(n) === 'Audio/Sink');
  const sinkIds = new Set(sinkNodes.map((n) => n.id));
  const sinkByName = (name: string): PwNode | undefined => sinkNodes.find((n) => nameOf(n) === name);
  const sinkBySerial = (serial: number): PwNode | undefined => sinkNodes.find((n) => toInt(n.props['object.serial']) === serial);

  const sinks: Sink[] = sinkNodes.map((n) => {
    const name = nameOf(n);
    const sink: Sink = {
      index: n.id,
      name,
      description: description(n.props, name),
      ...nodeSpec(n),
      monitorSource: `${name}.monitor`,
      state: stateOf(n),
      properties: properties(n.props),
    };
    const module = toInt(n.props['pulse.module.id']);
    if (module !== undefined) sink.ownerModule = module;
    return sink;
  });

  const sources: Source[] = [];
  for (const n of nodes) {
    const cls = classOf(n);
    if (cls === 'Audio/Source' || cls === 'Audio/Source/Virtual') {
      const name = nameOf(n);
      sources.push({
        index: n.id,
        name,
        description: description(n.props, name),
        ...nodeSpec(n),
        state: stateOf(n),
        properties: properties(n.props),
      });
    } else if (cls === 'Audio/Sink') {
      const name = nameOf(n);
      sources.push({
        index: n.id,
        name: `${name}.monitor`,
        description: `Monitor of ${description(n.props, name)}`,
        ...nodeSpec(n),
        monitorOfSink: name,
        // the monitor is idle while nothing records it, even when the sink runs (as pipewire-pulse reports it)
        state: n.state === 'running' && !links.some((l) => l.outNode === n.id) ? 'IDLE' : stateOf(n),
        properties: { ...properties(n.props), 'device.class': 'monitor' },
      });
    }
  }

  const defaultSinkId = defaultSink === undefined ? undefined : sinkByName(defaultSink)?.id;
  const targetSink = (stream: PwNode): number => {
    // 1. links: the stream's output ports → a sink's input ports
    for (const l of links) if (l.outNode === stream.id && sinkIds.has(l.inNode)) return l.inNode;
    // 2. target.object (name or serial), node.target (id or name)
    const target = stream.props['target.object'];
    if (target !== undefined && target !== null && target !== '') {
      const t = String(target);
      const hit = sinkByName(t) ?? (toInt(t) !== undefined ? sinkBySerial(toInt(t)!) : undefined);
      if (hit) return hit.id;
    }
    const legacy = stream.props['node.target'];
    if (legacy !== undefined && legacy !== null && legacy !== '') {
      const t = String(legacy);
      const asId = toInt(t);
      if (asId !== undefined && sinkIds.has(asId)) return asId;
      const hit = sinkByName(t);
      if (hit) return hit.id;
    }
    // 3. "default" metadata target.node / target.object for this stream
    const meta = streamMeta.get(stream.id);
    if (meta?.node !== undefined && sinkIds.has(meta.node)) return meta.node;
    if (meta?.object !== undefined) {
      const hit = sinkBySerial(meta.object);
      if (hit) return hit.id;
    }
    // 4. where an unrouted stream goes
    return defaultSinkId ?? -1;
  };

  const sinkInputs: SinkInput[] = nodes
    .filter((n) => classOf(n) === 'Stream/Output/Audio')
    .map((n) => {
      const props = properties(n.props);
      const clientId = toInt(n.props['client.id']);
      const client = clientId === undefined ? undefined : clients.get(clientId);
      const pick = (key: string): string | undefined => {
        const own = props[key];
        if (own) return own;
        const c = client?.[key];
        return c === undefined || c === null || c === '' ? undefined : propString(c);
      };
      const input: SinkInput = {
        index: n.id,
        sink: targetSink(n),
        ...nodeSpec(n),
        corked: 'pulse.corked' in n.props ? n.props['pulse.corked'] === true || n.props['pulse.corked'] === 'true' : n.state !== 'running',
        properties: props,
      };
      const appName = pick('application.name');
      if (appName) input.appName = appName;
      const binary = pick('application.process.binary');
      if (binary) input.binary = binary;
      const pid = toInt(pick('application.process.id'));
      if (pid !== undefined && pid > 0) input.pid = pid;
      if (props['media.name']) input.mediaName = props['media.name'];
      return input;
    });

  // pw-dump lists objects in registry order, and ids get reused: sort like pactl does
  const byIndex = (a: { index: number }, b: { index: number }): number => a.index - b.index;
  const result: PwDumpResult = { sinks: sinks.sort(byIndex), sources: sources.sort(byIndex), sinkInputs: sinkInputs.sort(byIndex) };
  const info: Partial<ServerInfo> = {};
  if (core) {
    info.serverName = 'PipeWire';
    info.isPipeWire = true;
    if (typeof core.version === 'string') info.serverVersion = core.version;
  }
  if (defaultSink !== undefined) info.defaultSink = defaultSink;
  if (defaultSource !== undefined) info.defaultSource = defaultSource;
  if (Object.keys(info).length > 0) result.info = info;
  return result;
}
