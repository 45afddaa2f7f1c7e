/**
 * MP3 and FLAC decoded in pieces: bytes go in as they are read, samples come out as the decoders
 * produce them, so neither the file nor the decoded song is ever held whole. The whole-file
 * decoder (decodeAudioAsync) is this with all the bytes in one piece, so both give the same
 * samples.
 */
import { AudioDecodeError } from "./errors.js";
import { FlacFrameSplitter } from "./flac-frames.js";
import { MpegFrameScanner } from "./mp3-frames.js";

/** Samples of a piece of a stream, one array per channel, all of the same length. */
export interface DecodedPiece {
  sampleRate: number;
  channels: Float32Array[];
}

/** What is missing from a stream that ended early. */
export interface MissingAudio {
  /** One line: what is missing, in the stream's own terms. */
  detail: string;
  /** Seconds of audio missing, where the stream declares its length; null otherwise. */
  seconds: number | null;
}

/** What a finished stream decoder saw. */
export interface StreamDecodeReport {
  /** Damaged frames skipped (MP3: stretches of bytes that were no frame; FLAC: frames the decoder rejected). */
  damagedFrames: number;
  /** Samples outside [-1, 1) clamped into it. */
  clampedSamples: number;
  /** Set when the stream ends before the audio it declares (or inside a frame). */
  missing: MissingAudio | null;
}

export interface CompressedStreamDecoder {
  /**
   * Decodes the next bytes of the stream; null when they complete no audio yet. The piece's
   * arrays may be reused by the next push() or end(): copy what is kept.
   */
  push(bytes: Uint8Array): Promise<DecodedPiece | null>;
  /** Ends the stream: the last samples and the report. Throws when the stream held no audio. */
  end(): Promise<{ piece: DecodedPiece | null; report: StreamDecodeReport }>;
  /** Releases the decoder (always call it, also after an error). */
  free(): void;
}

const MAX_BELOW_ONE = 1 - 2 ** -24;

/** Runs `f` with console.error silenced: the wasm decoders log every error there, and the errors are reported instead. */
function quietly<T>(f: () => T): T {
  const saved = console.error;
  console.error = () => {};
  try {
    return f();
  } finally {
    console.error = saved;
  }
}

/** Index of the first sample outside [-1, 1) (NaN included), or the length when there is none. */
function firstOutOfRange(ch: Float32Array): number {
  const n = ch.length;
  for (let i = 0; i < n; i++) {
    const v = ch[i]!;
    if (!(v >= -1 && v <= MAX_BELOW_ONE)) return i;
  }
  return n;
}

/**
 * Refuses non-finite samples and clamps the rest into [-1, 1) in place; returns how many were
 * clamped. (A damaged frame can decode to values far outside the range.)
 */
function checkSamples(what: string, channels: Float32Array[], at: number, file: string | undefined): number {
  let clamped = 0;
  for (const [ci, ch] of channels.entries())
    for (let i = firstOutOfRange(ch); i < ch.length; i++) {
      const v = ch[i]!;
      if (v >= -1 && v <= MAX_BELOW_ONE) continue;
      if (!Number.isFinite(v))
        throw new AudioDecodeError(
          "NON_FINITE",
          `${what} decoder returned ${v} at sample ${at + i} of channel ${ci}`,
          file,
        );
      ch[i] = v < -1 ? -1 : MAX_BELOW_ONE;
      clamped++;
    }
  return clamped;
}

interface DecoderOutput {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: unknown[];
}

/** Shared bookkeeping of both decoders: sample checks, counts, the sample rate. */
class PieceCounter {
  samples = 0;
  clamped = 0;
  errors = 0;
  sampleRate = 0;
  constructor(
    private readonly what: string,
    private readonly file: string | undefined,
  ) {}

  /** Whether the last decoder call reported an error. */
  lastHadError = false;

  take(r: DecoderOutput, keepChannels: number): DecodedPiece | null {
    this.errors += r.errors.length;
    this.lastHadError = r.errors.length > 0;
    if (r.samplesDecoded === 0 || r.channelData.length === 0) return null;
    const channels = r.channelData
      .slice(0, keepChannels)
      .map((c) => (c.length === r.samplesDecoded ? c : c.slice(0, r.samplesDecoded)));
    this.clamped += checkSamples(this.what, channels, this.samples, this.file);
    this.samples += r.samplesDecoded;
    this.sampleRate = r.sampleRate;
    return { sampleRate: r.sampleRate, channels };
  }

