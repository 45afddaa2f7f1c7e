/** Weight layouts of the target formats, from ours (conv HWIO, dense [in, out]). */

/** Any 2-D or 4-D array with `dims`, its axes reordered by `perm` (output axis i = input axis perm[i]). */
export function permute<T extends Float32Array | Int8Array | Uint16Array>(
  src: T,
  dims: number[],
  perm: number[],
): T {
  const n = dims.length;
  const outDims = perm.map((p) => dims[p]!);
  const inStride = new Array<number>(n).fill(1);
  for (let i = n - 2; i >= 0; i--) inStride[i] = inStride[i + 1]! * dims[i + 1]!;
  const stride = perm.map((p) => inStride[p]!);
  const out = new (src.constructor as new (len: number) => T)(src.length);
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += idx[i]! * stride[i]!;
    out[o] = src[s]!;
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i]! < outDims[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** HWIO [kh, kw, cin, cout] -> OHWI [cout, kh, kw, cin] (TFLite CONV_2D filters). */
export const HWIO_TO_OHWI = [3, 0, 1, 2];
/** HWIO [kh, kw, cin, cout] -> OIHW [cout, cin, kh, kw] (ONNX Conv weights). */
export const HWIO_TO_OIHW = [3, 2, 0, 1];
/** [in, out] -> [out, in] (TFLite FULLY_CONNECTED weights). */
export const IO_TO_OI = [1, 0];

/** HWIO [kh, kw, cin, cout] -> OIHW [cout, cin, kh, kw]. */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  return permute(w, [kh, kw, cin, cout], HWIO_TO_OIHW);
}
