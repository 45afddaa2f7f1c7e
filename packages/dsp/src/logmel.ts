import { clipTopDb, type MelConfig, resolveMelConfig } from "./config.js";
import { DspError } from "./errors.js";
import {
  checkSamples,
  frameCount,
  hannWindow,
  melFilterbank,
  nonFiniteError,
  reflectIndex,
} from "./filters.js";
import { fastPathSupports, type KernelFlavour, KernelPlan, kernelFlavour } from "./kernel.js";
import { melSpectrogramReference } from "./reference.js";

/** A Mel spectrogram: data[m * nFrames + t], librosa's (n_mels, t) layout. */
export interface MelSpectrogram {
  data: Float32Array;
  nMels: number;
  nFrames: number;
}

const plans = new Map<string, KernelPlan>();

function planFor(c: MelConfig, flavour: KernelFlavour): KernelPlan {
  const key = JSON.stringify([
    flavour,
    c.sampleRate,
    c.nFft,
    c.winLength,
    c.nMels,
    c.fMin,
    c.fMax,
    c.melScale,
    c.norm,
  ]);
  let p = plans.get(key);
  if (!p) {
    p = new KernelPlan(c.nFft, melFilterbank(c), hannWindow(c.nFft, c.winLength), flavour);
    if (plans.size >= 8) plans.delete(plans.keys().next().value!);
    plans.set(key, p);
  }
  return p;
}

/**
 * Runs the kernel over a padded signal of `paddedLength` samples that `fill` writes into kernel
 * memory; `mode` 1 gives dB without the topDb clamp, 0 Mel power. With `check`, samples
 * [check.from, check.from + check.n) of the padded signal are checked for NaN/Inf in the kernel.
 */
function runFrames(
  fill: (mem: Float32Array) => void,
  paddedLength: number,
  nFrames: number,
  c: MelConfig,
  mode: 0 | 1,
  flavour: KernelFlavour,
  topDb: number | null,
  check?: { from: number; n: number },
  sink?: FrameSink,
): Float32Array {
  const plan = planFor(c, flavour);
  const sigFloats = Math.ceil((paddedLength + 8) / 4) * 4;
  const outFloats = c.nMels * nFrames;
  const base = plan.reserve((sigFloats + outFloats) * 4);
  const sig = base / 4;
  const mem = plan.f32();
  fill(mem.subarray(sig, sig + paddedLength));
  if (check) {
    const bad = plan.ex.firstNonFinite(base + check.from * 4, check.n);
    if (bad >= 0) throw nonFiniteError(bad, mem[sig + check.from + bad]!);
  }
  const outPtr = base + sigFloats * 4;
  const refDb = 10 * Math.log10(Math.max(c.amin, c.ref));
  plan.ex.melFrames(base, nFrames, c.hopLength, outPtr, nFrames, c.power === 1 ? 1 : 0, mode, c.amin, refDb);
  if (topDb !== null && outFloats > 0) plan.ex.clampTopDb(outPtr, outFloats, topDb);
  if (sink) {
    const o = outPtr / 4;
    const all = plan.f32();
    for (let m = 0; m < c.nMels; m++)
      sink.data.set(all.subarray(o + m * nFrames, o + (m + 1) * nFrames), m * sink.nFrames + sink.at);
    return EMPTY;
  }
  return plan.f32().slice(outPtr / 4, outPtr / 4 + outFloats);
}

const EMPTY = new Float32Array(0);

/** Where frames go instead of a new array: data[m * nFrames + at + t]. */
interface FrameSink {
  data: Float32Array;
  nFrames: number;
  at: number;
}

/**
 * Frames per kernel call of the whole-clip path. The kernel holds one block of signal (about 34 k
 * samples at hop 512) and that block's frames, which are copied into the result, instead of a
 * padded copy of the whole clip and the whole spectrogram: its memory does not grow with the clip.
 * Frames do not depend on the blocking (as for MelStream).
 */
export const CLIP_BLOCK_FRAMES = 64;