  noAudio(why: string): AudioDecodeError {
    return new AudioDecodeError("DECODER_FAILED", `${this.what} ${why}`, this.file);
  }
}

/** The parts of mpg123-decoder's MPEGDecoder (1.0.x) that decoding without copies drives directly. */
interface Mpg123Parts {
  _common: {
    wasm: {
      mpeg_decoder_feed(decoder: number, input: number, length: number): number;
      mpeg_decoder_read(
        decoder: number,
        output: number,
        outputLength: number,
        samplesDecoded: number,
        sampleRate: number,
        errorString: number,
      ): number;
    };
  };
  _decoder: number;
  _input: { ptr: number; len: number; buf: Uint8Array };
  _output: { ptr: number; len: number; buf: Float32Array };
  _samplesDecodedPtr: { ptr: number; buf: Uint32Array };
  _sampleRatePtr: { ptr: number; buf: Uint32Array };
  _errorStringPtr: { ptr: number };
}

function mpg123Parts(dec: object): Mpg123Parts {
  const d = dec as Partial<Mpg123Parts>;
  if (
    typeof d._common?.wasm?.mpeg_decoder_feed !== "function" ||
    typeof d._common.wasm.mpeg_decoder_read !== "function" ||
    !(d._input?.buf instanceof Uint8Array) ||
    !(d._output?.buf instanceof Float32Array) ||
    !d._samplesDecodedPtr ||
    !d._sampleRatePtr ||
    !d._errorStringPtr
  )
    throw new Error(
      "mpg123-decoder: this version's decoder is laid out differently from 1.0.x, which @edge-audio/dsp drives directly; install mpg123-decoder 1.0.x",
    );
  return d as Mpg123Parts;
}

/** A growable pair of channel buffers that decoded samples are appended to, reused from piece to piece. */
class ChannelBuffers {
  private data = [new Float32Array(1 << 16), new Float32Array(1 << 16)];
  length = 0;

  append(left: Float32Array, right: Float32Array): void {
    const need = this.length + left.length;
    if (need > this.data[0]!.length)
      this.data = this.data.map((c) => {
        const grown = new Float32Array(Math.max(need, c.length * 2));
        grown.set(c.subarray(0, this.length));
        return grown;
      });
    this.data[0]!.set(left, this.length);
    this.data[1]!.set(right, this.length);
    this.length = need;
  }

  /** The samples appended since the last take, as views valid until the next append. */
  take(keepChannels: number): Float32Array[] {
    const n = this.length;
    this.length = 0;
    return this.data.slice(0, keepChannels).map((c) => c.subarray(0, n));
  }
}

/**
 * MP3 frames decoded by mpg123 without the copies of MPEGDecoder.decode: the frames are written
 * into the decoder's input buffer and fed in pieces as large as that buffer (as decode() feeds
 * one concatenation of them), and each read's samples are copied once, from the decoder's output
 * buffer into reused channel buffers.
 */
class Mpg123Frames {
  private readonly out = new ChannelBuffers();
  private inputFill = 0;
  errors = 0;
  sampleRate = 0;

  constructor(private readonly d: Mpg123Parts) {}

  /** Decodes the frames; their samples as views valid until the next call. */
  decode(frames: Uint8Array[], keepChannels: number): DecoderOutput {
    const errorsBefore = this.errors;
    const room = this.d._input.len;
    for (const frame of frames)
      for (let at = 0; at < frame.length; ) {
        const n = Math.min(room - this.inputFill, frame.length - at);
        this.d._input.buf.set(frame.subarray(at, at + n), this.inputFill);
        this.inputFill += n;
        at += n;
        if (this.inputFill === room) this.feed();
      }
    if (this.inputFill > 0) this.feed();
    const channelData = this.out.take(keepChannels);
    return {
      channelData,
      samplesDecoded: channelData[0]!.length,
      sampleRate: this.sampleRate,
      errors: Array.from({ length: this.errors - errorsBefore }),
    };
  }

