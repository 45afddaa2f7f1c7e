/** maxpool: NHWC, TensorFlow padding (padded positions never win). */
import { type Padding, padding1d } from "../arch.js";
import type { OpTemplate, Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import { asF32, asI8, emit, isInt8, type Lowering, need, tensor } from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

function lowerMaxpool(s: Lowering, l: LayerOf<"maxpool">, p: Precision): void {
  s.shapes.set(l.name, maxpool.outputShape(l, [need(s, l.input)]));
  const [h, w, c] = need(s, l.input) as [number, number, number];
  const [kh, kw] = l.pool;
  const [sh, sw] = l.stride;
  const ph = padding1d(l.padding, h, kh, sh);
  const pw = padding1d(l.padding, w, kw, sw);
  const name = l.name;
  const q = isInt8(p);
  s.precision.set(name, q ? "int8" : "f32");
  const input = q ? asI8(s, l.input, name) : asF32(s, l.input);
  if (q) {
    s.dtypes.set(name, "i8");
    s.quant.set(name, s.quant.get(input)!);
    s.qpKey.set(name, s.qpKey.get(input)!);
  } else s.dtypes.set(name, "f32");
  const op: OpTemplate = {
    kind: q ? "qmaxpool" : "maxpool",
    layer: name,
    ih: h,
    iw: w,
    c,
    oh: ph.out,
    ow: pw.out,
    kh,
    kw,
    sh,
    sw,
    pt: ph.before,
    pl: pw.before,
    x: tensor(input),
    y: tensor(name),
    single: false,
  };
  emit(s, op, [input], name);
}

export function refMaxPool(
  x: RefTensor,
  pool: [number, number],
  stride: [number, number],
  padding: Padding,
): RefTensor {
  const [h, w, c] = x.shape as [number, number, number];
  const ph = padding1d(padding, h, pool[0], stride[0]);
  const pw = padding1d(padding, w, pool[1], stride[1]);
  const y = new Float64Array(ph.out * pw.out * c);
  for (let oy = 0; oy < ph.out; oy++) {
    for (let ox = 0; ox < pw.out; ox++) {
      for (let ch = 0; ch < c; ch++) {
        let m = Number.NEGATIVE_INFINITY;
        for (let ky = 0; ky < pool[0]; ky++) {
          const iy = oy * stride[0] - ph.before + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < pool[1]; kx++) {
            const ix = ox * stride[1] - pw.before + kx;
            if (ix < 0 || ix >= w) continue;
            m = Math.max(m, x.data[(iy * w + ix) * c + ch]!);
          }
        }
        y[(oy * pw.out + ox) * c + ch] = m;
      }
    }
  }
  return { shape: [ph.out, pw.out, c], data: y };
}

export const maxpool: OpDef<"maxpool"> = {
  validate(c) {
    c.pair("pool");
    c.pair("stride");
    c.padding();
  },
  outputShape(l, [x]) {
    const [h, w, c] = x as [number, number, number];
    if (x!.length !== 3) throw new Error(`maxpool ${l.name}: input must be HWC, got [${x}]`);
    return [
      padding1d(l.padding, h, l.pool[0], l.stride[0]).out,
      padding1d(l.padding, w, l.pool[1], l.stride[1]).out,
      c,
    ];
  },
  lower: lowerMaxpool,
  reference: (l, [x]) => refMaxPool(x!, l.pool, l.stride, l.padding),
};
