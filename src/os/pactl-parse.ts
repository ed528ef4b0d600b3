/**
 * Pure parsers for `pactl` output (PulseAudio, or PipeWire through pipewire-pulse).
 *
 * Two input forms are supported:
 *  - JSON: `pactl -f json info|list sinks|list sources|list sink-inputs` (pactl >= 16).
 *  - Text: `pactl info|list sinks|list sources|list sink-inputs`, the fallback for pactl < 16,
 *    which has no `-f json`.
 *
 * The caller MUST run pactl with `LC_ALL=C` (and preferably `LANG=C`):
 *  - the text labels ("Sink #0", "Sample Specification:", "Corked: yes"...) are translated in
 *    other locales, and this parser only knows the C/English ones;
 *  - pactl 16's JSON writer formats numbers with the C library's locale, so in e.g. a German
 *    locale it prints `"balance":0,00`, which is not valid JSON.
 *
 * Shapes worth knowing (see test/fixtures/os/README.md for the recorded outputs):
 *  - pactl 16.1 JSON writes a source's "Monitor of Sink" under the key "monitor_source" (a pactl
 *    quirk); "" means "not a monitor". A "monitor_of_sink" key is accepted too.
 *  - In sink-input JSON "owner_module" and "client" are strings (or null on PipeWire), while "sink"
 *    is a number; in sink JSON "owner_module" is a number.
 *  - Text uses "n/a" for absent values ("Owner Module: n/a", "Monitor of Sink: n/a").
 *  - On PipeWire, pactl indices are the PipeWire object.serial values, not the node ids.
 *
 * No I/O here: callers pass the command's stdout.
 */
import type { SampleSpec, ServerInfo, Sink, SinkInput, Source } from './sound-server-types';

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Parses a PulseAudio sample spec string such as "s16le 2ch 48000Hz" or "float32le 1ch 44100Hz". */
export function parseSampleSpec(spec: string): SampleSpec {
  const m = /^\s*(\S+)\s+(\d+)ch\s+(\d+)Hz\s*$/.exec(spec);
  if (!m) throw new Error(`expected a sample specification like "s16le 2ch 48000Hz", got ${JSON.stringify(spec)}`);
  const channels = Number(m[2]);
  const rate = Number(m[3]);
  if (channels < 1 || rate < 1) throw new Error(`sample specification ${JSON.stringify(spec)} has no channels or no rate`);
  return { format: m[1], rate, channels };
}

/** "", "n/a" and null mean "none" in pactl output. */
function absent(v: unknown): boolean {
  return v === undefined || v === null || v === '' || v === 'n/a';
}

function isPipeWireServerName(name: string): boolean {
  return name.includes('PipeWire');
}

/** Turns a property value into the string form pactl prints. */
function propString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function toProperties(raw: unknown, where: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where}: expected "properties" to be an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k] = propString(v);
  return out;
}

/** application.process.id as a number, when it is a positive integer. */
function pidOf(props: Record<string, string>): number | undefined {
  const s = props['application.process.id'];
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  const n = Number(s);
  return n > 0 ? n : undefined;
}

function appFields(props: Record<string, string>): Pick<SinkInput, 'appName' | 'binary' | 'pid' | 'mediaName'> {
  const out: Pick<SinkInput, 'appName' | 'binary' | 'pid' | 'mediaName'> = {};
  if (props['application.name']) out.appName = props['application.name'];
  if (props['application.process.binary']) out.binary = props['application.process.binary'];
  const pid = pidOf(props);
  if (pid !== undefined) out.pid = pid;
  if (props['media.name']) out.mediaName = props['media.name'];
  return out;
}

/** An integer from a JSON number or a numeric string; undefined for null/""/"n/a". */
function optionalInt(v: unknown, what: string): number | undefined {
  if (absent(v)) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v);
  throw new Error(`${what}: expected an integer or "n/a", got ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------------------------------------
// JSON

type Json = Record<string, unknown>;

function parseJson(text: string, what: string): unknown {
  if (text.trim() === '') throw new Error(`${what}: expected JSON output, got nothing (is pactl >= 16? older pactl has no -f json)`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: expected JSON output (run pactl with LC_ALL=C): ${(e as Error).message}`);
  }
}

function jsonArray(text: string, what: string): Json[] {
  const v = parseJson(text, what);
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`${what}: item ${i}: expected an object`);
    return item as Json;
  });
}

function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`${where}: expected "${key}" to be a string`);
  return v;
}

function int(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}: expected "${key}" to be an integer`);
  return v;
}

function spec(o: Json, where: string): SampleSpec {
  const s = str(o, 'sample_specification', where);
  try {
    return parseSampleSpec(s);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** `pactl -f json info` */
export function parsePactlInfoJson(text: string): ServerInfo {
  const what = 'pactl -f json info';
  const v = parseJson(text, what);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: expected a JSON object`);
  const o = v as Json;
  const serverName = str(o, 'server_name', what);
  return {
    serverName,
    serverVersion: str(o, 'server_version', what),
    isPipeWire: isPipeWireServerName(serverName),
    // a server with no sink at all reports null / ""
    defaultSink: typeof o.default_sink_name === 'string' ? o.default_sink_name : '',
    defaultSource: typeof o.default_source_name === 'string' ? o.default_source_name : '',
  };
}