  /** Feeds the input buffer and reads every sample it completes (MPEGDecoder.decode's loop). */
  private feed(): void {
    const { _common, _decoder, _input, _output, _samplesDecodedPtr, _sampleRatePtr, _errorStringPtr } =
      this.d;
    const wasm = _common.wasm;
    const length = this.inputFill;
    this.inputFill = 0;
    if (wasm.mpeg_decoder_feed(_decoder, _input.ptr, length) === -10) return; // MPG123_NEED_MORE
    for (;;) {
      _samplesDecodedPtr.buf[0] = 0;
      const error = wasm.mpeg_decoder_read(
        _decoder,
        _output.ptr,
        _output.len,
        _samplesDecodedPtr.ptr,
        _sampleRatePtr.ptr,
        _errorStringPtr.ptr,
      );
      const n = _samplesDecodedPtr.buf[0]!;
      if (n > 0) this.out.append(_output.buf.subarray(0, n), _output.buf.subarray(n, 2 * n));
      this.sampleRate = _sampleRatePtr.buf[0]!;
      if (error === -11) continue; // MPG123_NEW_FORMAT
      if (error === -10) return; // MPG123_NEED_MORE
      if (error) this.errors++;
    }
  }
}

async function openMp3(file: string | undefined): Promise<CompressedStreamDecoder> {
  const { MPEGDecoder } = await import("mpg123-decoder");
  const dec = new MPEGDecoder();
  await dec.ready;
  const mpg123 = new Mpg123Frames(mpg123Parts(dec));
  const scanner = new MpegFrameScanner();
  const count = new PieceCounter("MP3", file);
  const decodeFrames = (frames: Uint8Array[]): DecodedPiece | null => {
    if (frames.length === 0) return null;
    // the decoder always returns two channels; keep one for mono streams
    return count.take(mpg123.decode(frames, scanner.header?.mono ? 1 : 2), 2);
  };
  return {
    push: async (bytes) => decodeFrames(scanner.push(bytes)),
    end: async () => {
      const { frames, report } = scanner.end();
      const piece = decodeFrames(frames);
      if (report.frames === 0)
        throw new AudioDecodeError(
          "NOT_AUDIO",
          "holds no valid MPEG audio frame; it is not an MP3 file, or it is damaged throughout",
          file,
        );
      if (count.samples === 0)
        throw count.noAudio(
          `decoder produced no samples from ${report.frames} frame(s); the file is damaged`,
        );
      const h = scanner.header!;
      let missing: MissingAudio | null = null;
      // the Xing/Info frame counts the audio frames after itself
      const expected = report.declaredFrames === null ? null : report.declaredFrames + 1;
      if (expected !== null && report.frames + report.damagedStretches < expected) {
        const lost = expected - report.frames;
        const seconds = (lost * h.samplesPerFrame) / h.sampleRate;
        missing = {
          detail: `the file ends early: ${lost} of its ${expected} frames (${seconds.toFixed(2)} s of audio) are missing`,
          seconds,
        };
      } else if (report.lastFrameMissingBytes > 0)
        missing = {
          detail: `the file ends inside its last frame: ${report.lastFrameMissingBytes} of its ${h.length} bytes are missing`,
          seconds: null,
        };
      return {
        piece,
        report: {
          damagedFrames: report.damagedStretches + count.errors,
          clampedSamples: count.clamped,
          missing,
        },
      };
    },
    free: () => dec.free(),
  };
}

/**
 * Total samples per channel STREAMINFO declares (0 = unknown), the rate and the largest block
 * size, from a FLAC stream's first 26 bytes.
 */
export function flacStreamInfo(
  b: Uint8Array,
): { totalSamples: number; sampleRate: number; maxBlock: number } | null {
  if (b.length < 26 || (b[4]! & 0x7f) !== 0) return null;
  const s = 8;
  const maxBlock = (b[s + 2]! << 8) | b[s + 3]!;
  const sampleRate = (b[s + 10]! << 12) | (b[s + 11]! << 4) | (b[s + 12]! >> 4);
  const totalSamples =
    (b[s + 13]! & 0x0f) * 2 ** 32 +
    ((b[s + 14]! << 24) >>> 0) +
    (b[s + 15]! << 16) +
    (b[s + 16]! << 8) +
    b[s + 17]!;
  return { totalSamples, sampleRate, maxBlock };
}

