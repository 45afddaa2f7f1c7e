import { DspError } from "./errors.js";
import { isFastSize, type KernelFlavour, KernelPlan } from "./kernel.js";
import { fftComplex64 } from "./reference.js";

/**
 * Real-input FFT of a fixed size: X[k] = sum_n x[n] e^{-2 pi i k n / size}, k = 0 .. size/2.
 * Powers of two from 32 to 65536 run in the WebAssembly kernel (f32, SIMD where available);
 * other sizes fall back to the float64 reference FFT.
 */
export class RealFFT {
  readonly size: number;
  readonly flavour: KernelFlavour | "reference";
  /** Input buffer inside kernel memory (size samples); fill it and call transform() to avoid copies. */
  readonly input: Float32Array;
  /** Output buffer inside kernel memory: size/2 + 1 interleaved (re, im) pairs. */
  readonly output: Float32Array;
  private readonly plan: KernelPlan | null;
  private readonly inPtr: number;
  private readonly outPtr: number;

  constructor(size: number, flavour?: KernelFlavour) {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0)
      throw new DspError("BAD_ARGUMENT", `RealFFT size must be an even integer >= 2, got ${size}`);
    this.size = size;
    if (isFastSize(size)) {
      this.plan = new KernelPlan(size, null, null, flavour);
      this.flavour = this.plan.flavour;
      const base = this.plan.reserve(size * 4 + (size + 8) * 4);
      this.inPtr = base;
      this.outPtr = base + size * 4;
      const mem = this.plan.f32();
      this.input = mem.subarray(this.inPtr / 4, this.inPtr / 4 + size);
      this.output = mem.subarray(this.outPtr / 4, this.outPtr / 4 + size + 2);
    } else {
      this.plan = null;
      this.flavour = "reference";
      this.inPtr = this.outPtr = 0;
      this.input = new Float32Array(size);
      this.output = new Float32Array(size + 2);
    }
  }

  /** Transforms `input` (the kernel's own buffer) into `output`. */
  transform(): void {
    if (this.plan) {
      this.plan.ex.rfft(this.inPtr, this.outPtr);
      return;
    }
    const re = Float64Array.from(this.input);
    const im = new Float64Array(this.size);
    fftComplex64(re, im);
    for (let k = 0; k <= this.size / 2; k++) {
      this.output[2 * k] = re[k]!;
      this.output[2 * k + 1] = im[k]!;
    }
  }

  /** FFT of `input` (length size) into `out` (length size + 2, interleaved re/im); returns out. */
  forward(input: Float32Array, out: Float32Array = new Float32Array(this.size + 2)): Float32Array {
    if (input.length !== this.size)
      throw new DspError(
        "BAD_ARGUMENT",
        `RealFFT.forward: input has ${input.length} samples, expected ${this.size}`,
      );
    if (out.length < this.size + 2)
      throw new DspError(
        "BAD_ARGUMENT",
        `RealFFT.forward: output needs ${this.size + 2} floats, got ${out.length}`,
      );
    this.input.set(input);
    this.transform();
    out.set(this.output);
    return out;
  }
}
