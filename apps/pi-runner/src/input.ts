/**
 * Audio input for classification: any supported file (WAV, .au, MP3, FLAC) read in pieces, mixed
 * to mono and resampled to the model's rate as it is decoded, so memory follows the duration at
 * the model's rate, never the file's size or sample rate. One policy for input that is not whole
 * (a file that ends before the audio it declares, damaged frames skipped), the same for files,
 * `--stream` and standard input: classified from what is there with a warning, or refused with
 * `strict`.
 */
import {
  AudioDecodeError,
  type AudioFileReport,
  type DecodedPiece,
  type MissingAudio,
  MonoAtRate,
  openAudioFile,
  openCompressedDecoder,
  sniffFormat,
} from "@edge-audio/dsp";
import { collectGarbage } from "./memory.js";
import { WavStreamParser } from "./wav-stream.js";

/**
 * Decoded samples between garbage collections where pieces are new arrays (the FLAC decoder);
 * WAV, .au and MP3 pieces, the channel mean and the resampler's output reuse their buffers and
 * need none. V8 frees such buffers (outside its heap) only when a collection finds them dead,
 * and left alone it lets tens of MiB pile up over a long song (see collectGarbage).
 */
const COLLECT_EVERY_SAMPLES = 1 << 17;

/** A file opened for reading as mono samples at one rate. */
export interface MonoInput {
  readonly file: string;
  readonly format: string;
  /** Seconds the header declares (or the size implies), null when unknown. */
  readonly estimatedSeconds: number | null;
  /** Reads to the end, pushing mono samples at the target rate; the decoder's report. Call once. */
  read(push: (x: Float32Array) => void): Promise<AudioFileReport>;
  close(): Promise<void>;
}

/** What is not whole about an input: the lines to warn with (empty when it is whole). */
export function incompleteInput(
  source: string,
  r: { missing: MissingAudio | null; damagedFrames: number },
): string[] {
  const out: string[] = [];
  if (r.missing) out.push(`${source}: ${r.missing.detail}`);
  if (r.damagedFrames > 0)
    out.push(`${source}: ${r.damagedFrames} damaged frame${r.damagedFrames === 1 ? "" : "s"} skipped`);
  return out;
}

/**
 * The input policy: returns the warnings for input that is not whole, or, with `strict`, refuses
 * it with an error naming the source and what is missing.
 */
export function checkInput(
  source: string,
  r: { missing: MissingAudio | null; damagedFrames: number },
  strict: boolean,
): string[] {
  const lines = incompleteInput(source, r);
  if (strict && lines.length > 0)
    throw new AudioDecodeError(
      r.missing ? "TRUNCATED" : "DAMAGED",
      `${lines.map((l) => l.slice(source.length + 2)).join("; ")}; --strict refuses incomplete input (without it, the audio that is there is classified)`,
      source,
    );
  return lines.map((l) => `${l}; classified from the audio that is there`);
}

/**
 * Decoded pieces to mono samples at the model's rate (dsp's MonoAtRate: channel mean, then the
 * streaming resampler, bit-identical to resampling the whole signal), with a collection every
 * COLLECT_EVERY_SAMPLES when the decoder hands over new arrays. The samples handed on are views of
 * reused buffers, valid during the call.
 */
export class ToModelRate {
  private readonly mono: MonoAtRate;
  private sinceCollect = 0;

  constructor(
    source: string,
    rate: number,
    /** Whether the pieces are new arrays (the FLAC decoder), so garbage builds up. */
    private readonly freshPieces: boolean,
    out: (x: Float32Array) => void,
  ) {
    this.mono = new MonoAtRate(source, rate, out);
  }

  /** Mono samples at the target rate pushed so far. */
  get samples(): number {
    return this.mono.samples;
  }

  piece(p: DecodedPiece): void {
    this.sinceCollect += p.channels[0]!.length * p.channels.length;
    if (this.freshPieces && this.sinceCollect >= COLLECT_EVERY_SAMPLES) {
      collectGarbage();
      this.sinceCollect = 0;
    }
    this.mono.piece(p);
  }

  end(): void {
    this.mono.end();
  }
}