function runClip(
  samples: Float32Array,
  c: MelConfig,
  mode: 0 | 1,
  flavour: KernelFlavour,
  topDb: number | null,
  blockFrames = CLIP_BLOCK_FRAMES,
): Float32Array {
  const n = samples.length;
  const nFrames = frameCount(n, c);
  const pad = c.center ? Math.floor(c.nFft / 2) : 0;
  const hop = c.hopLength;
  const nMels = c.nMels;
  const plan = planFor(c, flavour);
  const out = new Float32Array(nMels * nFrames);
  const block = Math.max(1, Math.min(nFrames, blockFrames));
  const blockLen = (block - 1) * hop + c.nFft;
  const outAt = Math.ceil((nMels * block) / 4) * 4;
  const base = plan.reserve((outAt + Math.ceil((blockLen + 8) / 4) * 4) * 4);
  const outPtr = base;
  const sigPtr = base + outAt * 4;
  const sig = sigPtr / 4;
  const reflect = c.padMode === "reflect";
  const refDb = 10 * Math.log10(Math.max(c.amin, c.ref));
  for (let f0 = 0; f0 < nFrames; f0 += block) {
    const count = Math.min(block, nFrames - f0);
    // padded-signal positions [first, first + len) hold samples [first - pad, first - pad + len)
    const first = f0 * hop;
    const len = (count - 1) * hop + c.nFft;
    const mem = plan.f32();
    const lo = Math.max(first, pad);
    const hi = Math.min(first + len, pad + n);
    if (hi > lo) {
      mem.set(samples.subarray(lo - pad, hi - pad), sig + (lo - first));
      const bad = plan.ex.firstNonFinite(sigPtr + (lo - first) * 4, hi - lo);
      if (bad >= 0) throw nonFiniteError(lo - pad + bad, samples[lo - pad + bad]!);
    }
    for (let j = first; j < lo; j++) mem[sig + j - first] = reflect ? samples[reflectIndex(j - pad, n)]! : 0;
    for (let j = Math.max(hi, first); j < first + len; j++)
      mem[sig + j - first] = reflect ? samples[reflectIndex(j - pad, n)]! : 0;
    plan.ex.melFrames(sigPtr, count, hop, outPtr, count, c.power === 1 ? 1 : 0, mode, c.amin, refDb);
    const o = outPtr / 4;
    for (let m = 0; m < nMels; m++)
      out.set(mem.subarray(o + m * count, o + (m + 1) * count), m * nFrames + f0);
  }
  // samples after the last frame's reach are checked too, as for the whole clip
  for (let i = Math.max(0, (nFrames - 1) * hop + c.nFft - pad); i < n; i++)
    if (!Number.isFinite(samples[i]!)) throw nonFiniteError(i, samples[i]!);
  if (topDb !== null && out.length > 0) clampTopDbInPlace(out, topDb);
  return out;
}

/** Float64 path for configs the kernel does not take: Mel power to dB, rounded to float32. */
function referenceDb(samples: ArrayLike<number>, c: MelConfig): Float32Array {
  const ref = melSpectrogramReference(samples, c);
  const refDb = 10 * Math.log10(Math.max(c.amin, c.ref));
  return Float32Array.from(ref.data, (v) => 10 * Math.log10(Math.max(c.amin, v)) - refDb);
}

export interface FastOptions {
  /** Force a kernel build ("simd" or "scalar"); default: SIMD where supported. */
  kernel?: KernelFlavour;
}

/**
 * Log-Mel spectrogram (fast path): librosa.power_to_db(librosa.feature.melspectrogram(...)) with
 * the MelConfig defaults. Runs the f32 WebAssembly kernel for power-of-two nFft and power 1 or 2,
 * the float64 reference otherwise. Agrees with logMelSpectrogramReference within 0.01 dB.
 * Throws DspError for empty or non-finite input, MelConfigError for bad configs.
 */
export function logMelSpectrogram(
  samples: Float32Array,
  config: Partial<MelConfig> = {},
  opts: FastOptions = {},
): MelSpectrogram {
  const c = resolveMelConfig(config);
  const fast = fastPathSupports(c);
  checkSamples(samples, c, !fast);
  const nFrames = frameCount(samples.length, c);
  if (!fast) {
    const data = referenceDb(samples, c);
    const topDb = clipTopDb(c);
    if (topDb !== null) clampTopDbInPlace(data, topDb);
    return { data, nMels: c.nMels, nFrames };
  }
  const data = runClip(samples, c, 1, opts.kernel ?? kernelFlavour(), clipTopDb(c));
  return { data, nMels: c.nMels, nFrames };
}

