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
  MIN_RESAMPLE_RATE,
  type MissingAudio,
  mixToMono,
  openAudioFile,
} from "@edge-audio/dsp";
import { collectGarbage } from "./memory.js";
import { StreamResampler } from "./stream-resample.js";
import type { WavStreamParser } from "./wav-stream.js";

/** Samples gathered per resampler call (each call re-reads the filter's context on both sides). */
const RESAMPLE_BLOCK = 1 << 16;
/**
 * Decoded samples between garbage collections where pieces are new arrays (compressed decoders,
 * the resampler); WAV and .au at the model's rate reuse theirs and need none. V8 frees such buffers (outside its heap) only when a collection finds them dead,
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

/** Opens `file` to be read as mono samples at `sampleRate` (see MonoInput). */
export async function openMonoInput(file: string, sampleRate: number): Promise<MonoInput> {
  const f = await openAudioFile(file);
  return {
    file,
    format: f.format,
    estimatedSeconds: f.estimatedSeconds,
    close: () => f.close(),
    read: async (push) => {
      let resampler: StreamResampler | null | undefined;
      const block = new Float32Array(RESAMPLE_BLOCK);
      let filled = 0;
      const flush = () => {
        if (filled === 0 || !resampler) return;
        const y = resampler.push(block.subarray(0, filled));
        filled = 0;
        if (y.length) push(y);
      };
      let sinceCollect = 0;
      const report = await f.read((p) => {
        if (resampler === undefined) resampler = resamplerFor(file, p.sampleRate, sampleRate);
        sinceCollect += p.channels[0]!.length * p.channels.length;
        const fresh = resampler !== null || (f.format !== "wav" && f.format !== "au");
        if (fresh && sinceCollect >= COLLECT_EVERY_SAMPLES) {
          collectGarbage();
          sinceCollect = 0;
        }
        const mono = mixToMono(p.channels);
        if (!resampler) {
          push(mono);
          return;
        }
        for (let at = 0; at < mono.length; ) {
          const n = Math.min(mono.length - at, block.length - filled);
          block.set(mono.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === block.length) flush();
        }
      });
      if (report.frames === 0)
        throw new AudioDecodeError("EMPTY", "the file holds no audio samples (zero-length data)", file);
      if (resampler) {
        flush();
        const y = resampler.end();
        if (y.length) push(y);
      }
      return report;
    },
  };
}

/** The resampler from the file's rate to the model's (null when they agree). */
function resamplerFor(file: string, from: number, to: number): StreamResampler | null {
  if (from === to) return null;
  // a damaged header can declare 1 Hz, which would multiply the samples by the ratio
  if (from < MIN_RESAMPLE_RATE)
    throw new AudioDecodeError(
      "BAD_HEADER",
      `the header declares a sample rate of ${from} Hz; rates below ${MIN_RESAMPLE_RATE} Hz are refused (the header is probably damaged)`,
      file,
    );
  return new StreamResampler(from, to);
}

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
