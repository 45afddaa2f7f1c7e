import { AudioDecodeError } from "./errors.js";
import {
  type DecodedPiece,
  joinPieces,
  openCompressedDecoder,
  type StreamDecodeReport,
} from "./stream-decode.js";
import { parseWavFmt, type WavFmt, wavEncoding, wavFmtBytesNeeded } from "./wav.js";

/** Decoded audio: one Float32Array per channel, samples in [-1, 1). */
export interface DecodedAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** Sample encoding of an uncompressed file. */
export type PcmEncoding =
  | { kind: "pcm"; bits: number; container: number; bigEndian: boolean; unsigned8: boolean }
  | { kind: "float"; bits: 32 | 64; bigEndian: boolean }
  | { kind: "mulaw" }
  | { kind: "alaw" };

const MAX_BELOW_ONE = 1 - 2 ** -24;

const ascii = (b: Uint8Array, at: number, n: number): string =>
  String.fromCharCode(...b.subarray(at, at + n));

function fileLabel(hint?: string): string | undefined {
  if (!hint) return undefined;
  return hint.includes("/") || hint.includes("\\") || hint.includes(".") ? hint : undefined;
}

/** The container the bytes hold, from magic numbers first and the hint (file name or extension) second. */
export function sniffFormat(bytes: Uint8Array, hint?: string): "wav" | "au" | "mp3" | "flac" | "unknown" {
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WAVE") return "wav";
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === ".snd") return "au";
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === "fLaC") return "flac";
  if (bytes.length >= 3 && ascii(bytes, 0, 3) === "ID3") return "mp3";
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0)
    return "mp3";
  const ext = (hint ?? "").toLowerCase().split(".").pop() ?? "";
  if (ext === "mp3" && bytes.length > 0) return "mp3";
  return "unknown";
}

function mulawToLinear(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return (sign ? -magnitude : magnitude) + 0; // no negative zero
}

function alawToLinear(a: number): number {
  a ^= 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  magnitude = magnitude | 0;
  return sign ? magnitude : -magnitude;
}

let MULAW: Float32Array | undefined;
let ALAW: Float32Array | undefined;
function lawTable(kind: "mulaw" | "alaw"): Float32Array {
  if (kind === "mulaw") {
    if (!MULAW) {
      MULAW = new Float32Array(256);
      for (let i = 0; i < 256; i++) MULAW[i] = mulawToLinear(i) / 32768;
    }
    return MULAW;
  }
  if (!ALAW) {
    ALAW = new Float32Array(256);
    for (let i = 0; i < 256; i++) ALAW[i] = alawToLinear(i) / 32768;
  }
  return ALAW;
}

function bytesPerSample(e: PcmEncoding): number {
  if (e.kind === "pcm") return e.container / 8;
  if (e.kind === "float") return e.bits / 8;
  return 1;
}

function deinterleave(
  bytes: Uint8Array,
  start: number,
  frames: number,
  nch: number,
  enc: PcmEncoding,
  file: string | undefined,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let c = 0; c < nch; c++) out.push(new Float32Array(frames));
  deinterleaveInto(bytes, start, frames, nch, enc, file, out, 0);
  return out;
}

/**
 * Converts `frames` interleaved frames starting at byte `start` of `bytes` into samples
 * [at, at + frames) of the channel arrays `out`.
 */