/** Mel power spectrogram (no dB), fast path where supported; data[m * nFrames + t]. */
export function melSpectrogram(
  samples: Float32Array,
  config: Partial<MelConfig> = {},
  opts: FastOptions = {},
): MelSpectrogram {
  const c = resolveMelConfig(config);
  const fast = fastPathSupports(c);
  checkSamples(samples, c, !fast);
  const nFrames = frameCount(samples.length, c);
  if (!fast) {
    const ref = melSpectrogramReference(samples, c);
    return { data: Float32Array.from(ref.data), nMels: c.nMels, nFrames };
  }
  return {
    data: runClip(samples, c, 0, opts.kernel ?? kernelFlavour(), null),
    nMels: c.nMels,
    nFrames,
  };
}

/**
 * Clamps dB values in place to (max - topDb), the max taken over `data` itself, as
 * librosa.power_to_db does over a whole clip. Returns the floor used (-Infinity for empty data).
 */
export function clampTopDbInPlace(data: Float32Array, topDb: number): number {
  // in float32 arithmetic, as the kernel's clamp (float64 then one rounding gives the same value)
  const floor = Math.fround(maxOf(data) - Math.fround(topDb));
  raiseTo(data, floor);
  return floor;
}

// One loop per function: each is optimised once, not again for every caller's loop.
/** Largest value (-Infinity for empty data). */
export function maxOf(data: Float32Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  return max;
}

/** Raises every value below `floor` to `floor`. */
export function raiseTo(data: Float32Array, floor: number): void {
  for (let i = 0; i < data.length; i++) if (data[i]! < floor) data[i] = floor;
}

/**
 * Index of the first NaN or infinite value, or -1 (a loop of its own, see maxOf).
 */
function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/** Frames produced by one MelStream call: data[m * nFrames + t], first frame index startFrame. */
export interface MelStreamFrames extends MelSpectrogram {
  startFrame: number;
}

/**
 * Streaming log-Mel: push audio in chunks of any size, get frames as soon as they are final.
 *
 * Frames are power-dB, 10 log10(max(amin, S)) - 10 log10(max(amin, ref)), WITHOUT the topDb clamp,
 * because that clamp depends on the maximum of the whole clip. Concatenated over all push() calls
 * and end(), they are bit-identical to logMelSpectrogram(clip, { ...config, topDb: null }).
 * To reproduce the whole-clip result apply clampTopDbInPlace(all, topDb) once at the end; a live
 * runner classifying fixed windows applies clampTopDbInPlace to each window, which equals
 * logMelSpectrogram of that window's frames as if the window were the clip.
 *
 * With center = true the first frame needs floor(nFft/2) + 1 samples (for the reflection) and the
 * last floor(nFft/2) frames need end() (the right reflection depends on where the clip ends).
 */
export class MelStream {
  readonly config: MelConfig;
  readonly nMels: number;
  private readonly flavour: KernelFlavour;
  private buf = new Float32Array(0);
  private bufStart = 0; // absolute index of buf[0]
  private bufLen = 0;
  private total = 0;
  private next = 0; // next frame index to emit
  private ended = false;
  /** Where frames go instead of being returned (see MelStream.into). */
  private sink: { data: Float32Array; nFrames: number } | null = null;

  /**
   * A stream that writes its frames into `data` ([nMels][nFrames], frame t at column t) instead
   * of returning them (the returned frames have empty data): a whole clip's spectrogram is built
   * piece by piece without an array per piece. `nFrames` is frameCount of the clip's length.
   */
  static into(config: Partial<MelConfig>, data: Float32Array, nFrames: number): MelStream {
    const s = new MelStream(config);
    if (data.length !== s.nMels * nFrames)
      throw new DspError(
        "BAD_ARGUMENT",
        `MelStream.into: data holds ${data.length} values, not nMels x ${nFrames}`,
      );
    s.sink = { data, nFrames };
    return s;
  }

  constructor(config: Partial<MelConfig> = {}, opts: FastOptions = {}) {
    this.config = resolveMelConfig({ ...config, topDb: null });
    this.nMels = this.config.nMels;
    this.flavour = opts.kernel ?? kernelFlavour();
  }

