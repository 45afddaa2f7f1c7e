import { existsSync } from "node:fs";
import { argmax } from "@edge-audio/common";
import {
  clampTopDbInPlace,
  evalCropOffsets,
  logMelSpectrogram,
  type MelConfig,
  type MelSpectrogram,
  MelStream,
  modelCrop,
  normalizeCropInPlace,
  resolveMelConfig,
  SpectrogramBuilder,
} from "@edge-audio/dsp";
import { type LoadOptions, loadModel, type Model, verifyModel } from "@edge-audio/engine-wasm";
import { meanProbs, topK } from "./crops.js";
import { checkInput, type MonoInput, openMonoInput } from "./input.js";

/**
 * Files declaring more audio than this are classified by streaming (memory flat in the duration)
 * unless told otherwise: 25 minutes, about what 64 MiB of 22.05 kHz 16-bit mono WAV holds.
 */
export const STREAM_SECONDS = 1500;
/** Most spectrogram values allocated ahead of the audio on the strength of a header (64 MiB). */
const MAX_GUESSED_VALUES = 2 ** 24;

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
  /** Why the input was not whole (truncated, damaged frames skipped), one line each; empty when it was. */
  warnings: string[];
}

export type OpenOptions = Pick<LoadOptions, "maxMemoryBytes" | "maxWorkPerCrop" | "fma"> & {
  verify?: boolean;
};

export interface ClassifyFileOptions {
  /** true: stream mode always; false: never; default: files declaring more than STREAM_SECONDS. */
  stream?: boolean;
  /** Refuse input that is not whole (truncated, damaged frames) instead of warning. */
  strict?: boolean;
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
   * Classifies a file (any supported format, resampled to the model's rate as it is decoded):
   * clip mode builds the whole-clip spectrogram piece by piece (the samples are never held);
   * stream mode (`stream: true`, or a declared duration over STREAM_SECONDS) classifies
   * consecutive crop-length windows as they complete, so memory stays flat however long the
   * recording. Input that is not whole is classified from what is there, with `warnings`, or
   * refused with `strict`.
   */
  async classifyFile(file: string, opts: ClassifyFileOptions = {}): Promise<ClipResult> {
    return this.classifyInput(await openMonoInput(file, this.mel.sampleRate), opts);
  }

  /** classifyFile of an input already opened (by openMonoInput or DecodeAhead). */
  async classifyInput(input: MonoInput, opts: ClassifyFileOptions = {}): Promise<ClipResult> {
    const file = input.file;
    const long = (input.estimatedSeconds ?? 0) > STREAM_SECONDS;
    if (opts.stream === true || (opts.stream !== false && long)) {
      const r = await this.classifyInputStream(input, opts.strict === true);
      if (r) return r;
      // shorter than one window: classified as a clip
      return this.classifyInputClip(await openMonoInput(file, this.mel.sampleRate), opts.strict === true);
    }
    return this.classifyInputClip(input, opts.strict === true);
  }

  /** Clip mode: whole-clip spectrogram, evenly spread evaluation crops (see classifySpectrogram). */
  private async classifyInputClip(input: MonoInput, strict: boolean): Promise<ClipResult> {
    const t0 = performance.now();
    const hop = this.mel.hopLength;
    const expected =
      input.estimatedSeconds === null ? 0 : (input.estimatedSeconds * this.mel.sampleRate) / hop + 2;
    // the header's length is a guess, not a promise: the builder grows past it as audio arrives
    const builder = new SpectrogramBuilder(this.mel, Math.min(expected, MAX_GUESSED_VALUES / this.mel.nMels));
    let msFeatures = 0;
    const report = await input.read((x) => {
      const t = performance.now();
      builder.push(x);
      msFeatures += performance.now() - t;
    });
    const warnings = checkInput(input.file, report, strict);
    const t1 = performance.now();
    const msDecode = t1 - t0 - msFeatures;
    const spec = builder.end();
    msFeatures += performance.now() - t1;
    return {
      ...this.classifySpectrogram(spec, builder.samples),
      msDecode,
      msFeatures,
      mode: "clip",
      warnings,
    };
  }

  /**
   * Stream mode of a file: each crop-length window is classified as soon as it is complete
   * (top-dB from the window's own maximum, as for `classify -`) and the probabilities of all
   * windows are averaged. Memory is bounded by the read size, the decoder, resampler and Mel
   * stream state and one window. Returns null when the clip is shorter than one window.
   */
  private async classifyInputStream(input: MonoInput, strict: boolean): Promise<ClipResult | null> {
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
    const t0 = performance.now();
    let samples = 0;
    const report = await input.read((x) => {
      samples += x.length;
      s.push(x);
    });
    s.end();
    const warnings = checkInput(input.file, report, strict);
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
      seconds: samples / this.mel.sampleRate,
      msDecode: performance.now() - t0 - msFeatures - msInference,
      msFeatures,
      msInference,
      mode: "stream",
      warnings,
    };
  }

  /**
   * Whole-clip log-Mel (top-dB from the clip maximum, as in training), the dsp evaluation crops
   * (the fewest that cover the clip, evenly spread: the same ones the trainer evaluates), mean
   * probabilities.
   */
  classifySamples(samples: Float32Array): Omit<ClipResult, "msDecode" | "mode" | "warnings"> {
    const t0 = performance.now();
    const spec = logMelSpectrogram(samples, this.mel);
    const t1 = performance.now();
    return { ...this.classifySpectrogram(spec, samples.length), msFeatures: t1 - t0 };
  }

  /** The evaluation crops of a whole-clip log-Mel spectrogram of `nSamples` samples, mean probabilities. */
  classifySpectrogram(
    spec: MelSpectrogram,
    nSamples: number,
  ): Omit<ClipResult, "msDecode" | "msFeatures" | "mode" | "warnings"> {
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