function deinterleaveInto(
  bytes: Uint8Array,
  start: number,
  frames: number,
  nch: number,
  enc: PcmEncoding,
  file: string | undefined,
  out: Float32Array[],
  at: number,
  firstFrame = at,
): void {
  const bps = bytesPerSample(enc);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stride = bps * nch;
  if (enc.kind === "mulaw" || enc.kind === "alaw") {
    const table = lawTable(enc.kind);
    for (let c = 0; c < nch; c++) {
      const ch = out[c]!.subarray(at, at + frames);
      for (let i = 0, p = start + c; i < frames; i++, p += stride) ch[i] = table[bytes[p]!]!;
    }
    return;
  }
  if (enc.kind === "float") {
    const le = !enc.bigEndian;
    for (let c = 0; c < nch; c++) {
      const ch = out[c]!.subarray(at, at + frames);
      for (let i = 0, p = start + c * bps; i < frames; i++, p += stride) {
        const v = enc.bits === 32 ? view.getFloat32(p, le) : view.getFloat64(p, le);
        // a finite float64 beyond the float32 range would become Infinity in the output
        if (!Number.isFinite(Math.fround(v)))
          throw new AudioDecodeError(
            "NON_FINITE",
            Number.isFinite(v)
              ? `sample ${firstFrame + i} of channel ${c} is ${v}, beyond the float32 range; float audio must hold finite values (re-export the file)`
              : `sample ${firstFrame + i} of channel ${c} is ${v}; float audio must hold finite values (re-export the file)`,
            file,
          );
        ch[i] = v;
      }
    }
    return;
  }
  const { container, bigEndian } = enc;
  const scale = 1 / 2 ** (container - 1);
  for (let c = 0; c < nch; c++) {
    const ch = out[c]!.subarray(at, at + frames);
    let p = start + c * bps;
    if (container === 8) {
      const off = enc.unsigned8 ? 128 : 0;
      for (let i = 0; i < frames; i++, p += stride) {
        const b = bytes[p]!;
        ch[i] = ((enc.unsigned8 ? b : (b << 24) >> 24) - (enc.unsigned8 ? off : 0)) * scale;
      }
    } else if (container === 16) {
      for (let i = 0; i < frames; i++, p += stride) ch[i] = view.getInt16(p, !bigEndian) * scale;
    } else if (container === 24) {
      for (let i = 0; i < frames; i++, p += stride) {
        const v = bigEndian
          ? (bytes[p]! << 16) | (bytes[p + 1]! << 8) | bytes[p + 2]!
          : bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16);
        ch[i] = ((v << 8) >> 8) * scale;
      }
    } else {
      // the largest 32-bit values round to 1.0 in float32; keep the range [-1, 1)
      for (let i = 0; i < frames; i++, p += stride)
        ch[i] = Math.min(view.getInt32(p, !bigEndian) * scale, MAX_BELOW_ONE);
    }
  }
}

/**
 * Where the samples of an uncompressed file lie and how they are encoded, read from its first
 * bytes: `total` is the size of the whole file and `head` its first bytes (all of them, or a
 * prefix). Throws the same errors as decoding the whole file would; returns null when `head` is a
 * prefix that ends before the header does (chunks before the audio that it does not hold).
 */
export interface PcmLayout {
  sampleRate: number;
  channels: number;
  /** Whole frames of audio (those present, when a short file is kept). */
  frames: number;
  /** Data bytes the header declares beyond the end of the file (0 unless a short file is kept). */
  missingBytes: number;
  /** Byte offset of the first frame. */
  start: number;
  frameBytes: number;
  encoding: PcmEncoding;
}

/** What a layout does with a file whose header declares more audio bytes than follow it. */
export type ShortFilePolicy = "refuse" | "keep";

function wavLayout(
  bytes: Uint8Array,
  total: number,
  file: string | undefined,
  onShort: ShortFilePolicy = "refuse",
): PcmLayout | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const partial = bytes.length < total;
  let p = 12;
  let fmt: WavFmt | null = null;
  while (p + 8 <= total) {
    if (p + 8 > bytes.length) return null;
    const id = ascii(bytes, p, 4);
    let size = view.getUint32(p + 4, true);
    const body = p + 8;
    if (id === "fmt ") {
      const present = bytes.subarray(body, Math.min(body + size, bytes.length));
      const need = wavFmtBytesNeeded(present);
      // the head ends inside the chunk: the caller reads more
      if (partial && size >= need && present.length < need) return null;
      fmt = parseWavFmt(present, size, file);
    } else if (id === "data") {
      if (!fmt)
        throw new AudioDecodeError(
          "BAD_HEADER",
          "WAV 'data' chunk comes before any 'fmt ' chunk, so its encoding is unknown",
          file,
        );
      const remaining = total - body;
      if (size === 0xffffffff || (size === 0 && remaining > 0)) size = remaining; // streaming writers
      if (size > remaining && onShort === "refuse")
        throw new AudioDecodeError(
          "TRUNCATED",
          `WAV 'data' chunk declares ${size} bytes but only ${remaining} follow; the file is truncated or its header lies about the length`,
          file,
        );
      return wavSamples(body, size, Math.min(size, remaining), fmt, file);
    }
    p = body + size + (size & 1);
  }
  throw new AudioDecodeError(
    fmt ? "TRUNCATED" : "BAD_HEADER",
    fmt ? "WAV file has no 'data' chunk (truncated?)" : "WAV file has no 'fmt ' chunk",
    file,
  );
}

