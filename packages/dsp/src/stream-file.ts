/**
 * An audio file read and decoded in pieces, whatever its format: WAV and .au frames are converted
 * as they are read, MP3 and FLAC bytes go through the stream decoders. Only regular files are
 * opened (a FIFO or a device such as /dev/zero is refused before it is read), chunks before the
 * audio are skipped without being read, and a file that ends before the audio its header
 * declares is decoded as far as it goes and says what is missing.
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import {
  decodeAudio,
  decodePcmFrames,
  type PcmLayout,
  pcmLayout,
  type ShortFilePolicy,
  sniffFormat,
} from "./decode.js";
import { AudioDecodeError } from "./errors.js";
import { MpegFrameScanner } from "./mp3-frames.js";
import {
  type DecodedPiece,
  flacStreamInfo,
  type MissingAudio,
  openCompressedDecoder,
} from "./stream-decode.js";

export type { DecodedPiece, MissingAudio } from "./stream-decode.js";

/** Bytes read per step. */
export const FILE_READ_BYTES = 1 << 16;
/**
 * Bytes read per step from MP3 and FLAC files: each step's decoded samples are new arrays, so a
 * smaller step leaves less garbage between collections (16 KiB is about 1 s of 128 kbit/s MP3).
 */
export const COMPRESSED_READ_BYTES = 1 << 14;
/** Largest WAV 'fmt ' chunk read (real ones are 16 to 40 bytes). */
const MAX_FMT_BYTES = 1 << 16;

/** What reading a whole file saw. */
export interface AudioFileReport {
  /** Samples per channel delivered. */
  frames: number;
  /** Damaged frames skipped (MP3 and FLAC). */
  damagedFrames: number;
  /** Decoded samples outside [-1, 1) clamped into it. */
  clampedSamples: number;
  /** Set when the file ends before the audio it declares. */
  missing: MissingAudio | null;
}

export interface AudioFile {
  readonly path: string;
  readonly format: "wav" | "au" | "mp3" | "flac";
  /** The audio's sample rate where the header states it (WAV, .au, FLAC, MP3), else null. */
  readonly sampleRate: number | null;
  /** Duration the header declares or the file size implies (MP3 without a Xing header), or null. */
  readonly estimatedSeconds: number | null;
  /**
   * Reads the file to its end, handing each run of decoded samples to `piece` (one array per
   * channel; the arrays may be reused after the call returns). Call once.
   */
  read(piece: (p: DecodedPiece) => void): Promise<AudioFileReport>;
  /** Closes the file (read() closes it too). */
  close(): Promise<void>;
}

export function readError(path: string, e: unknown): AudioDecodeError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file; check the path"
      : code === "EISDIR"
        ? "is a directory, not an audio file"
        : code === "EACCES"
          ? "permission denied"
          : code === "ELOOP"
            ? "is a symbolic link loop"
            : `cannot be read (${code ?? String(e)})`;
  return new AudioDecodeError("READ_FAILED", why, path);
}

function notRegular(path: string, st: Stats): AudioDecodeError {
  const what = st.isDirectory()
    ? "is a directory, not an audio file"
    : `is not a regular file (${st.isFIFO() ? "a FIFO" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : "not a file"}); to read a stream, pipe it to standard input and pass -`;
  return new AudioDecodeError("READ_FAILED", what, path);
}

/**
 * Opens a regular file for reading: anything else (a FIFO, which would block, a device without
 * an end) is refused from its metadata, before it is opened.
 */
export async function openRegularFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw readError(path, e);
  }
  if (!st.isFile()) throw notRegular(path, st);
  let fh: FileHandle;
  try {
    // non-blocking, in case the path was replaced by a FIFO after the check
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw readError(path, e);
  }
  const st2 = await fh.stat();
  if (!st2.isFile()) {
    await fh.close();
    throw notRegular(path, st2);
  }
  return { fh, size: st2.size };
}

