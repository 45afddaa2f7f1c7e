/**
 * A whole clip's log-Mel spectrogram built from samples pushed in pieces, for streams whose length
 * is not known exactly in advance (MP3, resampled audio): equal to logMelSpectrogram of all the
 * samples at once, bit for bit, while only the spectrogram is held, never the samples.
 */
import { clipTopDb, type MelConfig, resolveMelConfig } from "./config.js";
import { checkSamples } from "./filters.js";
import { clampTopDbInPlace, type MelSpectrogram, MelStream } from "./logmel.js";

export class SpectrogramBuilder {
  readonly config: MelConfig;
  private readonly stream: MelStream;
  /** [nMels][capacity]: frame t of band m at m * capacity + t. */
  private data: Float32Array;
  private capacity: number;
  private frames = 0;

  /** `expectedFrames`: the frames the clip is expected to make (a good guess saves regrowing). */
  constructor(config: Partial<MelConfig> = {}, expectedFrames = 0) {
    this.config = resolveMelConfig(config);
    this.stream = new MelStream(this.config);
    this.capacity = Math.max(16, Math.ceil(expectedFrames));
    this.data = new Float32Array(this.config.nMels * this.capacity);
  }

  /** Samples pushed so far. */
  get samples(): number {
    return this.stream.samplesReceived;
  }

  push(x: Float32Array): void {
    this.take(this.stream.push(x));
  }

  /** The spectrogram (the clip's topDb clamp applied, as logMelSpectrogram does). */
  end(): MelSpectrogram {
    // the refusals of logMelSpectrogram (no samples, shorter than a frame without centring)
    checkSamples({ length: this.samples }, this.config, false);
    this.take(this.stream.end());
    const { nMels } = this.config;
    const n = this.frames;
    // close the gaps between bands in place: band m moves from m * capacity to m * n (n <= capacity)
    for (let m = 1; m < nMels; m++) this.data.copyWithin(m * n, m * this.capacity, m * this.capacity + n);
    const data = this.data.subarray(0, nMels * n);
    const topDb = clipTopDb(this.config);
    if (topDb !== null) clampTopDbInPlace(data, topDb);
    return { data, nMels, nFrames: n };
  }

  private take(f: { data: Float32Array; nFrames: number; startFrame: number }): void {
    if (f.nFrames === 0) return;
    const need = f.startFrame + f.nFrames;
    if (need > this.capacity) this.grow(Math.max(need, Math.ceil(this.capacity * 1.5)));
    const { nMels } = this.config;
    for (let m = 0; m < nMels; m++)
      this.data.set(f.data.subarray(m * f.nFrames, (m + 1) * f.nFrames), m * this.capacity + f.startFrame);
    this.frames = need;
  }

  private grow(capacity: number): void {
    const { nMels } = this.config;
    const next = new Float32Array(nMels * capacity);
    for (let m = 0; m < nMels; m++)
      next.set(this.data.subarray(m * this.capacity, m * this.capacity + this.frames), m * capacity);
    this.data = next;
    this.capacity = capacity;
  }
}