/** `pactl -f json list sinks` */
export function parsePactlSinksJson(text: string): Sink[] {
  const what = 'pactl -f json list sinks';
  return jsonArray(text, what).map((o, i) => {
    const where = `${what}: item ${i}`;
    const sink: Sink = {
      index: int(o, 'index', where),
      name: str(o, 'name', where),
      description: typeof o.description === 'string' ? o.description : '',
      ...spec(o, where),
      monitorSource: typeof o.monitor_source === 'string' ? o.monitor_source : '',
      state: str(o, 'state', where),
      properties: toProperties(o.properties, where),
    };
    const owner = optionalInt(o.owner_module, `${where}: "owner_module"`);
    if (owner !== undefined) sink.ownerModule = owner;
    return sink;
  });
}

/** `pactl -f json list sources` */
export function parsePactlSourcesJson(text: string): Source[] {
  const what = 'pactl -f json list sources';
  return jsonArray(text, what).map((o, i) => {
    const where = `${what}: item ${i}`;
    const source: Source = {
      index: int(o, 'index', where),
      name: str(o, 'name', where),
      description: typeof o.description === 'string' ? o.description : '',
      ...spec(o, where),
      state: str(o, 'state', where),
      properties: toProperties(o.properties, where),
    };
    // pactl 16.1 puts "Monitor of Sink" under "monitor_source"; accept a corrected key too.
    const monitorOf = 'monitor_of_sink' in o ? o.monitor_of_sink : o.monitor_source;
    if (!absent(monitorOf)) {
      if (typeof monitorOf !== 'string') throw new Error(`${where}: expected "monitor_source" to be a sink name or ""`);
      source.monitorOfSink = monitorOf;
    }
    return source;
  });
}

/** `pactl -f json list sink-inputs` */
export function parsePactlSinkInputsJson(text: string): SinkInput[] {
  const what = 'pactl -f json list sink-inputs';
  return jsonArray(text, what).map((o, i) => {
    const where = `${what}: item ${i}`;
    const properties = toProperties(o.properties, where);
    const sink = optionalInt(o.sink, `${where}: "sink"`);
    if (sink === undefined) throw new Error(`${where}: expected "sink" to be the sink index`);
    if (typeof o.corked !== 'boolean') throw new Error(`${where}: expected "corked" to be true or false`);
    return {
      index: int(o, 'index', where),
      sink,
      ...spec(o, where),
      ...appFields(properties),
      corked: o.corked,
      properties,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Text

/** Width of the leading whitespace, a tab counting 8 columns (pactl indents with tabs). */
function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === '\t') n += 8;
    else if (ch === ' ') n += 1;
    else break;
  }
  return n;
}

/** Undoes pactl's proplist quoting: `"a \"b\""` → `a "b"`. Unquoted values (hex:...) stay as they are. */
function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

interface TextBlock {
  kind: string;
  index: number;
  /** 1-based line number of the "Kind #N" header */
  line: number;
  fields: Map<string, { value: string; line: number }>;
  properties: Record<string, string>;
}

const HEADER = /^([A-Za-z][A-Za-z ]*?) #(\d+)\s*$/;

/**
 * Splits `pactl list <kind>` text into blocks. Field lines ("\tKey: value") sit one level under
 * the header; "Properties:" is followed by deeper `key = "value"` lines. Other deeper lines
 * (volume continuation, Formats, Ports and their own properties) are skipped.
 */
function parseTextBlocks(text: string, expectedKind: string, what: string): TextBlock[] {
  const blocks: TextBlock[] = [];
  const lines = text.split(/\r?\n/);
  let block: TextBlock | undefined;
  let fieldIndent = -1;
  let section: string | undefined;
  let propIndent = -1;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '') return;
    const indent = indentOf(raw);
    const line = raw.trim();
    if (indent === 0) {
      const m = HEADER.exec(line);
      if (!m || m[1] !== expectedKind) {
        throw new Error(
          `${what}: line ${lineNo}: expected a "${expectedKind} #N" header, got ${JSON.stringify(line)}` +
            ' (pactl must run with LC_ALL=C: its labels are translated in other locales)',
        );
      }
      block = { kind: m[1], index: Number(m[2]), line: lineNo, fields: new Map(), properties: {} };
      blocks.push(block);
      fieldIndent = -1;
      section = undefined;
      propIndent = -1;
      return;
    }
    if (!block) throw new Error(`${what}: line ${lineNo}: expected a "${expectedKind} #N" header before indented lines`);
    if (fieldIndent < 0) fieldIndent = indent;
    if (indent < fieldIndent) throw new Error(`${what}: line ${lineNo}: unexpected indentation in ${block.kind} #${block.index}`);
    if (indent === fieldIndent) {
      const m = /^([^:]+):(?:\s(.*))?$/.exec(line);
      if (!m) throw new Error(`${what}: line ${lineNo}: expected "Key: value" in ${block.kind} #${block.index}, got ${JSON.stringify(line)}`);
      const key = m[1].trim();
      const value = (m[2] ?? '').trim();
      block.fields.set(key, { value, line: lineNo });
      section = value === '' ? key : undefined;
      propIndent = -1;
      return;
    }
    // deeper than a field line
    if (section !== 'Properties') return;
    if (propIndent < 0) propIndent = indent;
    if (indent !== propIndent) return;
    const m = /^([^\s=]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${what}: line ${lineNo}: expected a property line 'key = "value"', got ${JSON.stringify(line)}`);
    block.properties[m[1]] = unquote(m[2]);
  });
  return blocks;
}

function field(b: TextBlock, key: string, what: string): { value: string; line: number } {
  const f = b.fields.get(key);
  if (!f) throw new Error(`${what}: line ${b.line}: ${b.kind} #${b.index} has no "${key}:" line`);
  return f;
}

function textSpec(b: TextBlock, what: string): SampleSpec {
  const f = field(b, 'Sample Specification', what);
  try {
    return parseSampleSpec(f.value);
  } catch (e) {
    throw new Error(`${what}: line ${f.line}: ${(e as Error).message}`);
  }
}

function textInt(b: TextBlock, key: string, what: string): number | undefined {
  const f = b.fields.get(key);
  if (!f || absent(f.value)) return undefined;
  if (!/^\d+$/.test(f.value)) throw new Error(`${what}: line ${f.line}: expected "${key}:" to be a number or n/a, got ${JSON.stringify(f.value)}`);
  return Number(f.value);
}

/** `pactl info` (text), run with LC_ALL=C */
export function parsePactlInfoText(text: string): ServerInfo {
  const what = 'pactl info';
  const fields = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const m = /^([^:]+):(?:\s(.*))?$/.exec(raw.trim());
    if (!m) throw new Error(`${what}: line ${i + 1}: expected "Key: value", got ${JSON.stringify(raw.trim())}`);
    fields.set(m[1].trim(), (m[2] ?? '').trim());
  });
  const need = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined) {
      throw new Error(`${what}: expected a "${key}:" line (pactl must run with LC_ALL=C: its labels are translated in other locales)`);
    }
    return v;
  };
  const serverName = need('Server Name');
  const dflt = (key: string): string => {
    const v = fields.get(key);
    return v === undefined || absent(v) ? '' : v;
  };
  return {
    serverName,
    serverVersion: need('Server Version'),
    isPipeWire: isPipeWireServerName(serverName),
    defaultSink: dflt('Default Sink'),
    defaultSource: dflt('Default Source'),
  };
}

