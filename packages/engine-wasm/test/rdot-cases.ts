/**
 * Convolutions on 7-bit activations (bytes in [0, 127], zero point 0) as GEMMs, shared by the
 * 16-bit GEMM's tester (quant-kernels.test.ts) and the relaxed GEMM's (relaxed.test.ts): random
 * cases over the shape table, their im2col rows and the exact integer result.
 */
import type { ShapeGeometry } from "./kernel-shapes.js";

/** A convolution on 7-bit activations: x u7 NHWC, w int8 [taps][cin][cout]. */
export interface RdotCase {
  g: ShapeGeometry;
  x: Uint8Array;
  w: Int8Array;
}

/** Random activations in [0, 127] and weights in [-127, 127]; `extreme`: all 127 and weights -128 / 127. */
export function randomRdotCase(rand: () => number, g: ShapeGeometry, extreme: boolean): RdotCase {
  const taps = g.kh * g.kw;
  const x = new Uint8Array(g.h * g.w * g.cin).map(() => (extreme ? 127 : Math.floor(rand() * 128)));
  const w = new Int8Array(taps * g.cin * g.cout).map((_, i) =>
    extreme ? (i % 3 ? -128 : 127) : Math.floor(rand() * 255) - 127,
  );
  return { g, x, w };
}

/** im2col rows of the case's 7-bit activations: taps x cin values (0 outside the image), padded to k4 bytes. */
export function im2colU7(t: RdotCase, k4: number): Uint8Array {
  const { g } = t;
  const rows = new Uint8Array(g.oh * g.ow * k4);
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++) {
      const row = (oy * g.ow + ox) * k4;
      let q = 0;
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++) {
          const iy = oy * g.sh - g.pt + ky;
          const ix = ox * g.sw - g.pl + kx;
          const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
          for (let ch = 0; ch < g.cin; ch++, q++)
            rows[row + q] = inside ? t.x[(iy * g.w + ix) * g.cin + ch]! : 0;
        }
    }
  return rows;
}

/** Exact int32 result [M][cout] of the GEMM of im2col rows (k4 bytes each) and weights [k][cout]. */
export function exactGemm(rows: Uint8Array, k4: number, w: Int8Array, k: number, cout: number): Int32Array {
  const m = rows.length / k4;
  const out = new Int32Array(m * cout);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < cout; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += rows[i * k4 + q]! * w[q * cout + j]!;
      out[i * cout + j] = acc;
    }
  return out;
}

/** 1x1 stride-1 shapes whose channels are a multiple of 4 (the relaxed GEMM reads them in place). */
export const IN_PLACE_SHAPES: ShapeGeometry[] = [16, 64, 100].map((cin, i) => {
  const h = 5 + i;
  const w = 7 - i;
  return {
    name: `1x1 stride 1, cin ${cin}`,
    h,
    w,
    cin,
    cout: 8 * i + 13,
    kh: 1,
    kw: 1,
    sh: 1,
    sw: 1,
    padding: "valid",
    pt: 0,
    pl: 0,
    oh: h,
    ow: w,
  };
});
