/**
 * Incremental WAV parser for audio arriving on a pipe (e.g. `arecord -f S16_LE -r 22050 -c 1`).
 * Streaming writers cannot know the data length in advance and write 0 or 0xFFFFFFFF (or a
 * bogus value) as the data chunk size, so the data chunk is taken to run to the end of the stream.
 * Samples come out as mono float32 (channel mean), scaled int / 2^(bits-1).
 */
import { AudioDecodeError, type PcmEncoding, parseWavFmt, type WavFmt, wavEncoding } from "@edge-audio/dsp";

export class WavStreamError extends Error {
  override name = "WavStreamError";
}

export interface WavStreamFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 1 = integer PCM, 3 = IEEE float. */
  encoding: "pcm" | "float";
}

const MAX_CHANNELS = 64;
const MIN_RATE = 1000;
const MAX_RATE = 768000;
/** Largest non-data chunk we are willing to buffer while looking for "data". */
const MAX_HEADER_CHUNK = 1 << 20;

export interface WavStreamOptions {
  /**
   * Take the data chunk's declared size as the end of the audio (bytes after it, e.g. a trailing
   * LIST chunk, are ignored) unless it is 0 or 0xFFFFFFFF (streaming writers).
   * `declaredDataBytes` and `dataBytesMissing` then tell whether the stream held all of it.
   */
  honourDataSize?: boolean;
}

export class WavStreamParser {
  private pending: Uint8Array = new Uint8Array(0);
  private state: "riff" | "chunk" | "skip" | "data" | "done" = "riff";
  private skipLeft = 0;
  private fmt: WavStreamFormat | null = null;
  /** Data bytes still expected when the declared size is honoured (Infinity otherwise). */
  private dataLeft = Number.POSITIVE_INFINITY;
  /** The data chunk's declared size when it is honoured, else null. */
  declaredDataBytes: number | null = null;
  /** Number of whole sample frames delivered so far. */
  framesOut = 0;

  constructor(
    private readonly source = "standard input",
    private readonly options: WavStreamOptions = {},
  ) {}

  /** Declared data bytes that never arrived (0 when the declared size is not honoured). */
  get dataBytesMissing(): number {
    if (this.declaredDataBytes === null || this.state === "done") return 0;
    return Number.isFinite(this.dataLeft) ? Math.max(0, this.dataLeft - this.pending.length) : 0;
  }

  get format(): WavStreamFormat | null {
    return this.fmt;
  }

  /** Feeds bytes; returns the complete mono frames they finish (possibly empty). */
  push(bytes: Uint8Array): Float32Array {
    this.pending = concat(this.pending, bytes);
    for (;;) {
      if (this.state === "riff") {
        if (this.pending.length < 12) return new Float32Array(0);
        const tag = ascii(this.pending, 0, 4);
        if (tag !== "RIFF" && tag !== "RIFX") {
          throw new WavStreamError(
            `${this.source}: not a WAV stream (starts with ${JSON.stringify(tag)}, expected "RIFF"); send 16-bit PCM WAV, e.g. arecord -f S16_LE -r 22050 -c 1`,
          );
        }
        if (tag === "RIFX")
          throw new WavStreamError(
            `${this.source}: big-endian RIFX WAV is not supported; send little-endian RIFF WAV`,
          );
        if (ascii(this.pending, 8, 4) !== "WAVE")
          throw new WavStreamError(`${this.source}: RIFF stream is not WAVE`);
        this.pending = this.pending.subarray(12);
        this.state = "chunk";
      } else if (this.state === "chunk") {
        if (this.pending.length < 8) return new Float32Array(0);
        const id = ascii(this.pending, 0, 4);
        const size = view(this.pending).getUint32(4, true);
        if (id === "data") {
          if (!this.fmt) throw new WavStreamError(`${this.source}: "data" chunk before "fmt " chunk`);
          if (this.options.honourDataSize && size !== 0 && size !== 0xffffffff) {
            this.declaredDataBytes = size;
            this.dataLeft = size;
          }
          this.pending = this.pending.subarray(8);
          this.state = "data";
        } else if (id === "fmt ") {
          if (size < 16 || size > 1024)
            throw new WavStreamError(`${this.source}: "fmt " chunk has impossible size ${size}`);
          if (this.pending.length < 8 + size) return new Float32Array(0);
          this.fmt = parseFmt(this.pending.subarray(8, 8 + size), this.source);
          this.pending = this.pending.subarray(8 + size + (size & 1));
        } else {
          if (size > MAX_HEADER_CHUNK) {
            throw new WavStreamError(
              `${this.source}: chunk ${JSON.stringify(id)} before the audio declares ${size} bytes; refusing to buffer it`,
            );
          }
          this.skipLeft = size + (size & 1);
          this.pending = this.pending.subarray(8);
          this.state = "skip";
        }
      } else if (this.state === "skip") {
        const n = Math.min(this.skipLeft, this.pending.length);
        this.pending = this.pending.subarray(n);
        this.skipLeft -= n;
        if (this.skipLeft > 0) return new Float32Array(0);
        this.state = "chunk";
      } else if (this.state === "done") {
        this.pending = new Uint8Array(0);
        return new Float32Array(0);
      } else {
        return this.takeFrames();
      }
    }
  }

