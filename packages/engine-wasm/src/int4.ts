/**
 * 4-bit weights as a `.eam` file stores them (docs/format.md, "Quantized models"): symmetric per
 * output channel in [-7, 7], two per byte along the output channels, even channel in the low
 * nibble, two's complement; a row of `n` channels takes ceil(n / 2) bytes.
 */

/** Quantizes row-major weights with `n` output channels (the last axis) to packed 4-bit values. */
export function packInt4Weights(w: Float32Array, n: number): { packed: Uint8Array; scales: Float32Array } {
  const half = Math.ceil(n / 2);
  const rows = w.length / n;
  const max = new Float64Array(n);
  for (let i = 0; i < w.length; i++) max[i % n] = Math.max(max[i % n]!, Math.abs(w[i]!));
  const scales = Float32Array.from(max, (m) => (m > 0 ? m / 7 : 1));
  const packed = new Uint8Array(rows * half);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      const q = Math.max(-7, Math.min(7, Math.round(w[r * n + c]! / scales[c]!)));
      packed[r * half + (c >> 1)]! |= (q & 15) << ((c & 1) * 4);
    }
  return { packed, scales };
}

/** The signed values of `rows` packed rows of `n` channels, as int8 [rows][n]. */
export function unpackInt4(packed: Uint8Array, rows: number, n: number): Int8Array {
  const half = Math.ceil(n / 2);
  const q = new Int8Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      const nib = (packed[r * half + (c >> 1)]! >> ((c & 1) * 4)) & 15;
      q[r * n + c] = nib >= 8 ? nib - 16 : nib;
    }
  return q;
}