/** Opens `file` to be read as mono samples at `sampleRate` (see MonoInput). */
export async function openMonoInput(file: string, sampleRate: number): Promise<MonoInput> {
  const f = await openAudioFile(file);
  return {
    file,
    format: f.format,
    estimatedSeconds: f.estimatedSeconds,
    close: () => f.close(),
    read: async (push) => {
      const mono = new ToModelRate(file, sampleRate, f.format === "flac", push);
      const report = await f.read((p) => mono.piece(p));
      if (report.frames === 0)
        throw new AudioDecodeError("EMPTY", "the file holds no audio samples (zero-length data)", file);
      mono.end();
      return report;
    },
  };
}

/** What a stream read by readStreamInput saw. */
export interface StreamInputReport {
  format: "wav" | "mp3" | "flac";
  /** Mono samples at the model's rate delivered. */
  samples: number;
  /** WAV: bytes of an incomplete final sample frame (0 for a clean end). */
  trailingBytes: number;
  missing: MissingAudio | null;
  damagedFrames: number;
}

/**
 * Reads an audio stream (standard input) to its end, pushing mono samples at `sampleRate`.
 * WAV streams go through the incremental WAV parser and must be at the model's rate (a live
 * recorder can be told the rate); MP3 and FLAC streams are decoded frame by frame and resampled.
 */
export async function readStreamInput(
  chunks: AsyncIterable<Uint8Array>,
  source: string,
  sampleRate: number,
  push: (x: Float32Array) => void,
): Promise<StreamInputReport> {
  const it = chunks[Symbol.asyncIterator]();
  // enough bytes to tell the format
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 4 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else head = concatBytes(head, r.value);
  }
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: async function* () {
      if (head.length) yield head;
      if (!done) for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    },
  };
  const kind = sniffFormat(head);
  if (kind === "mp3" || kind === "flac") return readCompressedStream(rest, kind, source, sampleRate, push);
  return readWavStream(rest, source, sampleRate, push);
}

async function readWavStream(
  chunks: AsyncIterable<Uint8Array>,
  source: string,
  sampleRate: number,
  push: (x: Float32Array) => void,
): Promise<StreamInputReport> {
  const parser = new WavStreamParser(source, { honourDataSize: true });
  let checked = false;
  for await (const chunk of chunks) {
    const samples = parser.push(chunk);
    if (!checked && parser.format) {
      checked = true;
      if (parser.format.sampleRate !== sampleRate)
        throw new AudioDecodeError(
          "BAD_HEADER",
          `stream is ${parser.format.sampleRate} Hz but the model expects ${sampleRate} Hz; record at that rate (arecord -r ${sampleRate}) or convert first`,
          source,
        );
    }
    if (samples.length) push(samples);
  }
  if (!parser.format)
    throw new AudioDecodeError("TRUNCATED", "the stream ended before a complete WAV header", source);
  return {
    format: "wav",
    samples: parser.framesOut,
    trailingBytes: parser.trailingBytes,
    ...wavStreamReport(parser),
  };
}

async function readCompressedStream(
  chunks: AsyncIterable<Uint8Array>,
  kind: "mp3" | "flac",
  source: string,
  sampleRate: number,
  push: (x: Float32Array) => void,
): Promise<StreamInputReport> {
  const dec = await openCompressedDecoder(kind, source);
  const mono = new ToModelRate(source, sampleRate, kind === "flac", push);
  try {
    for await (const chunk of chunks) {
      const p = await dec.push(chunk);
      if (p) mono.piece(p);
    }
    const { piece, report } = await dec.end();
    if (piece) mono.piece(piece);
    mono.end();
    return {
      format: kind,
      samples: mono.samples,
      trailingBytes: 0,
      missing: report.missing,
      damagedFrames: report.damagedFrames,
    };
  } finally {
    dec.free();
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The resampler from the file's rate to the model's (null when they agree). */
/** What a WAV stream on standard input lacks: the data bytes its header declared that never came. */
export function wavStreamReport(parser: WavStreamParser): {
  missing: MissingAudio | null;
  damagedFrames: number;
} {
  const lost = parser.dataBytesMissing;
  const f = parser.format;
  if (lost <= 0 || !f) return { missing: null, damagedFrames: 0 };
  const seconds = lost / ((f.bitsPerSample / 8) * f.channels) / f.sampleRate;
  return {
    missing: {
      detail: `the stream ends early: its 'data' chunk declares ${lost} more bytes than arrived (${seconds.toFixed(2)} s of audio missing)`,
      seconds,
    },
    damagedFrames: 0,
  };
}