function wavSamples(
  start: number,
  size: number,
  present: number,
  fmt: WavFmt,
  file: string | undefined,
): PcmLayout {
  const encoding = wavEncoding(fmt, file);
  const frameBytes = bytesPerSample(encoding) * fmt.channels;
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    frames: Math.floor(present / frameBytes),
    missingBytes: size - present,
    start,
    frameBytes,
    encoding,
  };
}

function auLayout(
  bytes: Uint8Array,
  total: number,
  file: string | undefined,
  onShort: ShortFilePolicy = "refuse",
): PcmLayout | null {
  if (total < 24)
    throw new AudioDecodeError("TRUNCATED", `Sun/NeXT header needs 24 bytes, the file has ${total}`, file);
  if (bytes.length < 24) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = view.getUint32(4);
  let size = view.getUint32(8);
  const code = view.getUint32(12);
  const rate = view.getUint32(16);
  const channels = view.getUint32(20);
  if (offset < 24 || offset > total)
    throw new AudioDecodeError(
      offset > total ? "TRUNCATED" : "BAD_HEADER",
      `Sun/NeXT header puts the audio at byte ${offset}, but the file has ${total} bytes (must be 24..length)`,
      file,
    );
  if (channels < 1 || channels > 1024)
    throw new AudioDecodeError("BAD_HEADER", `Sun/NeXT header declares ${channels} channels`, file);
  if (rate < 1)
    throw new AudioDecodeError("BAD_HEADER", "Sun/NeXT header declares a sample rate of 0 Hz", file);
  let enc: PcmEncoding;
  switch (code) {
    case 1:
      enc = { kind: "mulaw" };
      break;
    case 2:
    case 3:
    case 4:
    case 5: {
      const bits = 8 * (code - 1);
      enc = { kind: "pcm", bits, container: bits, bigEndian: true, unsigned8: false };
      break;
    }
    case 6:
      enc = { kind: "float", bits: 32, bigEndian: true };
      break;
    case 7:
      enc = { kind: "float", bits: 64, bigEndian: true };
      break;
    case 27:
      enc = { kind: "alaw" };
      break;
    default:
      throw new AudioDecodeError(
        "UNSUPPORTED_ENCODING",
        `Sun/NeXT encoding ${code} is not supported (1 mu-law, 2-5 PCM 8-32 bit, 6-7 float, 27 A-law are)`,
        file,
      );
  }
  const remaining = total - offset;
  if (size === 0xffffffff) size = remaining;
  if (size > remaining && onShort === "refuse")
    throw new AudioDecodeError(
      "TRUNCATED",
      `Sun/NeXT header declares ${size} data bytes but only ${remaining} follow; the file is truncated or its header lies about the length`,
      file,
    );
  const frameBytes = bytesPerSample(enc) * channels;
  const present = Math.min(size, remaining);
  return {
    sampleRate: rate,
    channels,
    frames: Math.floor(present / frameBytes),
    missingBytes: size - present,
    start: offset,
    frameBytes,
    encoding: enc,
  };
}

/**
 * The layout of an uncompressed WAV or Sun/NeXT .au file from its first bytes (see PcmLayout),
 * or null when it is another format or `head` ends before the header does. `total` is the size
 * of the whole file.
 */
export function pcmLayout(
  head: Uint8Array,
  total: number,
  hint?: string,
  onShort: ShortFilePolicy = "refuse",
): PcmLayout | null {
  if (total === 0 || head.length === 0) return null;
  const kind = sniffFormat(head, hint);
  const file = fileLabel(hint);
  if (kind === "wav") return wavLayout(head, total, file, onShort);
  if (kind === "au") return auLayout(head, total, file, onShort);
  return null;
}

/**
 * Decodes `frames` frames of a PcmLayout from `bytes` (which hold them from its first byte on)
 * into samples [at, at + frames) of `out`, one array per channel.
 */
