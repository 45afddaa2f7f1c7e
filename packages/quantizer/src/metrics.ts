/** Signal-to-quantization-noise ratio in dB of `test` against `ref` (Infinity when identical). */
import { argmax } from "@edge-audio/common";

export function sqnrDb(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  if (ref.length !== test.length) throw new Error(`length mismatch: ${ref.length} vs ${test.length}`);
  let s = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! * ref[i]!;
    n += (ref[i]! - test[i]!) ** 2;
  }
  if (n === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10(s / n);
}

/** Fraction of rows whose arg-max agrees. */
export function top1Agreement(ref: ArrayLike<number>[], test: ArrayLike<number>[]): number {
  if (ref.length !== test.length) throw new Error(`row count mismatch: ${ref.length} vs ${test.length}`);
  if (ref.length === 0) return Number.NaN;
  let same = 0;
  for (let i = 0; i < ref.length; i++) if (argmax(ref[i]!) === argmax(test[i]!)) same++;
  return same / ref.length;
}