/** The FLAC decoder scales by 2^(bits-1) - 1; restore exact int / 2^(bits-1) like the PCM readers. */
function restoreFlacScale(channels: Float32Array[], bitDepth: number): void {
  if (bitDepth < 2 || bitDepth > 24) return;
  const lo = 2 ** (bitDepth - 1);
  for (const ch of channels)
    for (let i = 0; i < ch.length; i++) {
      const v = ch[i]!;
      const a = Math.round(v * (lo - 1));
      const b = Math.round(v * lo);
      ch[i] = Math.abs(a / (lo - 1) - v) <= Math.abs(b / lo - v) ? a / lo : b / lo;
    }
}

async function openFlac(file: string | undefined): Promise<CompressedStreamDecoder> {
  const { FLACDecoder } = await import("@wasm-audio-decoders/flac");
  const dec = new FLACDecoder();
  await dec.ready;
  const count = new PieceCounter("FLAC", file);
  let head: Uint8Array = new Uint8Array(0);
  const take = (r: DecoderOutput & { bitDepth: number }): DecodedPiece | null => {
    if (r.samplesDecoded > 0) restoreFlacScale(r.channelData, r.bitDepth);
    return count.take(r, r.channelData.length);
  };
  const splitter = new FlacFrameSplitter();
  const decodeFrames = async (frames: Uint8Array[]): Promise<DecodedPiece | null> => {
    if (frames.length === 0) return null;
    const pending = quietly(() => dec.decodeFrames(frames));
    return take(await pending);
  };
  return {
    push: async (bytes) => {
      if (head.length < 26) head = concatBytes([head, bytes.subarray(0, 26 - head.length)]);
      return decodeFrames(splitter.push(bytes));
    },
    end: async () => {
      // the last frame alone: whether it decodes whole tells a stream cut inside it
      const frames = splitter.end();
      const before = await decodeFrames(frames.slice(0, -1));
      const final = await decodeFrames(frames.slice(-1));
      const lastWhole = final !== null && final.channels[0]!.length === splitter.lastHeader?.blockSize;
      const parts = [before, final].filter((p): p is DecodedPiece => p !== null);
      const piece =
        parts.length === 2
          ? { sampleRate: parts[0]!.sampleRate, channels: joinPieces(parts) }
          : (parts[0] ?? null);
      if (count.samples === 0)
        throw count.noAudio("decoder produced no samples; the file is damaged or holds no audio");
      const info = flacStreamInfo(head);
      const last = splitter.lastHeader;
      let missing: MissingAudio | null = null;
      // where the stream's audio ends: after its last frame, or before it when that frame was cut
      const lastStart = last && info ? (last.variableBlocks ? last.number : last.number * info.maxBlock) : 0;
      const audioEnd = lastStart + (last && lastWhole ? last.blockSize : 0);
      if (info && last && info.totalSamples > audioEnd) {
        const lost = info.totalSamples - audioEnd;
        const seconds = lost / (info.sampleRate || count.sampleRate);
        missing = {
          detail: `the file ends early: ${lost} of its ${info.totalSamples} samples (${seconds.toFixed(2)} s of audio) are missing`,
          seconds,
        };
      }
      return {
        piece,
        report: {
          // a stream cut short ends in a partial frame, which the decoder rejects: that is the truncation
          damagedFrames:
            count.errors + splitter.damagedFrames - (missing && !lastWhole && count.lastHadError ? 1 : 0),
          clampedSamples: count.clamped,
          missing,
        },
      };
    },
    free: () => dec.free(),
  };
}

/** A piece-by-piece decoder for an MP3 or FLAC stream; `file` names it in errors. */
export async function openCompressedDecoder(
  kind: "mp3" | "flac",
  file?: string,
): Promise<CompressedStreamDecoder> {
  return kind === "mp3" ? openMp3(file) : openFlac(file);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Joins pieces of one stream into whole channels. */
export function joinPieces(pieces: DecodedPiece[]): Float32Array[] {
  if (pieces.length === 0) return [];
  const nch = pieces[0]!.channels.length;
  const n = pieces.reduce((a, p) => a + p.channels[0]!.length, 0);
  return Array.from({ length: nch }, (_, c) => {
    const out = new Float32Array(n);
    let at = 0;
    for (const p of pieces) {
      const ch = p.channels[c] ?? p.channels[0]!;
      out.set(ch, at);
      at += ch.length;
    }
    return out;
  });
}
