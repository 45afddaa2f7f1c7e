import { existsSync } from "node:fs";
import {
  clampTopDbInPlace,
  evalCropOffsets,
  extractCrop,
  loadAudio,
  logMelSpectrogram,
  type MelConfig,
  MelStream,
  resolveMelConfig,
} from "@edge-audio/dsp";
import { loadModel, type Model } from "@edge-audio/engine-wasm";
import { argmax, meanProbs, topK } from "./crops.js";

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
}

export interface WindowResult {
  window: number;
  startSeconds: number;
  endSeconds: number;
  label: string;
  top: { label: string; p: number }[];
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
    const outUnits = model.plan.output.bytes / 4;
    this.labels =
      h.labels.length === outUnits ? h.labels : Array.from({ length: outUnits }, (_, i) => `class${i}`);
  }

  static async open(path: string, threads?: number): Promise<Classifier> {
    if (!existsSync(path))
      throw new RunnerError(
        `${path}: no such model file; pass --model with a .eam file (pi-runner info FILE shows what one holds)`,
      );
    let model: Model;
    try {
      model = await loadModel(path, threads ? { threads } : {});
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

  /** Decodes a file (any supported format, resampled to the model's rate) and classifies it. */
  async classifyFile(file: string): Promise<ClipResult> {
    const t0 = performance.now();
    const samples = await loadAudio(file, { sampleRate: this.mel.sampleRate, mono: true });
    const msDecode = performance.now() - t0;
    return { ...this.classifySamples(samples), msDecode };
  }

  /**
   * Whole-clip log-Mel (top-dB from the clip maximum, as in training), the dsp evaluation crops
   * (the fewest that cover the clip, evenly spread: the same ones the trainer evaluates), mean
   * probabilities.
   */
  classifySamples(samples: Float32Array): Omit<ClipResult, "msDecode"> {
    const t0 = performance.now();
    const spec = logMelSpectrogram(samples, this.mel);
    const t1 = performance.now();
    const crop = new Float32Array(this.nMels * this.cropFrames);
    const rows: Float32Array[] = [];
    for (const off of evalCropOffsets(spec.nFrames, this.cropFrames)) {
      extractCrop(spec, off, this.cropFrames, crop);
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
      seconds: samples.length / this.mel.sampleRate,
      msFeatures: t1 - t0,
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
