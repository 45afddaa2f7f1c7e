/** WAV specifics shared by the decoders: the 'fmt ' chunk and its sample encoding, and the encoder. */
import type { PcmEncoding } from "./decode.js";
import { AudioDecodeError } from "./errors.js";

/** The fields of a WAV 'fmt ' chunk the decoders use. */
export interface WavFmt {
  /** Format tag (1 PCM, 3 IEEE float, 6 A-law, 7 mu-law); for WAVE_FORMAT_EXTENSIBLE, its subformat's. */
  tag: number;
  channels: number;
  sampleRate: number;
  /** Bits per sample of the container. */
  bitsPerSample: number;
  /** Valid bits per sample, stated by WAVE_FORMAT_EXTENSIBLE only (0 otherwise). */
  validBits: number;
}

const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Bytes of a 'fmt ' chunk body parseWavFmt reads: 40 for WAVE_FORMAT_EXTENSIBLE, else 16 (which of
 * the two is known once the first 16 are there).
 */
export function wavFmtBytesNeeded(body: Uint8Array): number {
  return body.length >= 16 && dataView(body).getUint16(0, true) === WAVE_FORMAT_EXTENSIBLE ? 40 : 16;
}

/**
 * Reads a WAV 'fmt ' chunk: `body` holds the bytes of its body that are present, `declaredBytes`
 * is the size its chunk header states. Throws BAD_HEADER naming `file` when the chunk is too short
 * for its format. The values are not judged here; wavEncoding does that.
 */
export function parseWavFmt(body: Uint8Array, declaredBytes: number, file?: string): WavFmt {
  if (declaredBytes < 16 || body.length < 16)
    throw new AudioDecodeError(
      "BAD_HEADER",
      `WAV 'fmt ' chunk is ${declaredBytes} bytes; at least 16 are needed (the header is damaged)`,
      file,
    );
  const v = dataView(body);
  const fmt: WavFmt = {
    tag: v.getUint16(0, true),
    channels: v.getUint16(2, true),
    sampleRate: v.getUint32(4, true),
    bitsPerSample: v.getUint16(14, true),
    validBits: 0,
  };
  if (fmt.tag !== WAVE_FORMAT_EXTENSIBLE) return fmt;
  if (declaredBytes < 40 || body.length < 40)
    throw new AudioDecodeError(
      "BAD_HEADER",
      "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is shorter than 40 bytes (the header is damaged)",
      file,
    );
  return { ...fmt, tag: v.getUint16(24, true), validBits: v.getUint16(18, true) };
}

/**
 * The sample encoding a 'fmt ' chunk declares: PCM 8/16/24/32 (8-bit unsigned), float 32/64,
 * 8-bit A-law and mu-law. Throws BAD_HEADER (no channels, a rate of 0 Hz, more valid bits than the
 * container holds) or UNSUPPORTED_ENCODING naming `file` otherwise.
 */
export function wavEncoding(fmt: WavFmt, file?: string): PcmEncoding {
  const { tag, channels, sampleRate, bitsPerSample: bits, validBits } = fmt;
  if (channels < 1) throw new AudioDecodeError("BAD_HEADER", "WAV header declares 0 channels", file);
  if (sampleRate < 1)
    throw new AudioDecodeError("BAD_HEADER", "WAV header declares a sample rate of 0 Hz", file);
  if (tag === 1) {
    if (![8, 16, 24, 32].includes(bits))
      throw new AudioDecodeError(
        "UNSUPPORTED_ENCODING",
        `WAV PCM with ${bits} bits per sample is not supported (8, 16, 24 and 32 are)`,
        file,
      );
    if (validBits > bits)
      throw new AudioDecodeError("BAD_HEADER", `valid bits ${validBits} > container ${bits}`, file);
    return { kind: "pcm", bits: validBits || bits, container: bits, bigEndian: false, unsigned8: true };
  }
  if (tag === 3) {
    if (bits !== 32 && bits !== 64)
      throw new AudioDecodeError(
        "UNSUPPORTED_ENCODING",
        `WAV float with ${bits} bits per sample is not supported (32 and 64 are)`,
        file,
      );
    return { kind: "float", bits, bigEndian: false };
  }
  if (tag === 6 && bits === 8) return { kind: "alaw" };
  if (tag === 7 && bits === 8) return { kind: "mulaw" };
  throw new AudioDecodeError(
    "UNSUPPORTED_ENCODING",
    `WAV format tag 0x${tag.toString(16)} (${bits}-bit) is not supported; convert to PCM or float WAV (e.g. sox in.wav -e signed -b 16 out.wav)`,
    file,
  );
}

/**
 * Encodes channels as a 16-bit PCM WAV file. Samples are scaled by 32768 and rounded, the inverse
 * of the decoder's int / 32768: decoded 16-bit audio encodes back to the same bytes, and any
 * sample in [-1, 32767/32768] reads back within half a step. Samples outside that range are
 * clipped to it.
 */
export function encodeWav(channels: Float32Array[], sampleRate: number): Uint8Array {
  const nch = channels.length;
  const n = channels[0]?.length ?? 0;
  const dataBytes = n * nch * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const str = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  str(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * nch * 2, true);
  v.setUint16(32, nch * 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, dataBytes, true);
  let p = 44;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nch; c++) {
      const s = Math.max(-32768, Math.min(32767, Math.round(channels[c]![i]! * 32768)));
      v.setInt16(p, s, true);
      p += 2;
    }
  return out;
}
