import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import {
  clampTopDbInPlace,
  evalCropOffsets,
  loadAudio,
  logMelSpectrogram,
  logMelSpectrogramFile,
  type MelConfig,
  type MelSpectrogram,
  MelStream,
  modelCrop,
  normalizeCropInPlace,
  resolveMelConfig,
} from "@edge-audio/dsp";
import { type LoadOptions, loadModel, type Model, verifyModel } from "@edge-audio/engine-wasm";
import { argmax, meanProbs, topK } from "./crops.js";
import { StreamResampler } from "./stream-resample.js";
import { WavStreamParser } from "./wav-stream.js";

/** WAV files larger than this are classified by streaming (bounded memory) unless told otherwise. */
export const STREAM_FILE_BYTES = 64 * 2 ** 20;
/** Bytes read from a file per step in streaming mode. */
const READ_CHUNK = 1 << 20;

export class RunnerError extends Error {
  override name = "RunnerError";
}

export interface ClipResult {
  label: string;
  index: number;
  top: { label: string; p: number }[];
  probs: Float32Array;
  crops: number;
  seconds: number;
  msDecode: number;
  msFeatures: number;
  msInference: number;
  /**
   * "clip": decoded whole, whole-clip top-dB, evenly spread crops. "stream": read in chunks,
   * consecutive crop-length windows with per-window top-dB (as `classify -`), bounded memory.
   */
  mode: "clip" | "stream";
}

export type OpenOptions = Pick<LoadOptions, "maxMemoryBytes" | "maxWorkPerCrop"> & { verify?: boolean };

export interface ClassifyFileOptions {
  /** true: stream WAV files always; false: never; default: WAV files above STREAM_FILE_BYTES. */
  stream?: boolean;
}

export interface WindowResult {
  window: number;
  startSeconds: number;
  endSeconds: number;
  label: string;
  top: { label: string; p: number }[];
  /** The window's full probability vector. */
  probs: Float32Array;
  msFeatures: number;
  msInference: number;
}

/** A loaded model plus the front-end configuration it was trained with. */
export class Classifier {
  readonly mel: MelConfig;
  readonly labels: string[];
  readonly nMels: number;
  readonly cropFrames: number;

  private constructor(
    readonly model: Model,
    readonly path: string,
  ) {
    const h = model.header;
    if (!h.mel) {
      throw new RunnerError(
        `${path}: the model file carries no Mel front-end configuration, so its input features are unknown; export it again with the trainer`,
      );
    }
    try {
      this.mel = resolveMelConfig(h.mel as Partial<MelConfig>);
    } catch (e) {
      throw new RunnerError(`${path}: the model's Mel configuration is invalid: ${(e as Error).message}`);
    }
    const shape = model.plan.input.shape;
    const [hgt, wid, ch] = shape.length === 4 ? shape.slice(1) : shape;
    if (ch !== 1 || !hgt || !wid)
      throw new RunnerError(`${path}: model input shape [${shape}] is not a one-channel log-Mel crop`);
    if (hgt !== this.mel.nMels) {
      throw new RunnerError(
        `${path}: model input has ${hgt} Mel bands but its Mel configuration makes ${this.mel.nMels}`,
      );
    }
    this.nMels = hgt;
    this.cropFrames = wid;
    // the engine refuses a file whose output is not a probability for each of its labels
    this.labels = h.labels;
  }

  /**
   * Loads a model. `verify`: first check the whole file as `readModel` does (header and every
   * tensor's checksum, used by the graph or not), so that the refusal is the reader's own.
   */
  static async open(path: string, threads?: number, opts: OpenOptions = {}): Promise<Classifier> {
    if (!existsSync(path))
      throw new RunnerError(
        `${path}: no such model file; pass --model with a .eam file (pi-runner info FILE shows what one holds)`,
      );
    let model: Model;
    try {
      const { verify, ...limits } = opts;
      if (verify) verifyModel(path);
      model = await loadModel(path, { ...(threads ? { threads } : {}), ...limits });
    } catch (e) {
      const msg = (e as Error).message;
      throw new RunnerError(msg.includes(path) ? msg : `${path}: ${msg}`);
    }
    try {
      return new Classifier(model, path);
    } catch (e) {
      await model.dispose();
      throw e;
    }
  }

