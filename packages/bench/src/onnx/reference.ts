import { type ArchSpec, inferShapes, padding1d } from "@edge-audio/engine-wasm";
import type { WeightMap } from "./weights.js";

/**
 * Float64 forward pass of a ResNet spec, NHWC, written for clarity rather than speed: the yardstick
 * against which exported models (ONNX here) are checked. Returns every tensor by layer name
 * (conv/pool/add as [H, W, C], gap/dense/softmax as [C]).
 */
export function referenceForward(
  spec: ArchSpec,
  weights: WeightMap,
  crop: ArrayLike<number>,
): Map<string, Float64Array> {
  const shapes = inferShapes(spec);
  const tensors = new Map<string, Float64Array>();
  const inShape = shapes.get(spec.input)!;
  if (crop.length !== inShape[0]! * inShape[1]! * inShape[2]!)
    throw new Error(`crop has ${crop.length} values, expected ${inShape.join("x")}`);
  tensors.set(spec.input, Float64Array.from(crop));
  const get = (n: string) => tensors.get(n)!;

  for (const l of spec.layers) {
    switch (l.op) {
      case "conv": {
        const [h, w, cin] = shapes.get(l.input) as [number, number, number];
        const [oh, ow, cout] = shapes.get(l.name) as [number, number, number];
        const [kh, kw] = l.kernel;
        const [sh, sw] = l.stride;
        const pt = padding1d(l.padding, h, kh, sh).before;
        const pl = padding1d(l.padding, w, kw, sw).before;
        const x = get(l.input);
        const wt = weights.get(`${l.name}.weight`)!;
        const b = weights.get(`${l.name}.bias`)!;
        const y = new Float64Array(oh * ow * cout);
        const acc = new Float64Array(cout);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            for (let o = 0; o < cout; o++) acc[o] = b[o]!;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh + ky - pt;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw + kx - pl;
                if (ix < 0 || ix >= w) continue;
                const xo = (iy * w + ix) * cin;
                const wo = (ky * kw + kx) * cin * cout;
                for (let i = 0; i < cin; i++) {
                  const xv = x[xo + i]!;
                  const wr = wo + i * cout;
                  for (let o = 0; o < cout; o++) acc[o]! += xv * wt[wr + o]!;
                }
              }
            }
            const yo = (oy * ow + ox) * cout;
            for (let o = 0; o < cout; o++) y[yo + o] = l.relu ? Math.max(0, acc[o]!) : acc[o]!;
          }
        tensors.set(l.name, y);
        break;
      }
      case "maxpool": {
        const [h, w, ch] = shapes.get(l.input) as [number, number, number];
        const [oh, ow] = shapes.get(l.name) as [number, number, number];
        const [kh, kw] = l.pool;
        const [sh, sw] = l.stride;
        const pt = padding1d(l.padding, h, kh, sh).before;
        const pl = padding1d(l.padding, w, kw, sw).before;
        const x = get(l.input);
        const y = new Float64Array(oh * ow * ch).fill(Number.NEGATIVE_INFINITY);
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh + ky - pt;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw + kx - pl;
                if (ix < 0 || ix >= w) continue;
                for (let c = 0; c < ch; c++) {
                  const v = x[(iy * w + ix) * ch + c]!;
                  const yi = (oy * ow + ox) * ch + c;
                  if (v > y[yi]!) y[yi] = v;
                }
              }
            }
        tensors.set(l.name, y);
        break;
      }
      case "add": {
        const a = get(l.inputs[0]);
        const b = get(l.inputs[1]);
        const y = new Float64Array(a.length);
        for (let i = 0; i < a.length; i++) {
          const s = a[i]! + b[i]!;
          y[i] = l.relu ? Math.max(0, s) : s;
        }
        tensors.set(l.name, y);
        break;
      }
      case "gap": {
        const [h, w, ch] = shapes.get(l.input) as [number, number, number];
        const x = get(l.input);
        const y = new Float64Array(ch);
        for (let p = 0; p < h * w; p++) for (let c = 0; c < ch; c++) y[c]! += x[p * ch + c]!;
        for (let c = 0; c < ch; c++) y[c]! /= h * w;
        tensors.set(l.name, y);
        break;
      }
      case "dropout":
        tensors.set(l.name, get(l.input));
        break;
      case "dense": {
        const x = get(l.input);
        const wt = weights.get(`${l.name}.weight`)!;
        const b = weights.get(`${l.name}.bias`)!;
        const y = Float64Array.from(b);
        for (let i = 0; i < x.length; i++)
          for (let o = 0; o < l.units; o++) y[o]! += x[i]! * wt[i * l.units + o]!;
        tensors.set(l.name, y);
        break;
      }
      case "softmax": {
        const x = get(l.input);
        let m = Number.NEGATIVE_INFINITY;
        for (const v of x) m = Math.max(m, v);
        const y = x.map((v) => Math.exp(v - m));
        const s = y.reduce((a, v) => a + v, 0);
        for (let i = 0; i < y.length; i++) y[i]! /= s;
        tensors.set(l.name, y);
        break;
      }
    }
  }
  return tensors;
}
