/**
 * Float64 references of the quantized kernels (assembly/quant.ts): the int8 convolution with
 * f32 or int8 output and a fused residual, quantize, the dynamic range parameters, the int8
 * add and the int8 global average pool. Scales are rounded to f32 first, as the kernels read
 * them from f32 parameter blocks.
 */

import { refConv2d } from "./ops/conv.js";
import type { ConvGeometry } from "./plan/types.js";

/** Round to nearest, ties to even (the rounding of f32 nearest in the kernels). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const clampI8 = (v: number): number => Math.max(-128, Math.min(127, v));

/** The int8 value of the real `v` under (scale, zeroPoint). */
export function refQuantize(v: number, scale: number, zeroPoint: number): number {
  return clampI8(roundHalfEven(v / Math.fround(scale)) + zeroPoint);
}

/** An int8 convolution layer: quantized input, per-channel int8 weights, f32 bias. */
export interface QuantConvCase {
  g: ConvGeometry & { cout: number };
  relu: number;
  X: Int8Array;
  Wq: Int8Array;
  sx: number;
  zx: number;
  /** Per-output-channel weight scales. */
  sw: Float32Array;
  bias: Float32Array;
  /** Fused residual (same shape as the output), or none. */
  res?: { q: Int8Array; scale: number; zeroPoint: number };
}

/** Real output: input (q - zx) sx, weights q sw, padding = real zero, + residual, then ReLU. */
export function refQuantConv(q: QuantConvCase): Float64Array {
  const { g } = q;
  const xr = {
    shape: [g.h, g.w, g.cin],
    data: Float64Array.from(q.X, (v) => (v - q.zx) * Math.fround(q.sx)),
  };
  const wr = new Float64Array(q.Wq.length);
  for (let i = 0; i < q.Wq.length; i++) wr[i] = q.Wq[i]! * q.sw[i % g.cout]!;
  const out = refConv2d(
    xr,
    wr,
    q.bias,
    [g.kh, g.kw],
    [g.sh, g.sw],
    { top: g.pt, left: g.pl, oh: g.oh, ow: g.ow },
    g.cout,
    q.relu === 1 && !q.res,
  ).data;
  if (q.res) {
    const { q: r, scale, zeroPoint } = q.res;
    for (let i = 0; i < out.length; i++) {
      const v = out[i]! + (r[i]! - zeroPoint) * Math.fround(scale);
      out[i] = q.relu ? Math.max(0, v) : v;
    }
  }
  return out;
}

/** Dynamic parameters: the range [min(lo, 0), max(hi, 0)] of `x` mapped onto [-128, 127]. */
export function refDynamicParams(x: ArrayLike<number>): { scale: number; zeroPoint: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < x.length; i++) {
    lo = Math.min(lo, x[i]!);
    hi = Math.max(hi, x[i]!);
  }
  const scale = Math.fround(Math.fround(hi - lo) / 255);
  const zeroPoint = clampI8(roundHalfEven(Math.fround(-128 - Math.fround(lo / scale))));
  return { scale, zeroPoint };
}

interface QParams {
  s: number;
  z: number;
}

/** int8 add with rescaling: the int8 of (a - za) sa + (b - zb) sb (then ReLU) under `y`. */
export function refQuantAdd(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  qa: QParams,
  qb: QParams,
  qy: QParams,
  relu: boolean,
): Int8Array {
  const out = new Int8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    let v = (a[i]! - qa.z) * Math.fround(qa.s) + (b[i]! - qb.z) * Math.fround(qb.s);
    if (relu) v = Math.max(0, v);
    out[i] = refQuantize(v, qy.s, qy.z);
  }
  return out;
}

/** Global average pool of an int8 [pixels][c] map under (s, z), in float64. */
export function refQuantGap(
  x: ArrayLike<number>,
  pixels: number,
  c: number,
  s: number,
  z: number,
): Float64Array {
  const out = new Float64Array(c);
  for (let p = 0; p < pixels; p++)
    for (let ch = 0; ch < c; ch++) out[ch] += (x[p * c + ch]! - z) * Math.fround(s);
  for (let ch = 0; ch < c; ch++) out[ch]! /= pixels;
  return out;
}