export function decodePcmFrames(
  layout: PcmLayout,
  bytes: Uint8Array,
  frames: number,
  out: Float32Array[],
  at: number,
  hint?: string,
  firstFrame = at,
): void {
  deinterleaveInto(bytes, 0, frames, layout.channels, layout.encoding, fileLabel(hint), out, at, firstFrame);
}

function decodeLayout(bytes: Uint8Array, l: PcmLayout, file: string | undefined): DecodedAudio {
  return {
    sampleRate: l.sampleRate,
    channels: deinterleave(bytes, l.start, l.frames, l.channels, l.encoding, file),
  };
}

/**
 * Decodes WAV (PCM 8/16/24/32, float 32/64, A-law, mu-law, WAVE_FORMAT_EXTENSIBLE, any channel count,
 * unknown chunks skipped) and Sun/NeXT .au (big-endian PCM 8-32, float 32/64, mu-law, A-law).
 * Integer samples are scaled as int / 2^(bits-1). `hint` is a file name or extension: it is used in
 * error messages and to recognise MP3 without a frame-sync header. MP3 and FLAC decoders are
 * asynchronous; for those this throws ASYNC_REQUIRED, use decodeAudioAsync.
 * Throws AudioDecodeError (codes EMPTY, NOT_AUDIO, TRUNCATED, BAD_HEADER, UNSUPPORTED_ENCODING, NON_FINITE).
 */
export function decodeAudio(bytes: Uint8Array, hint?: string): DecodedAudio {
  const file = fileLabel(hint);
  if (bytes.length === 0) throw new AudioDecodeError("EMPTY", "the file is empty (0 bytes)", file);
  const kind = sniffFormat(bytes, hint);
  if (kind === "wav") return decodeLayout(bytes, wavLayout(bytes, bytes.length, file)!, file);
  if (kind === "au") return decodeLayout(bytes, auLayout(bytes, bytes.length, file)!, file);
  if (kind === "mp3" || kind === "flac")
    throw new AudioDecodeError(
      "ASYNC_REQUIRED",
      `${kind.toUpperCase()} needs the asynchronous decoder; call decodeAudioAsync (or loadAudio) instead`,
      file,
    );
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === "RIFF")
    throw new AudioDecodeError("TRUNCATED", "RIFF file too short to hold a WAVE header", file);
  throw new AudioDecodeError(
    "NOT_AUDIO",
    "not a recognised audio file (WAV, Sun/NeXT .au, MP3 and FLAC are supported); check the path or convert the file",
    file,
  );
}

/**
 * decodeAudio plus MP3 (mpg123-decoder, fed frame by frame) and FLAC (@wasm-audio-decoders/flac):
 * the stream decoders of stream-decode.ts given all the bytes at once. Damaged MP3/FLAC frames
 * are skipped; decoded samples are clamped into [-1, 1). A file that ends early is decoded as far
 * as it goes (decodeCompressedStream reports what is missing).
 */
export async function decodeAudioAsync(bytes: Uint8Array, hint?: string): Promise<DecodedAudio> {
  const file = fileLabel(hint);
  if (bytes.length === 0) throw new AudioDecodeError("EMPTY", "the file is empty (0 bytes)", file);
  const kind = sniffFormat(bytes, hint);
  if (kind === "mp3" || kind === "flac") return (await decodeCompressedStream(kind, [bytes], file)).audio;
  return decodeAudio(bytes, hint);
}

/** Decodes an MP3 or FLAC stream given as consecutive pieces of bytes; the samples and the decoder's report. */
export async function decodeCompressedStream(
  kind: "mp3" | "flac",
  parts: Iterable<Uint8Array>,
  file?: string,
): Promise<{ audio: DecodedAudio; report: StreamDecodeReport }> {
  const dec = await openCompressedDecoder(kind, file);
  try {
    const pieces: DecodedPiece[] = [];
    for (const b of parts) {
      const p = await dec.push(b);
      // the decoder may reuse the piece's arrays
      if (p) pieces.push({ sampleRate: p.sampleRate, channels: p.channels.map((c) => c.slice()) });
    }
    const { piece, report } = await dec.end();
    if (piece) pieces.push(piece);
    return { audio: { sampleRate: pieces[0]!.sampleRate, channels: joinPieces(pieces) }, report };
  } finally {
    dec.free();
  }
}
