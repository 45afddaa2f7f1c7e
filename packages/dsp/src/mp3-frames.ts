/**
 * Splits an MPEG audio (MP1/MP2/MP3) byte stream into frames as it arrives, so that a decoder is
 * fed whole frames and bytes that are not frames (a damaged stretch, tags, garbage) are skipped
 * and counted instead of ending the file.
 *
 * A stream is locked onto its first frame whose header is followed by a second matching header
 * (same MPEG version, layer, sample rate and channel count); after that, headers must match the
 * lock, and a frame found again after skipped bytes must be confirmed by the next header too. So a
 * file of random bytes yields no frame, and a damaged frame costs only itself.
 */

export interface MpegHeader {
  /** 1 (MPEG-1), 2 (MPEG-2) or 2.5 (MPEG-2.5). */
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
  sampleRate: number;
  /** Samples per channel one frame decodes to. */
  samplesPerFrame: number;
  /** Frame length in bytes, header included. */
  length: number;
  mono: boolean;
  /** Key of the fields a stream keeps from frame to frame. */
  key: number;
}

const BITRATES_KBPS: Record<string, readonly number[]> = {
  "1-1": [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  "1-2": [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  "1-3": [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  "2-1": [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  "2-2": [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, readonly number[]> = {
  1: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  2.5: [11025, 12000, 8000],
};

/** The frame header at b[p..p+4), or null when those bytes are not a valid one (free format included). */
export function parseMpegHeader(b: Uint8Array, p: number): MpegHeader | null {
  if (p + 4 > b.length || b[p] !== 0xff) return null;
  const b1 = b[p + 1]!;
  const b2 = b[p + 2]!;
  const b3 = b[p + 3]!;
  if ((b1 & 0xe0) !== 0xe0) return null;
  const v = (b1 >> 3) & 3;
  const l = (b1 >> 1) & 3;
  const bi = b2 >> 4;
  const si = (b2 >> 2) & 3;
  if (v === 1 || l === 0 || bi === 0 || bi === 15 || si === 3 || (b3 & 3) === 2) return null;
  const version = v === 3 ? 1 : v === 2 ? 2 : 2.5;
  const layer = (4 - l) as 1 | 2 | 3;
  const table = version === 1 ? `1-${layer}` : layer === 1 ? "2-1" : "2-2";
  const bitrate = BITRATES_KBPS[table]![bi]! * 1000;
  const sampleRate = SAMPLE_RATES[version]![si]!;
  const pad = (b2 >> 1) & 1;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && version !== 1 ? 576 : 1152;
  const length =
    layer === 1
      ? (Math.floor((12 * bitrate) / sampleRate) + pad) * 4
      : Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + pad;
  const mono = b3 >> 6 === 3;
  return { version, layer, sampleRate, samplesPerFrame, length, mono, key: (b1 & 0xfe) * 8 + si * 2 + +mono };
}

/**
 * Audio frames a Xing/Info (LAME, ffmpeg) header in frame `b[p..]` declares for the stream, or
 * null when the frame holds no such header or no frame count.
 */
export function xingFrameCount(b: Uint8Array, p: number, h: MpegHeader): number | null {
  if (h.layer !== 3) return null;
  const side = h.version === 1 ? (h.mono ? 17 : 32) : h.mono ? 9 : 17;
  const at = p + 4 + side;
  if (at + 12 > b.length || at + 12 > p + h.length) return null;
  const tag = String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
  if (tag !== "Xing" && tag !== "Info") return null;
  const flags = (b[at + 7]! & 0xff) | ((b[at + 6]! & 0xff) << 8);
  if (!(flags & 1)) return null;
  return ((b[at + 8]! << 24) | (b[at + 9]! << 16) | (b[at + 10]! << 8) | b[at + 11]!) >>> 0;
}

/** What a finished MpegFrameScanner saw. */
export interface MpegScanReport {
  /** Frames handed out. */
  frames: number;
  /** Stretches of bytes between frames that were not frames (damage), each skipped. */
  damagedStretches: number;
  /** Bytes skipped inside the audio (not counting tags before the first frame or after the last). */
  skippedBytes: number;
  /** Bytes the final frame lacks when the stream ends inside it (0 for a clean end). */
  lastFrameMissingBytes: number;
  /** Audio frames the Xing/Info header declares, or null without one. */
  declaredFrames: number | null;
}

export class MpegFrameScanner {
  /** Storage the bytes in hand (buf) live in, reused from push to push. */
  private store = new Uint8Array(0);
  private buf = new Uint8Array(0);
  private pos = 0;
  /** Bytes of an ID3v2 tag still to skip. */
  private tagLeft = 0;
  private started = false;
  private lock: MpegHeader | null = null;
  /** Bytes skipped since the last frame (a damaged stretch while frames have been seen). */
  private skipRun = 0;
  private ended = false;
  private readonly report: MpegScanReport = {
    frames: 0,
    damagedStretches: 0,
    skippedBytes: 0,
    lastFrameMissingBytes: 0,
    declaredFrames: null,
  };

  /** The header every frame of the stream shares, once the stream is locked. */
  get header(): MpegHeader | null {
    return this.lock;
  }

  /** Feeds bytes; returns the frames they complete (views valid until the next call). */
  push(bytes: Uint8Array): Uint8Array[] {
    if (this.ended) throw new Error("MpegFrameScanner: push after end");
    this.append(bytes);
    return this.scan();
  }

  /** Ends the stream: returns the last frames and what the scan saw. */
  end(): { frames: Uint8Array[]; report: MpegScanReport } {
    this.ended = true;
    const frames = this.scan();
    const h = this.lock && parseMpegHeader(this.buf, this.pos);
    if (h && h.key === this.lock!.key && h.length > this.buf.length - this.pos)
      this.report.lastFrameMissingBytes = h.length - (this.buf.length - this.pos);
    return { frames, report: { ...this.report } };
  }

  /**
   * Moves the bytes not yet scanned to the front of the buffer (overwriting the frames handed out
   * before) and appends the new ones; the buffer grows only when they do not fit.
   */
  private append(bytes: Uint8Array): void {
    const rest = this.buf.length - this.pos;
    if (rest + bytes.length > this.store.length) {
      const grown = new Uint8Array(Math.max(rest + bytes.length, this.store.length * 2));
      grown.set(this.buf.subarray(this.pos));
      this.store = grown;
    } else this.store.copyWithin(0, this.pos, this.buf.length);
    this.store.set(bytes, rest);
    this.buf = this.store.subarray(0, rest + bytes.length);
    this.pos = 0;
  }

  private scan(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const b = this.buf;
    if (!this.started && !this.skipTag()) return out;
    while (this.pos + 4 <= b.length) {
      const h = parseMpegHeader(b, this.pos);
      const fits = h !== null && (this.lock === null || h.key === this.lock.key);
      if (!fits) {
        this.skipByte();
        continue;
      }
      const end = this.pos + h.length;
      if (end > b.length) break; // the rest of the frame has not arrived
      if (this.lock === null || this.skipRun > 0) {
        // a first frame, or one after skipped bytes: the next header must agree
        const next = parseMpegHeader(b, end);
        if (end + 4 > b.length && !this.ended) break;
        const confirmed = next !== null && next.key === h.key;
        const last = end === b.length && this.ended;
        if (!confirmed && !last) {
          this.skipByte();
          continue;
        }
        if (this.lock === null) {
          this.lock = h;
          this.report.declaredFrames = xingFrameCount(b, this.pos, h);
        }
      }
      if (this.skipRun > 0 && this.report.frames > 0) {
        this.report.damagedStretches++;
        this.report.skippedBytes += this.skipRun;
      }
      this.skipRun = 0;
      out.push(b.subarray(this.pos, end));
      this.report.frames++;
      this.pos = end;
    }
    return out;
  }

  private skipByte(): void {
    this.pos++;
    this.skipRun++;
  }

  /** Skips an ID3v2 tag at the start of the stream; false while its header is incomplete. */
  private skipTag(): boolean {
    const b = this.buf;
    if (this.tagLeft === 0) {
      if (b.length < 10 && !this.ended) return false;
      if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
        const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
        this.tagLeft = 10 + size + (b[5]! & 0x10 ? 10 : 0);
      }
    }
    const n = Math.min(this.tagLeft, b.length - this.pos);
    this.pos += n;
    this.tagLeft -= n;
    if (this.tagLeft > 0) return false;
    this.started = true;
    return true;
  }
}