  /** Seconds of audio one crop covers. */
  get cropSeconds(): number {
    return ((this.cropFrames - 1) * this.mel.hopLength) / this.mel.sampleRate;
  }

  /**
   * Classifies a file: decoded whole (any supported format, resampled to the model's rate), or,
   * for WAV files above STREAM_FILE_BYTES (or with `stream: true`), read in chunks (see
   * classifyWavStream) so that memory does not grow with the length of the recording.
   */
  async classifyFile(file: string, opts: ClassifyFileOptions = {}): Promise<ClipResult> {
    if (opts.stream !== false && isWavFile(file, opts.stream === true ? 0 : STREAM_FILE_BYTES)) {
      const r = await this.classifyWavStream(file);
      if (r) return r;
    }
    const t0 = performance.now();
    // WAV and .au at the model's rate: the spectrogram is made as the file is decoded, so the
    // clip's samples are never held whole (same result as below, bit for bit)
    const direct = await logMelSpectrogramFile(file, this.mel);
    if (direct) {
      const t1 = performance.now();
      return {
        ...this.classifySpectrogram(direct.spectrogram, direct.samples),
        msDecode: direct.msDecode,
        msFeatures: t1 - t0 - direct.msDecode,
        mode: "clip",
      };
    }
    const samples = await loadAudio(file, { sampleRate: this.mel.sampleRate, mono: true });
    const msDecode = performance.now() - t0;
    return { ...this.classifySamples(samples), msDecode, mode: "clip" };
  }

  /**
   * Streaming classification of a WAV file: 1 MiB reads through the incremental WAV parser,
   * chunked resampling (bit-identical to resampling the whole clip) and the dsp MelStream; each
   * crop-length window is classified as soon as it is complete (top-dB from the window's own
   * maximum, as for `classify -`) and the probabilities of all windows are averaged. Memory is
   * bounded by the read size, the resampler and Mel stream state and one window.
   * Returns null when the clip is shorter than one window (the caller then decodes it whole).
   */
  async classifyWavStream(file: string): Promise<ClipResult | null> {
    const k = this.labels.length;
    const sum = new Float64Array(k);
    let windows = 0;
    let msInference = 0;
    let msFeatures = 0;
    const s = this.stream((w) => {
      for (let i = 0; i < k; i++) sum[i]! += w.probs[i]!;
      windows++;
      msInference += w.msInference;
      msFeatures += w.msFeatures;
    });
    const parser = new WavStreamParser(file, { honourDataSize: true });
    let resampler: StreamResampler | null | undefined;
    let samplesOut = 0;
    let msRead = 0;
    const feed = (x: Float32Array) => {
      const t0 = performance.now();
      const y = resampler ? resampler.push(x) : x;
      msRead += performance.now() - t0;
      samplesOut += y.length;
      if (y.length) s.push(y);
    };
    const fh = await open(file, "r");
    try {
      const chunk = new Uint8Array(READ_CHUNK);
      for (;;) {
        const t0 = performance.now();
        const { bytesRead: n } = await fh.read(chunk, 0, chunk.length, null);
        if (n === 0) break;
        // the parser keeps references to partial frames: hand it its own copy
        const samples = parser.push(chunk.slice(0, n));
        msRead += performance.now() - t0;
        if (resampler === undefined && parser.format) {
          const rate = parser.format.sampleRate;
          resampler = rate === this.mel.sampleRate ? null : new StreamResampler(rate, this.mel.sampleRate);
        }
        if (samples.length) feed(samples);
      }
    } finally {
      await fh.close();
    }
    if (!parser.format) throw new RunnerError(`${file}: the file ended before a complete WAV header`);
    if (parser.dataBytesMissing > 0)
      throw new RunnerError(
        `${file}: WAV 'data' chunk declares ${parser.declaredDataBytes} bytes but ${parser.dataBytesMissing} of them are missing; the file is truncated or its header lies about the length`,
      );
    if (parser.framesOut === 0)
      throw new RunnerError(`${file}: the file holds no audio samples (zero-length data)`);
    if (resampler) {
      const t0 = performance.now();
      const y = resampler.end();
      msRead += performance.now() - t0;
      samplesOut += y.length;
      if (y.length) s.push(y);
    }
    s.end();
    if (windows === 0) return null;
    const probs = new Float32Array(k);
    for (let i = 0; i < k; i++) probs[i] = sum[i]! / windows;
    const index = argmax(probs);
    return {
      label: this.labels[index]!,
      index,
      top: topK(probs, this.labels, Math.min(5, k)),
      probs,
      crops: windows,
      seconds: samplesOut / this.mel.sampleRate,
      msDecode: msRead,
      msFeatures,
      msInference,
      mode: "stream",
    };
  }