/** `pactl list sinks` (text), run with LC_ALL=C */
export function parsePactlSinksText(text: string): Sink[] {
  const what = 'pactl list sinks';
  return parseTextBlocks(text, 'Sink', what).map((b) => {
    const monitor = field(b, 'Monitor Source', what).value;
    const sink: Sink = {
      index: b.index,
      name: field(b, 'Name', what).value,
      description: b.fields.get('Description')?.value ?? '',
      ...textSpec(b, what),
      monitorSource: absent(monitor) ? '' : monitor,
      state: field(b, 'State', what).value,
      properties: b.properties,
    };
    const owner = textInt(b, 'Owner Module', what);
    if (owner !== undefined) sink.ownerModule = owner;
    return sink;
  });
}

/** `pactl list sources` (text), run with LC_ALL=C */
export function parsePactlSourcesText(text: string): Source[] {
  const what = 'pactl list sources';
  return parseTextBlocks(text, 'Source', what).map((b) => {
    const source: Source = {
      index: b.index,
      name: field(b, 'Name', what).value,
      description: b.fields.get('Description')?.value ?? '',
      ...textSpec(b, what),
      state: field(b, 'State', what).value,
      properties: b.properties,
    };
    const monitorOf = field(b, 'Monitor of Sink', what).value;
    if (!absent(monitorOf)) source.monitorOfSink = monitorOf;
    return source;
  });
}

/** `pactl list sink-inputs` (text), run with LC_ALL=C */
export function parsePactlSinkInputsText(text: string): SinkInput[] {
  const what = 'pactl list sink-inputs';
  return parseTextBlocks(text, 'Sink Input', what).map((b) => {
    const sink = textInt(b, 'Sink', what);
    if (sink === undefined) throw new Error(`${what}: line ${field(b, 'Sink', what).line}: expected "Sink:" to be the sink index`);
    const corked = field(b, 'Corked', what);
    if (corked.value !== 'yes' && corked.value !== 'no') {
      throw new Error(`${what}: line ${corked.line}: expected "Corked: yes" or "Corked: no", got ${JSON.stringify(corked.value)}`);
    }
    return {
      index: b.index,
      sink,
      ...textSpec(b, what),
      ...appFields(b.properties),
      corked: corked.value === 'yes',
      properties: b.properties,
    };
  });
}
