import type { StreamDescription } from '../stream/description';
import type { Destination } from '../transport/destination';

export interface ReceiverCommand {
  player: string;
  command: string;
  note?: string;
}

/** Quotes a path for display in a command (these strings are printed, never executed). */
export function displayPath(p: string): string {
  return /[\s"'$`\\]/.test(p) ? `"${p.replace(/"/g, '\\"')}"` : p;
}

/** The GStreamer caps for an RTP stream (shared by the printed command and the interop tests). */
export function gstCaps(d: Pick<StreamDescription, 'codec' | 'clockRate' | 'channels' | 'payloadType'>): string {
  const enc = d.codec === 'opus' ? 'OPUS' : 'L16';
  const ch = d.codec === 'l16' ? `,channels=${d.channels}` : '';
  return `application/x-rtp,media=audio,clock-rate=${d.clockRate},encoding-name=${enc},payload=${d.payloadType}${ch}`;
}

/** GStreamer elements from udpsrc to decoded audio (without the sink). */
export function gstReceiveElements(d: StreamDescription, dest: Destination, latencyMs = 100): string[] {
  const src = ['udpsrc', ...(dest.multicast ? [`address=${dest.address}`] : []), `port=${dest.port}`, `caps="${gstCaps(d)}"`].join(' ');
  const depay = d.codec === 'opus' ? ['rtpopusdepay', 'opusdec'] : ['rtpL16depay'];
  return [src, `rtpjitterbuffer latency=${latencyMs}`, ...depay, 'audioconvert', 'audioresample'];
}

/** The exact commands that play this stream, for the destination `dest`. */
export function receiverCommands(d: StreamDescription, dest: Destination, sdpPath?: string): ReceiverCommand[] {
  const out: ReceiverCommand[] = [];
  const sdp = sdpPath ? displayPath(sdpPath) : undefined;
  if (sdp) {
    // Windows/macOS VLC reads SDP with live555. Debian/Ubuntu's VLC has no live555: its own SDP
    // reader accepts only static payload types (and needs --repeat to follow them), while its
    // libavformat demux plays every payload type; that is the command that works on all of them.
    out.push({ player: 'VLC', command: `vlc ${sdp}`, note: `Debian/Ubuntu VLC (no live555): cvlc --demux=avformat ${sdp}` });
    out.push({ player: 'ffplay', command: `ffplay -nodisp -protocol_whitelist file,udp,rtp -i ${sdp}` });
    out.push({ player: 'ffmpeg', command: `ffmpeg -protocol_whitelist file,udp,rtp -i ${sdp} out.wav` });
  }
  if (d.payloadType === 10 || d.payloadType === 11) {
    const at = dest.multicast ? (dest.family === 6 ? `[${dest.address}]` : dest.address) : '';
    out.push({ player: 'VLC', command: `vlc rtp://@${at}:${dest.port}`, note: 'static payload type: works without the SDP' });
  }
  out.push({ player: 'GStreamer', command: `gst-launch-1.0 ${[...gstReceiveElements(d, dest), 'autoaudiosink'].join(' ! ')}` });
  return out;
}
