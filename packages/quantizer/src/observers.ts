/**
 * Activation range observers for static INT8 calibration. One `RangeObserver` per tensor sees
 * every calibration crop's activations; it keeps the exact min/max and a histogram whose range
 * doubles (merging bin pairs) whenever a value falls outside it, so one pass suffices.
 * From it three clipping ranges can be derived: min/max, a percentile, and the range that
 * minimises the expected INT8 quantization error (clipping + rounding) over the histogram.
 */
import { activationParams } from "./int8.js";

export type RangeMethod = "minmax" | "percentile" | "mse";

export interface Range {
  lo: number;
  hi: number;
}

const BINS = 2048; // even, so that a doubling maps bin pairs onto the middle half

export class RangeObserver {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  count = 0;
  /** Histogram over [-radius, radius). */
  radius = 0;
  readonly hist = new Float64Array(BINS);

  observe(x: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) throw new Error(`activation contains NaN (element ${i})`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error("activation contains NaN or infinity");
    this.min = lo;
    this.max = hi;
    const need = Math.max(Math.abs(lo), Math.abs(hi), 1e-8);
    if (this.radius === 0) this.radius = need * 1.0001;
    while (need >= this.radius) this.grow();
    const h = this.hist;
    const scale = BINS / (2 * this.radius);
    for (let i = 0; i < x.length; i++) {
      const b = Math.floor((x[i]! + this.radius) * scale);
      h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]!++;
    }
    this.count += x.length;
  }

  private grow(): void {
    const h = this.hist;
    const merged = new Float64Array(BINS);
    for (let j = 0; j < BINS / 2; j++) merged[BINS / 4 + j] = h[2 * j]! + h[2 * j + 1]!;
    h.set(merged);
    this.radius *= 2;
  }

  private binCenter(b: number): number {
    return -this.radius + ((b + 0.5) * 2 * this.radius) / BINS;
  }

  /** Value below which a fraction `q` of the observed values lie (linear within a bin). */
  quantile(q: number): number {
    const target = q * this.count;
    let acc = 0;
    const w = (2 * this.radius) / BINS;
    for (let b = 0; b < BINS; b++) {
      const c = this.hist[b]!;
      if (acc + c >= target && c > 0) {
        const v = -this.radius + (b + (target - acc) / c) * w;
        return Math.min(this.max, Math.max(this.min, v));
      }
      acc += c;
    }
    return this.max;
  }

  range(method: RangeMethod, percentile = 99.99): Range {
    if (this.count === 0) throw new Error("observer saw no data; run calibration crops first");
    if (method === "minmax") return { lo: this.min, hi: this.max };
    if (method === "percentile") {
      const p = percentile / 100;
      return { lo: this.min < 0 ? this.quantile(1 - p) : this.min, hi: this.quantile(p) };
    }
    return this.mseRange();
  }

  /** Expected squared INT8 error per value when clipping to [lo, hi]. */
  expectedError(r: Range): number {
    const { scale, zeroPoint } = activationParams(r.lo, r.hi);
    const qlo = (-128 - zeroPoint) * scale;
    const qhi = (127 - zeroPoint) * scale;
    let err = 0;
    for (let b = 0; b < BINS; b++) {
      const c = this.hist[b]!;
      if (c === 0) continue;
      const v = this.binCenter(b);
      if (v < qlo) err += c * (v - qlo) ** 2;
      else if (v > qhi) err += c * (v - qhi) ** 2;
      else err += (c * scale * scale) / 12; // uniform rounding error
    }
    return err / this.count;
  }

  /** Searches clipping ranges shrunk from min/max (100 steps) for the smallest expected error. */
  private mseRange(): Range {
    let best: Range = { lo: this.min, hi: this.max };
    let bestErr = this.expectedError(best);
    for (let k = 1; k < 100; k++) {
      const f = 1 - k / 100;
      const r = { lo: this.min * f, hi: this.max * f };
      const e = this.expectedError(r);
      if (e < bestErr) {
        bestErr = e;
        best = r;
      }
    }
    return best;
  }

  /** The method whose range gives the smallest expected error on what was observed. */
  bestMethod(percentile = 99.99): { method: RangeMethod; range: Range; error: number } {
    let best: { method: RangeMethod; range: Range; error: number } | null = null;
    for (const method of ["minmax", "percentile", "mse"] as const) {
      const range = this.range(method, percentile);
      const error = this.expectedError(range);
      if (!best || error < best.error) best = { method, range, error };
    }
    return best!;
  }
}
