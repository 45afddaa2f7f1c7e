/**
 * Float64 reference of every op (NHWC, HWIO weights, TensorFlow padding) and of a whole graph.
 * Straightforward loops, written for clarity; the kernels are tested against these.
 */
import { type Padding, padding1d } from "./arch.js";
import type { EamGraph, TensorData } from "./format.js";

export interface RefTensor {
  shape: number[];
  data: Float64Array;
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

export function refAdd(a: RefTensor, b: RefTensor, relu: boolean): RefTensor {
  const y = new Float64Array(a.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = a.data[i]! + b.data[i]!;
    y[i] = relu ? Math.max(0, v) : v;
  }
  return { shape: a.shape, data: y };
}

export function refGap(x: RefTensor): RefTensor {
  const [h, w, c] = x.shape as [number, number, number];
  const y = new Float64Array(c);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) y[ch] += x.data[p * c + ch]!;
  for (let ch = 0; ch < c; ch++) y[ch] /= h * w;
  return { shape: [c], data: y };
}

export function refDense(x: RefTensor, w: ArrayLike<number>, b: ArrayLike<number>, units: number): RefTensor {
  const n = x.data.length;
  const y = new Float64Array(units);
  for (let j = 0; j < units; j++) y[j] = b[j]!;
  for (let i = 0; i < n; i++) {
    const xv = x.data[i]!;
    for (let j = 0; j < units; j++) y[j] += xv * w[i * units + j]!;
  }
  return { shape: [units], data: y };
}

export function refSoftmax(x: RefTensor): RefTensor {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of x.data) m = Math.max(m, v);
  const y = new Float64Array(x.data.length);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] = Math.exp(x.data[i]! - m);
  for (let i = 0; i < y.length; i++) y[i]! /= s;
  return { shape: x.shape, data: y };
}

/** Runs a whole graph in float64; returns every tensor (or only `keep` ones plus the output). */
export function refRunGraph(
  graph: EamGraph,
  weights: (name: string) => TensorData,
  input: ArrayLike<number>,
  keep?: string[],
): Map<string, RefTensor> {
  const env = new Map<string, RefTensor>();
  env.set(graph.input, { shape: graph.inputShape, data: Float64Array.from(input) });
  // Free tensors after their last use unless kept.
  const lastUse = new Map<string, number>();
  graph.layers.forEach((l, i) => {
    for (const x of l.op === "add" ? l.inputs : [l.input]) lastUse.set(x, i);
  });
  const kept = new Set(keep ?? []);
  graph.layers.forEach((l, i) => {
    const get = (n: string): RefTensor => env.get(n)!;
    let y: RefTensor;
    switch (l.op) {
      case "conv":
        y = refConv2d(
          get(l.input),
          weights(`${l.name}.weight`),
          weights(`${l.name}.bias`),
          l.kernel,
          l.stride,
          l.padding,
          l.filters,
          l.relu,
        );
        break;
      case "maxpool":
        y = refMaxPool(get(l.input), l.pool, l.stride, l.padding);
        break;
      case "add":
        y = refAdd(get(l.inputs[0]), get(l.inputs[1]), l.relu);
        break;
      case "gap":
        y = refGap(get(l.input));
        break;
      case "dropout":
        y = get(l.input);
        break;
      case "dense":
        y = refDense(get(l.input), weights(`${l.name}.weight`), weights(`${l.name}.bias`), l.units);
        break;
      case "softmax":
        y = refSoftmax(get(l.input));
        break;
    }
    env.set(l.name, y);
    if (keep) {
      for (const x of l.op === "add" ? l.inputs : [l.input]) {
        if (lastUse.get(x) === i && !kept.has(x) && x !== graph.output) env.delete(x);
      }
    }
  });
  return env;
}

/** Normalized mean squared error sum((a-b)^2) / sum(b^2) of `a` against the reference `b`. */
export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`nmse: lengths ${a.length} and ${b.length} differ`);
  let e = 0;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    e += d * d;
    r += b[i]! * b[i]!;
  }
  if (r === 0) return e === 0 ? 0 : Number.POSITIVE_INFINITY;
  return e / r;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
