/** conv: NHWC input, HWIO weights, TensorFlow padding, optional ReLU (batch-norm folded at export). */
import { type Padding, padding1d } from "../arch.js";
import type { ConvGeometry, Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import { lowerConvF32 } from "./lower-f32.js";
import { lowerLowPrecision } from "./lower-lowp.js";
import { type Lowering, need } from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

/** The convolution's geometry on an input of shape `shape`. */
export function convGeometry(l: LayerOf<"conv">, shape: number[]): ConvGeometry {
  const [h, w, cin] = shape as [number, number, number];
  if (shape.length !== 3) throw new Error(`conv ${l.name}: input must be HWC`);
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const ph = padding1d(l.padding, h, kh, sh);
  const pw = padding1d(l.padding, w, kw, sw);
  if (ph.out < 1 || pw.out < 1) throw new Error(`conv ${l.name}: empty output`);
  return { h, w, cin, oh: ph.out, ow: pw.out, kh, kw, sh, sw, pt: ph.before, pl: pw.before };
}

function lowerConv(s: Lowering, l: LayerOf<"conv">, p: Precision): void {
  const g = convGeometry(l, need(s, l.input));
  s.precision.set(l.name, p);
  if (p === "f32") {
    lowerConvF32(s, l, g);
    return;
  }
  const layer = { name: l.name, input: l.input, g, cout: l.filters, relu: l.relu ? 1 : 0, single: false };
  lowerLowPrecision(s, layer, p, [g.kh, g.kw, g.cin, l.filters]);
}

export function refConv2d(
  x: RefTensor,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  kernel: [number, number],
  stride: [number, number],
  padding: Padding | { top: number; left: number; oh: number; ow: number },
  cout: number,
  relu: boolean,
): RefTensor {
  const [h, wd, cin] = x.shape as [number, number, number];
  const [kh, kw] = kernel;
  const [sh, sw] = stride;
  let oh: number;
  let ow: number;
  let pt: number;
  let pl: number;
  if (typeof padding === "string") {
    const ph = padding1d(padding, h, kh, sh);
    const pw = padding1d(padding, wd, kw, sw);
    [oh, ow, pt, pl] = [ph.out, pw.out, ph.before, pw.before];
  } else {
    ({ oh, ow, top: pt, left: pl } = padding);
  }
  const y = new Float64Array(oh * ow * cout);
  const acc = new Float64Array(cout);
  const xd = x.data;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let co = 0; co < cout; co++) acc[co] = b[co]!;
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * sw - pl + kx;
          if (ix < 0 || ix >= wd) continue;
          const xo = (iy * wd + ix) * cin;
          const wo = (ky * kw + kx) * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            const xv = xd[xo + ci]!;
            if (xv === 0) continue;
            const wr = wo + ci * cout;
            for (let co = 0; co < cout; co++) acc[co] += xv * w[wr + co]!;
          }
        }
      }
      const yo = (oy * ow + ox) * cout;
      for (let co = 0; co < cout; co++) y[yo + co] = relu ? Math.max(0, acc[co]!) : acc[co]!;
    }
  }
  return { shape: [oh, ow, cout], data: y };
}

export const conv: OpDef<"conv"> = {
  validate(c) {
    c.pair("kernel");
    c.pair("stride");
    c.count("filters");
    c.padding();
    c.flag("bn");
    c.flag("relu");
  },
  outputShape(l, [x]) {
    const g = convGeometry(l, x!);
    return [g.oh, g.ow, l.filters];
  },
  lower: lowerConv,
  reference: (l, [x], weights) =>
    refConv2d(
      x!,
      weights(`${l.name}.weight`),
      weights(`${l.name}.bias`),
      l.kernel,
      l.stride,
      l.padding,
      l.filters,
      l.relu,
    ),
};