  /** Bytes of an incomplete final frame left when the stream ended (0 for a clean end). */
  get trailingBytes(): number {
    if (this.state !== "data") return 0;
    return Math.min(this.pending.length, this.dataLeft);
  }

  private takeFrames(): Float32Array {
    const f = this.fmt!;
    const bytesPer = f.bitsPerSample / 8;
    const frameBytes = bytesPer * f.channels;
    const avail = Math.min(this.pending.length, this.dataLeft);
    const nFrames = Math.floor(avail / frameBytes);
    const out = new Float32Array(nFrames);
    const dv = view(this.pending);
    const scale = 1 / f.channels;
    for (let i = 0; i < nFrames; i++) {
      let acc = 0;
      for (let c = 0; c < f.channels; c++) acc += readSample(dv, (i * f.channels + c) * bytesPer, f);
      out[i] = acc * scale;
    }
    this.pending = this.pending.subarray(nFrames * frameBytes);
    this.framesOut += nFrames;
    if (Number.isFinite(this.dataLeft)) {
      this.dataLeft -= nFrames * frameBytes;
      if (this.dataLeft < frameBytes && this.pending.length >= this.dataLeft) {
        // the declared audio is complete (a trailing partial frame included, which is dropped);
        // whatever follows (chunks, a pad byte) is not samples
        this.state = "done";
        this.pending = new Uint8Array(0);
      }
    }
    return out;
  }
}

/**
 * The stream's format from its 'fmt ' chunk, read by dsp's parser (the one the file decoder uses,
 * with its messages), within what a stream takes: 1 to 64 channels, 1 kHz to 768 kHz, PCM or float.
 */
function parseFmt(b: Uint8Array, source: string): WavStreamFormat {
  let fmt: WavFmt;
  let encoding: PcmEncoding;
  try {
    fmt = parseWavFmt(b, b.length, source);
    encoding = wavEncoding(fmt, source);
  } catch (e) {
    if (e instanceof AudioDecodeError) throw new WavStreamError(e.message);
    throw e;
  }
  const { channels, sampleRate, bitsPerSample } = fmt;
  if (channels > MAX_CHANNELS)
    throw new WavStreamError(`${source}: ${channels} channels is not a valid channel count`);
  if (sampleRate < MIN_RATE || sampleRate > MAX_RATE)
    throw new WavStreamError(`${source}: sample rate ${sampleRate} Hz is out of range`);
  if (encoding.kind === "pcm" || encoding.kind === "float")
    return { sampleRate, channels, bitsPerSample, encoding: encoding.kind };
  throw new WavStreamError(
    `${source}: unsupported WAV encoding (format tag ${fmt.tag}, ${bitsPerSample} bits); send PCM 8/16/24/32-bit or float WAV`,
  );
}

function readSample(dv: DataView, off: number, f: WavStreamFormat): number {
  if (f.encoding === "float")
    return f.bitsPerSample === 32 ? dv.getFloat32(off, true) : dv.getFloat64(off, true);
  switch (f.bitsPerSample) {
    case 8:
      return (dv.getUint8(off) - 128) / 128;
    case 16:
      return dv.getInt16(off, true) / 32768;
    case 24: {
      const v = dv.getUint8(off) | (dv.getUint8(off + 1) << 8) | (dv.getInt8(off + 2) << 16);
      return v / 8388608;
    }
    default:
      return dv.getInt32(off, true) / 2147483648;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function ascii(b: Uint8Array, off: number, n: number): string {
  return String.fromCharCode(...b.subarray(off, off + n));
}
