/**
 * What rtpcast knows about a PulseAudio-compatible sound server (PulseAudio itself, or PipeWire
 * through pipewire-pulse / pw-dump). Filled by the pure parsers in pactl-parse.ts and
 * pwdump-parse.ts from recorded command output.
 */
export interface ServerInfo {
  /** "pulseaudio", or "PulseAudio (on PipeWire 1.0.5)" */
  serverName: string;
  serverVersion: string;
  /** true when the server is PipeWire (pipewire-pulse) */
  isPipeWire: boolean;
  defaultSink: string;
  defaultSource: string;
}

export interface SampleSpec {
  /** e.g. "s16le", "float32le" */
  format: string;
  rate: number;
  channels: number;
}

export interface Sink extends SampleSpec {
  index: number;
  name: string;
  description: string;
  /** name of the source that carries what this sink plays */
  monitorSource: string;
  state: string;
  /** owner module index (for sinks rtpcast created and must unload) */
  ownerModule?: number;
  properties: Record<string, string>;
}

export interface Source extends SampleSpec {
  index: number;
  name: string;
  description: string;
  /** the sink whose output this monitor carries, when the source is a monitor */
  monitorOfSink?: string;
  state: string;
  properties: Record<string, string>;
}

/** A playback stream of an application (a "sink input"). */
export interface SinkInput extends SampleSpec {
  index: number;
  /** index of the sink it plays to */
  sink: number;
  appName?: string;
  binary?: string;
  pid?: number;
  mediaName?: string;
  corked: boolean;
  properties: Record<string, string>;
}
