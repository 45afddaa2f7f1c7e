/**
 * Symmetric INT8 weight quantization: q = clamp(round(w / scale), -127, 127), zero point 0,
 * scale = max|w| / 127 per tensor or per output channel. The range is [-127, 127] (not -128) so
 * that negation is exact and the int8 x int8 products of the GEMM cannot overflow an i16 pair sum.
 */
export interface QuantizedWeights {
  q: Int8Array;
  /** One scale per tensor (length 1) or per channel along `axis`. */
  scales: Float32Array;
  axis: number | null;
}

export function quantizeSymmetric(
  w: Float32Array,
  shape: number[],
  perChannelAxis: number | null,
): QuantizedWeights {
  const q = new Int8Array(w.length);
  if (perChannelAxis === null) {
    let max = 0;
    for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]!));
    const scale = max > 0 ? max / 127 : 1;
    for (let i = 0; i < w.length; i++) q[i] = clampRound(w[i]! / scale);
    return { q, scales: Float32Array.of(scale), axis: null };
  }
  const { outer, channels, inner } = axisStrides(shape, perChannelAxis);
  const max = new Float64Array(channels);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < inner; i++)
        max[c] = Math.max(max[c]!, Math.abs(w[(o * channels + c) * inner + i]!));
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = max[c]! > 0 ? max[c]! / 127 : 1;
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++) {
      const s = scales[c]!;
      for (let i = 0; i < inner; i++) {
        const k = (o * channels + c) * inner + i;
        q[k] = clampRound(w[k]! / s);
      }
    }
  return { q, scales, axis: perChannelAxis };
}

export function dequantizeSymmetric(qw: QuantizedWeights, shape: number[]): Float32Array {
  const out = new Float32Array(qw.q.length);
  if (qw.axis === null) {
    const s = qw.scales[0]!;
    for (let i = 0; i < out.length; i++) out[i] = qw.q[i]! * s;
    return out;
  }
  const { outer, channels, inner } = axisStrides(shape, qw.axis);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < inner; i++) {
        const k = (o * channels + c) * inner + i;
        out[k] = qw.q[k]! * qw.scales[c]!;
      }
  return out;
}

function clampRound(x: number): number {
  const r = Math.round(x);
  return r > 127 ? 127 : r < -127 ? -127 : r;
}

export function axisStrides(
  shape: number[],
  axis: number,
): { outer: number; channels: number; inner: number } {
  if (axis < 0 || axis >= shape.length) throw new Error(`axis ${axis} is out of range for shape [${shape}]`);
  const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);
  return { outer: prod(shape.slice(0, axis)), channels: shape[axis]!, inner: prod(shape.slice(axis + 1)) };
}

/**
 * Affine INT8 activation parameters for a real range [lo, hi] (widened to include 0 so that
 * zero, i.e. padding and ReLU's floor, is exact): real = scale * (q - zeroPoint), q in [-128, 127].
 */
export function activationParams(lo: number, hi: number): { scale: number; zeroPoint: number } {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (hi - lo < 1e-12) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

export function fakeQuantActivation(
  x: Float32Array,
  p: { scale: number; zeroPoint: number },
  out = new Float32Array(x.length),
) {
  for (let i = 0; i < x.length; i++) {
    let q = Math.round(x[i]! / p.scale) + p.zeroPoint;
    q = q > 127 ? 127 : q < -128 ? -128 : q;
    out[i] = (q - p.zeroPoint) * p.scale;
  }
  return out;
}