  /**
   * Whole-clip log-Mel (top-dB from the clip maximum, as in training), the dsp evaluation crops
   * (the fewest that cover the clip, evenly spread: the same ones the trainer evaluates), mean
   * probabilities.
   */
  classifySamples(samples: Float32Array): Omit<ClipResult, "msDecode" | "mode"> {
    const t0 = performance.now();
    const spec = logMelSpectrogram(samples, this.mel);
    const t1 = performance.now();
    return { ...this.classifySpectrogram(spec, samples.length), msFeatures: t1 - t0 };
  }

  /** The evaluation crops of a whole-clip log-Mel spectrogram of `nSamples` samples, mean probabilities. */
  classifySpectrogram(
    spec: MelSpectrogram,
    nSamples: number,
  ): Omit<ClipResult, "msDecode" | "msFeatures" | "mode"> {
    const t1 = performance.now();
    const crop = new Float32Array(this.nMels * this.cropFrames);
    const rows: Float32Array[] = [];
    for (const off of evalCropOffsets(spec.nFrames, this.cropFrames)) {
      modelCrop(spec, off, this.cropFrames, this.mel, crop);
      rows.push(this.model.run(crop));
    }
    const t2 = performance.now();
    const probs = meanProbs(rows);
    const index = argmax(probs);
    return {
      label: this.labels[index]!,
      index,
      top: topK(probs, this.labels, Math.min(5, this.labels.length)),
      probs,
      crops: rows.length,
      seconds: nSamples / this.mel.sampleRate,
      msInference: t2 - t1,
    };
  }

  /**
   * Streaming: feed mono samples at the model's rate as they arrive; every time a crop's worth
   * of frames is complete it is classified (top-dB relative to the window's own maximum, since
   * a live stream has no clip maximum).
   */
  stream(onWindow: (w: WindowResult) => void): { push(x: Float32Array): void; end(): void } {
    const mel = new MelStream(this.mel);
    const nMels = this.nMels;
    const W = this.cropFrames;
    const window = new Float32Array(nMels * W);
    let filled = 0;
    let index = 0;
    let msFeatures = 0;
    const hopSec = this.mel.hopLength / this.mel.sampleRate;
    const take = (f: { data: Float32Array; nFrames: number }) => {
      for (let t = 0; t < f.nFrames; t++) {
        for (let m = 0; m < nMels; m++) window[m * W + filled] = f.data[m * f.nFrames + t]!;
        filled++;
        if (filled === W) {
          const crop = window.slice();
          if (this.mel.topDb !== null) clampTopDbInPlace(crop, this.mel.topDb);
          normalizeCropInPlace(this.mel, crop);
          const t0 = performance.now();
          const probs = this.model.run(crop);
          const msInference = performance.now() - t0;
          const top = topK(probs, this.labels, Math.min(5, this.labels.length));
          const first = index * W;
          onWindow({
            window: index,
            startSeconds: first * hopSec,
            endSeconds: (first + W - 1) * hopSec,
            label: top[0]!.label,
            top,
            probs,
            msFeatures,
            msInference,
          });
          index++;
          filled = 0;
          msFeatures = 0;
        }
      }
    };
    return {
      push: (x) => {
        const t0 = performance.now();
        const f = mel.push(x);
        msFeatures += performance.now() - t0;
        take(f);
      },
      end: () => {
        const t0 = performance.now();
        const f = mel.end();
        msFeatures += performance.now() - t0;
        take(f);
      },
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/** Whether `file` starts like a RIFF/WAVE file and has at least `minBytes` bytes. */
function isWavFile(file: string, minBytes: number): boolean {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return false; // the regular path reports the error
  }
  try {
    if (fstatSync(fd).size < Math.max(12, minBytes)) return false;
    const b = new Uint8Array(12);
    readSync(fd, b, 0, 12, 0);
    const tag = String.fromCharCode(...b);
    return tag.startsWith("RIFF") && tag.endsWith("WAVE");
  } finally {
    closeSync(fd);
  }
}
