import { designResampleFilter, filterTap, type ResampleOptions } from "./resample-design.js";

/**
 * Float64 reference of resample(): every output is the sum over the input samples within the
 * filter's reach of x[i] * h(t - i), with the windowed sinc h evaluated in closed form at the
 * output's exact time t = j * fromRate / toRate (no phase bank, no interpolation, no float32).
 */
export function resampleReference(
  x: ArrayLike<number>,
  fromRate: number,
  toRate: number,
  opts: ResampleOptions = {},
): Float64Array {
  if (fromRate === toRate) return Float64Array.from(x);
  const f = designResampleFilter(fromRate, toRate, opts);
  const n = x.length;
  const nOut = n === 0 ? 0 : Math.ceil((n * f.up) / f.down);
  const out = new Float64Array(nOut);
  for (let j = 0; j < nOut; j++) {
    const base = Math.floor((j * f.down) / f.up);
    const t = base + (j * f.down - base * f.up) / f.up;
    const lo = Math.max(0, Math.ceil(t - f.reach));
    const hi = Math.min(n - 1, Math.floor(t + f.reach));
    let acc = 0;
    for (let i = lo; i <= hi; i++) acc += x[i]! * filterTap(f, t - i);
    out[j] = acc;
  }
  return out;
}