  /** Frames emitted so far. */
  get framesEmitted(): number {
    return this.next;
  }
  /** Samples received so far. */
  get samplesReceived(): number {
    return this.total;
  }

  /** Adds samples; returns the frames that became final (possibly none). */
  push(chunk: Float32Array): MelStreamFrames {
    if (this.ended) throw new DspError("STATE", "MelStream.push after end(); create a new stream");
    const bad = firstNonFinite(chunk);
    if (bad >= 0)
      throw new DspError(
        "NON_FINITE_INPUT",
        `sample ${this.total + bad} is ${chunk[bad]}; remove or replace NaN/Infinity samples before streaming`,
      );
    if (this.bufLen + chunk.length > this.buf.length) {
      const grown = new Float32Array(Math.max(this.bufLen + chunk.length, this.buf.length * 2, 4096));
      grown.set(this.buf.subarray(0, this.bufLen));
      this.buf = grown;
    }
    this.buf.set(chunk, this.bufLen);
    this.bufLen += chunk.length;
    this.total += chunk.length;
    const c = this.config;
    const pad = c.center ? Math.floor(c.nFft / 2) : 0;
    // frame t is final once its right edge is inside the data (and the left reflection is known)
    if (c.center && c.padMode === "reflect" && this.total <= pad) return this.emit(this.next, null);
    const lastReady = Math.floor((this.total - c.nFft + pad) / c.hopLength); // t*hop - pad + nFft <= total
    return this.emit(lastReady + 1, null);
  }

  /** Flushes the frames that need the end of the clip; the stream cannot be used afterwards. */
  end(): MelStreamFrames {
    if (this.ended) throw new DspError("STATE", "MelStream.end called twice");
    this.ended = true;
    if (this.total === 0) return { data: new Float32Array(0), nMels: this.nMels, nFrames: 0, startFrame: 0 };
    return this.emit(frameCount(this.total, this.config), this.total);
  }

  private emit(until: number, n: number | null): MelStreamFrames {
    const c = this.config;
    const t0 = this.next;
    const count = Math.max(0, until - t0);
    if (count === 0) return { data: new Float32Array(0), nMels: this.nMels, nFrames: 0, startFrame: t0 };
    const pad = c.center ? Math.floor(c.nFft / 2) : 0;
    const first = t0 * c.hopLength - pad;
    const len = (count - 1) * c.hopLength + c.nFft;
    const known = n ?? this.total;
    // the frames' signal, with the clip's padding, written straight where it is needed
    const fill = (seg: Float32Array) => {
      const lo = Math.max(first, 0);
      const hi = Math.min(first + len, known);
      if (hi > lo) seg.set(this.buf.subarray(lo - this.bufStart, hi - this.bufStart), lo - first);
      for (let j = 0; j < len; j++) {
        let i = first + j;
        if (i >= lo && i < hi) {
          j = hi - first - 1;
          continue;
        }
        if (c.padMode === "constant" || !c.center) {
          seg[j] = 0;
          continue;
        }
        i = reflectIndex(i, known);
        seg[j] = this.buf[i - this.bufStart]!;
      }
    };
    const sink = this.sink ? { ...this.sink, at: t0 } : undefined;
    let data: Float32Array;
    if (fastPathSupports(c)) data = runFrames(fill, len, count, c, 1, this.flavour, null, undefined, sink);
    else {
      const seg = new Float32Array(len);
      fill(seg);
      data = referenceDb(seg, { ...c, center: false });
      if (sink)
        for (let m = 0; m < this.nMels; m++)
          sink.data.set(data.subarray(m * count, (m + 1) * count), m * sink.nFrames + t0);
    }
    this.next = until;
    // drop samples no later frame (nor the right reflection at the end) can reach; with a hop
    // longer than the frame the next frame can start beyond the data received, and the last
    // nFft samples are kept for the reflection at the end
    const keepFrom = Math.max(0, Math.min(this.next * c.hopLength - pad - c.nFft, this.total - c.nFft));
    if (keepFrom > this.bufStart) {
      const drop = keepFrom - this.bufStart;
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart = keepFrom;
    }
    return { data: this.sink ? EMPTY : data, nMels: this.nMels, nFrames: count, startFrame: t0 };
  }
}
