// PLACEHOLDER: to be replaced by the real parsers (helper task in progress). Overwrite freely.
import type { ServerInfo, Sink, SinkInput, Source } from './sound-server-types';
const todo = (): never => {
  throw new Error('pactl parsers not written yet');
};
export const parsePactlInfoJson = (_t: string): ServerInfo => todo();
export const parsePactlInfoText = (_t: string): ServerInfo => todo();
export const parsePactlSinksJson = (_t: string): Sink[] => todo();
export const parsePactlSinksText = (_t: string): Sink[] => todo();
export const parsePactlSourcesJson = (_t: string): Source[] => todo();
export const parsePactlSourcesText = (_t: string): Source[] => todo();
export const parsePactlSinkInputsJson = (_t: string): SinkInput[] => todo();
export const parsePactlSinkInputsText = (_t: string): SinkInput[] => todo();
