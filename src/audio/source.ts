import type { PcmFormat } from './pcm';

/**
 * Where audio comes from. Sources deliver interleaved float PCM in their own format; the sender
 * converts rate and channels to the stream's (never assumes them).
 *
 * `pacing` says whose clock sets the pace:
 * - 'sender': rtpcast's monotonic clock (tone, files, stdin PCM): the source is read as fast as
 *   packets are due and is held back (backpressure) in between.
 * - 'source': a capture device's clock (system audio, devices, stdin from a live producer such as
 *   parec or arecord): packets leave when the device has produced them, so a device that runs
 *   0.01% fast never over- or under-runs.
 */
/** Where a run of 16-bit frames lies in a file (AudioSource.takeS16LERange). */
export interface S16LERange {
  fd: number;
  /** file offset of the first frame */
  offset: number;
  /** bytes of whole frames taken (at most the frames asked for) */
  bytes: number;
  /** file offset where the sample data ends */
  end: number;
}

export interface AudioSource {
  /** for messages: "tone 440 Hz", "file song.mp3 (decoded by ffmpeg)" */
  readonly label: string;
  readonly pacing: 'sender' | 'source';
  /** resolves when the format is known and audio can be read; rejects with an RtpcastError */
  open(): Promise<PcmFormat>;
  /** up to `frames` frames now (fewer, or an empty array, if not yet available); null once ended and drained */
  read(frames: number): Float32Array | null;
  /**
   * Sources that hold 16-bit little-endian PCM (a plain s16 WAV) may copy up to `frames` frames of
   * it into `out` at `offset` as they are: the sender then builds an L16 packet by swapping the
   * bytes in place (no float round trip, no copy). Returns the whole frames copied (0: none now),
   * null once ended. A sender uses either this or read(), never both.
   */
  readS16LE?(frames: number, out: Buffer, offset: number): number | null;
  /**
   * Sources whose 16-bit little-endian PCM lies in a regular file (a plain s16 WAV) may hand over
   * the place of the next `frames` frames instead of their bytes, and move on as if read: a native
   * pacer then reads them itself (Transport.sendFileRunAt). Null once ended. `end` is where the
   * samples end (bytes past it are silence); the fd stays open until close().
   */
  takeS16LERange?(frames: number): S16LERange | null;
  /** live sources: frames captured and not yet read (the sender keeps this near a target) */
  readonly buffered?: number;
  /**
   * live sources that can fall behind their producer (stdin from a live producer): frames received
   * so far, and a way to drop the oldest waiting frames. The sender then drops what piled up
   * beyond its target (start-up backlog, a stall of rtpcast) and counts it.
   */
  readonly arrivedFrames?: number;
  discard?(frames: number): number;
  /** frames the source dropped itself before sending began (stdin: what piled up while it was measured); counted with the sender's */
  readonly droppedFrames?: number;
  /** called when more audio becomes readable after a read came up short */
  onReadable(fn: () => void): void;
  /** a failure after open (the decoder died, the device vanished) */
  onError(fn: (e: Error) => void): void;
  close(): Promise<void>;
}