/** Reads into `into` from byte `pos` until it is full or the file ends; the bytes read. */
export async function readAt(fh: FileHandle, into: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * The layout of a WAV or .au file. When the first bytes end before the WAV header does (a large
 * LIST chunk before the audio), the chunks are walked with positioned reads: only the chunk
 * headers and the 'fmt ' body are read, the rest is skipped unread.
 */
export async function pcmFileLayout(
  fh: FileHandle,
  size: number,
  head: Uint8Array,
  path: string,
  onShort: ShortFilePolicy,
): Promise<PcmLayout | null> {
  const direct = pcmLayout(head, size, path, onShort);
  if (direct || sniffFormat(head, path) !== "wav") return direct;
  const hdr = new Uint8Array(8);
  const dv = new DataView(hdr.buffer);
  let fmt: Uint8Array | null = null;
  for (let p = 12; p + 8 <= size; ) {
    if ((await readAt(fh, hdr, p)) < 8) break;
    const id = String.fromCharCode(...hdr.subarray(0, 4));
    const n = dv.getUint32(4, true);
    if (id === "fmt " && n <= MAX_FMT_BYTES) {
      fmt = new Uint8Array(8 + n);
      await readAt(fh, fmt, p);
    } else if (id === "data") {
      // the same header, without the skipped chunks: RIFF, fmt, data
      const fmtBytes = fmt ?? new Uint8Array(0);
      const pad = fmtBytes.length & 1;
      const synth = new Uint8Array(12 + fmtBytes.length + pad + 8);
      synth.set(head.subarray(0, 12), 0);
      synth.set(fmtBytes, 12);
      synth.set(hdr, 12 + fmtBytes.length + pad);
      const body = p + 8;
      const l = pcmLayout(synth, synth.length + (size - body), path, onShort);
      return l && { ...l, start: body };
    }
    p += 8 + n + (n & 1);
  }
  // no data chunk: the whole-file decoder's message
  return pcmLayout(head, head.length, path, onShort);
}

function pcmMissing(l: PcmLayout, kind: "wav" | "au"): MissingAudio | null {
  if (l.missingBytes <= 0) return null;
  const seconds = l.missingBytes / l.frameBytes / l.sampleRate;
  const what = kind === "wav" ? "its 'data' chunk declares" : "its header declares";
  return {
    detail: `the file ends early: ${what} ${l.missingBytes} more bytes than it holds (${seconds.toFixed(2)} s of audio missing)`,
    seconds,
  };
}

/** Seconds an MP3 holds, from its Xing/Info header or, without one, from its size and first frame. */
function mp3Seconds(head: Uint8Array, size: number): { seconds: number; sampleRate: number } | null {
  const scanner = new MpegFrameScanner();
  scanner.push(head);
  const h = scanner.header;
  if (!h) return null;
  const declared = scanner.end().report.declaredFrames;
  const tag =
    head.length >= 10 && head[0] === 0x49 && head[1] === 0x44 && head[2] === 0x33
      ? 10 +
        (((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f))
      : 0;
  const count = declared ?? Math.max(1, Math.round((size - tag) / h.length));
  return { seconds: (count * h.samplesPerFrame) / h.sampleRate, sampleRate: h.sampleRate };
}

/** FLAC: the STREAMINFO rate and duration (null when it does not declare one). */
function flacSeconds(head: Uint8Array): { seconds: number | null; sampleRate: number } | null {
  const info = flacStreamInfo(head);
  if (!info || !(info.sampleRate > 0)) return null;
  return {
    seconds: info.totalSamples > 0 ? info.totalSamples / info.sampleRate : null,
    sampleRate: info.sampleRate,
  };
}

/**
 * Opens an audio file (WAV, .au, MP3, FLAC) to be read in pieces. `onShort` "keep" decodes a
 * file that ends early as far as it goes (the report says what is missing); "refuse" throws
 * TRUNCATED for WAV and .au. Throws AudioDecodeError naming the file for anything unreadable.
 */
export async function openAudioFile(
  path: string,
  opts: { chunkBytes?: number; onShort?: ShortFilePolicy } = {},
): Promise<AudioFile> {
  const chunkBytes = Math.max(64, opts.chunkBytes ?? FILE_READ_BYTES);
  const onShort = opts.onShort ?? "keep";
  const { fh, size } = await openRegularFile(path);
  try {
    if (size === 0) throw new AudioDecodeError("EMPTY", "the file is empty (0 bytes)", path);
    const head = new Uint8Array(Math.min(size, chunkBytes));
    const got = await readAt(fh, head, 0);
    const kind = sniffFormat(head.subarray(0, got), path);
    if (kind === "wav" || kind === "au") {
      const layout = await pcmFileLayout(fh, size, head.subarray(0, got), path, onShort);
      if (!layout) throw new AudioDecodeError("TRUNCATED", "the file ends inside its header", path);
      return pcmFile(path, kind, fh, layout, chunkBytes);
    }
    if (kind === "mp3" || kind === "flac") {
      const info = kind === "mp3" ? mp3Seconds(head, size) : flacSeconds(head);
      return compressedFile(path, kind, fh, Math.min(chunkBytes, COMPRESSED_READ_BYTES), info);
    }
    decodeAudio(head.subarray(0, got), path); // throws the whole-file decoder's refusal
    throw new AudioDecodeError("NOT_AUDIO", "not a recognised audio file", path);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function pcmFile(
  path: string,
  kind: "wav" | "au",
  fh: FileHandle,
  layout: PcmLayout,
  chunkBytes: number,
): AudioFile {
  return {
    path,
    format: kind,
    sampleRate: layout.sampleRate,
    estimatedSeconds: layout.frames / layout.sampleRate,
    close: () => fh.close(),
    read: async (piece) => {
      try {
        const step = Math.max(1, Math.floor(chunkBytes / layout.frameBytes));
        const buf = new Uint8Array(Math.min(step, Math.max(1, layout.frames)) * layout.frameBytes);
        const channels = Array.from(
          { length: layout.channels },
          () => new Float32Array(buf.length / layout.frameBytes),
        );
        let f = 0;
        let missing = pcmMissing(layout, kind);
        for (; f < layout.frames; ) {
          const n = Math.min(step, layout.frames - f);
          const bytes = buf.subarray(0, n * layout.frameBytes);
          const got = Math.floor(
            (await readAt(fh, bytes, layout.start + f * layout.frameBytes)) / layout.frameBytes,
          );
          if (got > 0) {
            decodePcmFrames(layout, bytes, got, channels, 0, path, f);
            piece({ sampleRate: layout.sampleRate, channels: channels.map((c) => c.subarray(0, got)) });
            f += got;
          }
          if (got < n) {
            // the file shrank while being read
            const lost = layout.frames - f + layout.missingBytes / layout.frameBytes;
            const seconds = lost / layout.sampleRate;
            missing = {
              detail: `the file ends early: ${seconds.toFixed(2)} s of audio are missing`,
              seconds,
            };
            break;
          }
        }
        return { frames: f, damagedFrames: 0, clampedSamples: 0, missing };
      } finally {
        await fh.close();
      }
    },
  };
}

function compressedFile(
  path: string,
  kind: "mp3" | "flac",
  fh: FileHandle,
  chunkBytes: number,
  info: { seconds: number | null; sampleRate: number } | null,
): AudioFile {
  return {
    path,
    format: kind,
    sampleRate: info?.sampleRate ?? null,
    estimatedSeconds: info?.seconds ?? null,
    close: () => fh.close(),
    read: async (piece) => {
      const dec = await openCompressedDecoder(kind, path);
      try {
        const buf = new Uint8Array(chunkBytes);
        let frames = 0;
        const take = (p: DecodedPiece | null) => {
          if (!p) return;
          frames += p.channels[0]!.length;
          piece(p);
        };
        for (let pos = 0; ; ) {
          const n = await readAt(fh, buf, pos);
          if (n === 0) break;
          pos += n;
          take(await dec.push(buf.subarray(0, n)));
        }
        const { piece: last, report } = await dec.end();
        take(last);
        return {
          frames,
          damagedFrames: report.damagedFrames,
          clampedSamples: report.clampedSamples,
          missing: report.missing,
        };
      } finally {
        dec.free();
        await fh.close();
      }
    },
  };
}
