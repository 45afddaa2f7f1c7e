/**
 * Testers of the quantized-layer kernels (assembly/quant.ts), in the style of kernels.test.ts:
 * randomized shapes, buffers at random offsets with guard bytes, outputs prefilled, SIMD and
 * scalar builds, the whole range in one call and split in 3 parts like threads. Integer paths
 * must be bit-identical across all variants; each is checked against a float64 reference with
 * the bound stated below (and in the README).
 */

import { describe, it } from "vitest";
import { padding1d } from "../dist/arch.js";
import { splitRange } from "../dist/executor.js";
import { QP_BLOCK_BYTES, QP_OUT_MODE } from "../dist/gen/layout.js";
import { unpackInt4 } from "../dist/int4.js";
import { writeParamBlock } from "../dist/param-block.js";
import { mulberry32 } from "../dist/random.js";
import {
  nmse,
  type QuantConvCase,
  refConv2d,
  refDynamicParams,
  refMaxPool,
  refQuantAdd,
  refQuantConv,
  refQuantGap,
  refQuantize,
} from "../dist/reference.js";
import type { KernelExports } from "../dist/wasm.js";
import { GuardedArena, ISAS } from "./guarded-arena.js";
import { kernelShapes, NAMED_SHAPES, type ShapeLimits, winogradShapes } from "./kernel-shapes.js";
import { exactGemm, IN_PLACE_SHAPES, im2colU7, randomRdotCase } from "./rdot-cases.js";

const SPLITS = [1, 3];

/**
 * Bounds. qs8 GEMM, f32 output: NMSE 1e-12 against float64 of the same integer inputs (the int32
 * sum is exact; the epilogue rounds twice in f32). int8 outputs (GEMM, add, quantize): within 1
 * of the float64 rounding (f32 multiply by 1/scale may move a value across a rounding tie).
 * f16-weight GEMM and f16-weight Winograd F(2x2,3x3) layer: NMSE 1e-10 against float64 with the
 * widened weights, and bit-identical to the f32 kernels on those weights. Max pool and dequantize: exact.
 */
export const QBOUNDS = { qgemmF32: 1e-12, int8Lsb: 1, f16gemm: 1e-10, f16wino: 1e-10, gap: 1e-12 };

class Arena extends GuardedArena {
  constructor(rand: () => number) {
    super(rand, 32 << 20);
  }
  /** Parameter block: scale, zero point, 1/scale, output mode, output 1/scale, output zero point. */
  qp(s: number, z: number, out?: { scale: number; zeroPoint: number }): number {
    const a = this.alloc(QP_BLOCK_BYTES);
    writeParamBlock(new DataView(this.memory.buffer), a, s, z, out);
    return a;
  }
}

const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const randI8 = (n: number, rand: () => number, lo = -128, hi = 127): Int8Array =>
  Int8Array.from({ length: n }, () => int(rand, lo, hi));

function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) throw new Error(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

interface ConvGeom {
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

/** Random shapes of the quantized testers (kernel 1..5 x 1..4, stride 1..3). */
const QLIMITS: ShapeLimits = { h: 9, w: 11, cin: 21, cout: 27, kh: 5, kw: 4, s: 3 };

/** Named shapes come first in the table: only the random ones after them get varied. */
const isRandom = (trial: number): boolean => trial >= NAMED_SHAPES.length;

function indirection(ar: Arena, x: number, g: ConvGeom, elemBytes: number, zero: number): number {
  const ind = ar.alloc(g.oh * g.ow * g.kh * g.kw * 4);
  let o = ind >>> 2;
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++) {
          const iy = oy * g.sh - g.pt + ky;
          const ix = ox * g.sw - g.pl + kx;
          ar.u32[o++] =
            iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x + (iy * g.w + ix) * g.cin * elemBytes : zero;
        }
  return ind;
}

interface QConvCase extends QuantConvCase {
  g: ConvGeom;
  int8Out: boolean;
  outQ: { scale: number; zeroPoint: number };
}

function randomQConv(rand: () => number, g: ConvGeom, trial: number, residual: boolean): QConvCase {
  const int8Out = residual || trial % 3 === 0;
  const M = g.oh * g.ow;
  return {
    g,
    relu: trial % 2,
    int8Out,
    X: randI8(g.h * g.w * g.cin, rand, trial % 4 === 0 ? -128 : -60, 127),
    Wq: randI8(g.kh * g.kw * g.cin * g.cout, rand, -127, 127),
    sx: 0.01 + rand() * 0.05,
    zx: int(rand, -128, 40),
    sw: Float32Array.from({ length: g.cout }, () => 0.001 + rand() * 0.02),
    bias: Float32Array.from({ length: g.cout }, () => (rand() * 2 - 1) * 0.5),
    outQ: { scale: 0.02 + rand() * 0.1, zeroPoint: int(rand, -128, 20) },
    res: residual
      ? { q: randI8(M * g.cout, rand), scale: 0.01 + rand() * 0.05, zeroPoint: int(rand, -100, 100) }
      : undefined,
  };
}

function checkQConv(q: QConvCase, got: ArrayLike<number>, ref: Float64Array, what: string): void {
  if (q.int8Out) {
    for (let i = 0; i < ref.length; i++) {
      const want = refQuantize(ref[i]!, q.outQ.scale, q.outQ.zeroPoint);
      if (Math.abs(got[i]! - want) > QBOUNDS.int8Lsb)
        throw new Error(`${what}: element ${i} is ${got[i]}, want ${want}`);
    }
  } else {
    for (let i = 0; i < got.length; i++)
      if (Number.isNaN(got[i]!)) throw new Error(`${what}: ${i} not written`);
    const e = nmse(got, ref);
    if (!(e <= QBOUNDS.qgemmF32)) throw new Error(`${what}: nmse ${e}`);
  }
}

/** Places a case's tensors; returns what both the direct and the Winograd path need. */
function placeQConv(ar: Arena, isa: (typeof ISAS)[number], q: QConvCase, merge = false, pairMajor = false) {
  const { g } = q;
  const k = ar.k[isa];
  const taps = g.kh * g.kw;
  // merged taps (one input channel): the weights [ks][1][cout] are packed as [1][ks][cout]
  const kc = merge ? taps : g.cin;
  const ks = merge ? 1 : taps;
  const M = g.oh * g.ow;
  const x = ar.bytes(q.X);
  const src = ar.bytes(q.Wq);
  const sc = ar.floats(q.sw);
  const bs = ar.floats(q.bias);
  const w = ar.alloc(Math.ceil(g.cout / 8) * k.qs8_panel_bytes(kc, ks));
  k.qs8_pack_weights(kc, ks, g.cout, src, sc, bs, w, pairMajor ? 1 : 0);
  const qp = ar.qp(q.sx, q.zx, q.int8Out ? q.outQ : undefined);
  const ob = q.int8Out ? 1 : 4;
  const c = ar.alloc(M * g.cout * ob, q.int8Out);
  if (q.int8Out) ar.u8.fill(0x5a, c, c + M * g.cout);
  else ar.f32.fill(Number.NaN, c >>> 2, (c >>> 2) + M * g.cout);
  let rq = 0;
  let rd = 0;
  if (q.res) {
    const r = ar.bytes(q.res.q);
    rq = ar.qp(q.res.scale, q.res.zeroPoint);
    rd = (r - c) >>> 0;
  }
  return { k, x, w, qp, c, ob, rq, rd, M, ks, kc };
}

function readQOut(ar: Arena, q: QConvCase, c: number): ArrayLike<number> {
  const n = q.g.oh * q.g.ow * q.g.cout;
  return q.int8Out ? ar.i8.slice(c, c + n) : ar.f32.slice(c >>> 2, (c >>> 2) + n);
}

/**
 * The direct path: im2col16 from the geometry then the 16-bit GEMM, split in T parts by rows or
 * columns; one input channel with several taps runs with merged taps, as the planner does.
 */
function runDirect(ar: Arena, isa: (typeof ISAS)[number], q: QConvCase, T: number, byRows: boolean) {
  const { g } = q;
  const merge = g.cin === 1 && g.kh * g.kw > 1;
  const p = placeQConv(ar, isa, q, merge);
  const K16 = p.k.qs8_k16(p.kc, p.ks);
  // whole tiles of 4 rows (the interleaved layout)
  const a16 = ar.alloc(Math.ceil(p.M / 4) * 4 * K16 * 2);
  for (let t = 0; t < T; t++) {
    const [m0, m1] = splitRange(p.M, T, t);
    if (m0 < m1)
      p.k.qs8_im2col16(
        m0,
        m1,
        g.h,
        g.w,
        g.cin,
        g.ow,
        g.kh,
        g.kw,
        g.sh,
        g.sw,
        g.pt,
        g.pl,
        p.x,
        a16,
        p.qp,
        merge ? 1 : 0,
      );
  }
  for (let t = 0; t < T; t++) {
    const [m0, m1] = byRows ? splitRange(p.M, T, t, 4) : [0, p.M];
    const [n0, n1] = byRows ? [0, g.cout] : splitRange(g.cout, T, t, 8);
    if (m0 < m1 && n0 < n1)
      p.k.qs8_gemm16_run(m0, m1, n0, n1, p.kc, p.ks, a16, p.w, p.c, g.cout * p.ob, q.relu, p.qp, p.rq, p.rd);
  }
  ar.checkGuards();
  return readQOut(ar, q, p.c);
}

describe("qs8 im2col16 + 16-bit GEMM (qs8-gemm16-4x8c2: i16 pairs x int8, i32x4.dot_i16x8_s)", () => {
  it("convolutions of random shapes: f32 and int8 outputs, fused residuals, match float64; all variants bit-identical", () => {
    const rand = mulberry32(5);
    const ar = new Arena(rand);
    // The table's one-channel shapes (the stems: wide kernels on wider maps) run with merged
    // taps, whole rows of taps gathered at once inside the image.
    for (const [trial, g0] of kernelShapes(5, 40, QLIMITS).entries()) {
      // every eighth random layer has one input channel (the stem's case: merged taps)
      const g = isRandom(trial) && trial % 8 === 7 ? { ...g0, cin: 1 } : g0;
      const q = randomQConv(rand, g, trial, trial % 5 === 4);
      const ref = refQuantConv(q);
      let first: ArrayLike<number> | undefined;
      for (const isa of ISAS) {
        for (const T of SPLITS) {
          ar.reset();
          const got = runDirect(ar, isa, q, T, trial % 2 === 0);
          const what = `qs8-gemm16-4x8c2-${isa} ${JSON.stringify(q.g)} relu=${q.relu} int8Out=${q.int8Out} residual=${!!q.res} T=${T}`;
          checkQConv(q, got, ref, what);
          if (first) sameBytes(got, first, what);
          else first = got;
        }
      }
    }
  });
});

describe("qs8-gemm16-4x8c2 on 7-bit activations (bytes in [0, 127], zero point 0), raw int32 output (mode 2)", () => {
  it("equals the exact integer GEMM over the shape table, both builds, whole and split (4 bytes per element in every panel)", () => {
    const rand = mulberry32(21);
    const ar = new Arena(rand);
    const dv = new DataView(ar.memory.buffer);
    const i32 = new Int32Array(ar.memory.buffer);
    for (const [trial, g] of [...kernelShapes(21, 30), ...IN_PLACE_SHAPES].entries()) {
      const t = randomRdotCase(rand, g, trial % 7 === 6);
      const taps = g.kh * g.kw;
      const k = taps * g.cin;
      const M = g.oh * g.ow;
      const want = exactGemm(im2colU7(t, k), k, t.w, k, g.cout);
      for (const isa of ISAS) {
        const kx = ar.k[isa];
        for (const T of SPLITS) {
          ar.reset();
          const x = ar.bytes(t.x);
          const src = ar.bytes(t.w);
          const ones = ar.floats(new Float32Array(g.cout).fill(1));
          const zeros = ar.floats(new Float32Array(g.cout));
          const qp = ar.qp(1, 0);
          dv.setInt32(qp + QP_OUT_MODE, 2, true);
          const w16 = ar.alloc(Math.ceil(g.cout / 8) * kx.qs8_panel_bytes(g.cin, taps));
          kx.qs8_pack_weights(g.cin, taps, g.cout, src, ones, zeros, w16, 0);
          const k16 = kx.qs8_k16(g.cin, taps);
          const a16 = ar.alloc(Math.ceil(M / 4) * 4 * k16 * 2);
          kx.qs8_im2col16(0, M, g.h, g.w, g.cin, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, x, a16, qp, 0);
          const c = ar.alloc(M * g.cout * 4);
          i32.fill(0x5a5a5a5a, c >>> 2, (c >>> 2) + M * g.cout);
          for (let p = 0; p < T; p++) {
            const [m0, m1] = trial % 2 ? splitRange(M, T, p, 4) : [0, M];
            const [n0, n1] = trial % 2 ? [0, g.cout] : splitRange(g.cout, T, p, 8);
            if (m0 < m1 && n0 < n1)
              kx.qs8_gemm16_run(m0, m1, n0, n1, g.cin, taps, a16, w16, c, g.cout * 4, 0, qp, 0, 0);
          }
          sameBytes(i32.slice(c >>> 2, (c >>> 2) + M * g.cout), want, `${isa} ${g.name} T=${T} int32`);
          ar.checkGuards();
        }
      }
    }
  });
});

describe("INT8 Winograd F(2x2,3x3) and F(2x3,3x3) (i16 transforms, int32 GEMMs per panel, exact output transform)", () => {
  it("is bit-identical to the direct int8 convolution for random 3x3 'same' layers, both tile forms, every build and split", () => {
    const rand = mulberry32(15);
    const ar = new Arena(rand);
    const limits: ShapeLimits = { h: 11, w: 12, cin: 40, cout: 27, kh: 3, kw: 3, s: 1 };
    for (const [trial, g] of winogradShapes(15, 30, limits).entries()) {
      const { h, w } = g;
      const q = randomQConv(rand, g, trial, trial % 4 === 3);
      // Extreme inputs and weights now and then: the int32 arithmetic must stay exact.
      if (trial % 6 === 5) {
        q.X.fill(trial % 12 === 5 ? 127 : -128);
        for (let i = 0; i < q.Wq.length; i++) q.Wq[i] = i % 2 ? 127 : -127;
      }
      const ref = refQuantConv(q);
      ar.reset();
      const direct = runDirect(ar, "scalar", q, 1, true);
      checkQConv(q, direct, ref, `direct ${JSON.stringify(g)}`);
      const th = Math.ceil(h / 2);
      const kc2 = (g.cin + 1) & ~1;
      for (const [isa, cols] of ISAS.flatMap((i) => [2, 3].map((c) => [i, c] as const))) {
        const tw = Math.ceil(w / cols);
        const tiles = th * tw;
        for (const T of SPLITS) {
          ar.reset();
          const p = placeQConv(ar, isa, q, false, true);
          const vstride = Math.ceil(tiles / 4) * 4 * kc2 * 2 + 64;
          const v = ar.alloc((cols === 3 ? 20 : 16) * vstride);
          const sb = p.k.qs8_wino_scratch_bytes(g.cin, tiles, cols);
          const scratch = ar.alloc(sb * T);
          for (let t = 0; t < T; t++) {
            const [t0, t1] = splitRange(tiles, T, t);
            if (t0 < t1) p.k.qs8_wino_input(h, w, g.cin, tw, p.x, v, vstride, t0, t1, p.qp, cols);
          }
          for (let t = 0; t < T; t++) {
            const [m0, m1] = trial % 2 ? splitRange(tiles, T, t, 4) : [0, tiles];
            const [n0, n1] = trial % 2 ? [0, g.cout] : splitRange(g.cout, T, t, 8);
            if (m0 < m1 && n0 < n1)
              p.k.qs8_wino_gemm_run(
                m0,
                m1,
                n0,
                n1,
                g.cin,
                v,
                vstride,
                p.w,
                scratch + t * sb,
                h,
                w,
                g.cout,
                tw,
                p.c,
                q.relu,
                p.qp,
                p.rq,
                p.rd,
                cols,
              );
          }
          ar.checkGuards();
          const got = readQOut(ar, q, p.c);
          sameBytes(
            got,
            direct,
            `qs8-wino-F(2x${cols})-${isa} ${JSON.stringify(g)} residual=${!!q.res} T=${T}`,
          );
        }
      }
    }
  });
});

/** The value of IEEE binary16 bits h. */
function halfToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Random halves: normals of both signs in [2^-7, 1], some subnormals and zeros. */
function randomHalves(n: number, rand: () => number): Uint16Array {
  return Uint16Array.from({ length: n }, (_, i) =>
    i % 17 === 0
      ? int(rand, 0, 0x3ff) | (rand() < 0.5 ? 0x8000 : 0)
      : int(rand, 0x2000, 0x3c00) | (rand() < 0.5 ? 0x8000 : 0),
  );
}

/** The manifest's `f16_widen_panels` (calledBy `f32_f16w_igemm_run`), exported by both builds. */
interface WidenPanels {
  f16_widen_panels(panels: number, k: number, src: number, dst: number): void;
}

describe("f16-weight IGEMM (f32-f16w-igemm, widened per cache block)", () => {
  it("f16_widen_panels gives every one of the 65536 halves its value (exponent 31: 2^16 (1 + m/1024)), both builds", () => {
    const ar = new Arena(mulberry32(3));
    const K = 65536 / 8;
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const isa of ISAS) {
      ar.reset();
      // One panel: 32 bytes of biases, then K rows of 8 halves.
      const src = ar.alloc(32 + K * 16);
      ar.u8.set(new Uint8Array(all.buffer), src + 32);
      const dst = ar.alloc((K + 1) * 32);
      // an export only f32_f16w_igemm_run calls, so KernelExports (what the host calls) leaves it out
      const k = ar.k[isa] as unknown as WidenPanels;
      k.f16_widen_panels(1, K, src, dst);
      ar.checkGuards();
      const got = ar.read(dst + 32, 65536);
      for (let h = 0; h < 65536; h++) {
        const e = (h >>> 10) & 0x1f;
        const want = e === 31 ? (h & 0x8000 ? -1 : 1) * (1 + (h & 0x3ff) / 1024) * 2 ** 16 : halfToF32(h);
        if (!Object.is(got[h], Math.fround(want)))
          throw new Error(`${isa}: half ${h.toString(16)} widened to ${got[h]}, want ${want}`);
      }
    }
  });

  it("matches float64 with the widened weights and is bit-identical to the f32 IGEMM on them", () => {
    const rand = mulberry32(9);
    const ar = new Arena(rand);
    for (const [trial, s] of kernelShapes(9, 24, QLIMITS).entries()) {
      const g = { ...s };
      // Wide enough random layers now and then that the widening runs over several column blocks.
      if (isRandom(trial) && trial % 6 === 5) {
        g.cout = 300 + int(rand, 0, 40);
        g.cin = 40;
      }
      const relu = trial % 2;
      const M = g.oh * g.ow;
      const ks = g.kh * g.kw;
      const K = ks * g.cin;
      const X = Float32Array.from({ length: g.h * g.w * g.cin }, () => rand() * 2 - 1);
      const Wh = randomHalves(K * g.cout, rand);
      const Wf = Float32Array.from(Wh, halfToF32);
      const bias = Float32Array.from({ length: g.cout }, () => rand() - 0.5);
      const ref = refConv2d(
        { shape: [g.h, g.w, g.cin], data: Float64Array.from(X) },
        Wf,
        bias,
        [g.kh, g.kw],
        [g.sh, g.sw],
        { top: g.pt, left: g.pl, oh: g.oh, ow: g.ow },
        g.cout,
        relu === 1,
      ).data;
      let first: Float32Array | undefined;
      for (const isa of ISAS) {
        for (const T of SPLITS) {
          ar.reset();
          const k = ar.k[isa];
          const x = ar.floats(X);
          const zero = ar.alloc(g.cin * 4);
          ar.f32.fill(0, zero >>> 2, (zero >>> 2) + g.cin);
          const ind = indirection(ar, x, g, 4, zero);
          const src = ar.bytes(Wh);
          const bs = ar.floats(bias);
          const w = ar.alloc(Math.ceil(g.cout / 8) * (32 + K * 16));
          k.f16_pack_weights(K, g.cout, src, bs, w);
          const panel32 = (K + 1) * 32;
          const scratchBytes =
            Math.min(Math.ceil(g.cout / 8), Math.max(1, Math.floor(131072 / panel32))) * panel32;
          const scratch = ar.alloc(scratchBytes * T);
          const c = ar.alloc(M * g.cout * 4);
          ar.f32.fill(Number.NaN, c >>> 2, (c >>> 2) + M * g.cout);
          for (let t = 0; t < T; t++) {
            const [n0, n1] = trial % 2 === 0 ? [0, g.cout] : splitRange(g.cout, T, t, 8);
            const [m0, m1] = trial % 2 === 0 ? splitRange(M, T, t, 4) : [0, M];
            if (m0 < m1 && n0 < n1)
              k.f32_f16w_igemm_run(
                4,
                m0,
                m1,
                n0,
                n1,
                g.cin,
                ks,
                ind,
                w,
                c,
                g.cout * 4,
                relu,
                scratch + t * scratchBytes,
              );
          }
          ar.checkGuards();
          const got = ar.f32.slice(c >>> 2, (c >>> 2) + M * g.cout);
          const what = `f32-f16w-igemm-4x8-${isa} ${JSON.stringify(g)} T=${T}`;
          for (let i = 0; i < got.length; i++)
            if (Number.isNaN(got[i]!)) throw new Error(`${what}: ${i} not written`);
          const e = nmse(got, ref);
          if (!(e <= QBOUNDS.f16gemm)) throw new Error(`${what}: nmse ${e}`);
          if (first) sameBytes(got, first, what);
          else first = got;
          // The f32 IGEMM on the widened weights gives the same bits.
          const w32src = ar.floats(Wf);
          const w32 = ar.alloc(Math.ceil(g.cout / 8) * panel32);
          k.f32_pack_weights(K, g.cout, w32src, bs, w32);
          const c2 = ar.alloc(M * g.cout * 4);
          k.f32_igemm_run(4, 0, M, 0, g.cout, g.cin, ks, ind, w32, c2, g.cout * 4, relu);
          sameBytes(ar.f32.slice(c2 >>> 2, (c2 >>> 2) + M * g.cout), got, `${what} vs f32 igemm`);
        }
      }
    }
  });
});

/** One f16 Winograd F(2x2,3x3) layer: its shape, inputs and the float64 reference. */
interface F16WinoCase {
  h: number;
  w: number;
  cin: number;
  cout: number;
  relu: number;
  X: Float32Array;
  Wh: Uint16Array;
  bias: Float32Array;
  ref: Float64Array;
}

function f16WinoCase(
  s: { h: number; w: number; cin: number; cout: number },
  relu: number,
  rand: () => number,
): F16WinoCase {
  const { h, w, cin, cout } = s;
  const X = Float32Array.from({ length: h * w * cin }, () => rand() * 2 - 1);
  const Wh = randomHalves(9 * cin * cout, rand);
  const bias = Float32Array.from({ length: cout }, () => rand() - 0.5);
  const x = { shape: [h, w, cin], data: Float64Array.from(X) };
  const ref = refConv2d(
    x,
    Float32Array.from(Wh, halfToF32),
    bias,
    [3, 3],
    [1, 1],
    "same",
    cout,
    relu === 1,
  ).data;
  return { h, w, cin, cout, relu, X, Wh, bias, ref };
}

/**
 * Runs the f32 input transform, the 16 GEMMs (`gemms`, given V and M) and the f32 output
 * transform of a Winograd F(2x2,3x3) layer, the transforms split in `parts` like threads.
 */
function runWinograd(
  ar: Arena,
  k: KernelExports,
  c: F16WinoCase,
  parts: number,
  gemms: (v: number, vstride: number, m: number, mstride: number, tiles: number) => void,
): Float32Array {
  const { h, w, cin, cout } = c;
  const tw = Math.ceil(w / 2);
  const tiles = Math.ceil(h / 2) * tw;
  const x = ar.floats(c.X);
  const bs = ar.floats(c.bias);
  const v = ar.out(16 * tiles * cin);
  const m = ar.out(16 * tiles * cout);
  const y = ar.out(h * w * cout);
  for (let t = 0; t < parts; t++) {
    const [t0, t1] = splitRange(tiles, parts, t);
    if (t0 < t1) k.f32_wino_input(h, w, cin, tw, x, v, tiles * cin * 4, t0, t1);
  }
  gemms(v, tiles * cin * 4, m, tiles * cout * 4, tiles);
  for (let t = 0; t < parts; t++) {
    const [t0, t1] = splitRange(tiles, parts, t);
    if (t0 < t1) k.f32_wino_output(h, w, cout, tw, m, tiles * cout * 4, bs, y, c.relu, t0, t1);
  }
  return ar.read(y, h * w * cout);
}

describe("f16-weight Winograd F(2x2,3x3) GEMMs (f32-f16w-wino, weights transformed per block of panels)", () => {
  it(`match float64 with the widened weights within NMSE ${QBOUNDS.f16wino}, all variants bit-identical and equal to the f32 Winograd layer on those weights`, () => {
    const rand = mulberry32(19);
    const ar = new Arena(rand);
    // Wide layers too: several blocks of panels (cin 40: 12 panels a block), one panel a block (cin 600).
    const wide = [
      { h: 5, w: 7, cin: 40, cout: 300 },
      { h: 3, w: 4, cin: 600, cout: 20 },
      { h: 12, w: 13, cin: 64, cout: 64 },
    ];
    for (const [trial, s] of [...winogradShapes(19, 18, QLIMITS), ...wide].entries()) {
      const c = f16WinoCase(s, trial % 2, rand);
      const { cin, cout } = c;
      let first: Float32Array | undefined;
      for (const isa of ISAS) {
        const k = ar.k[isa];
        for (const tile of cin * cout > 4096 ? [4] : [1, 4, 7]) {
          for (const parts of SPLITS) {
            ar.reset();
            const w = ar.alloc(Math.ceil(cout / 8) * (32 + 9 * cin * 16));
            k.f16_pack_weights(9 * cin, cout, ar.bytes(c.Wh), ar.floats(c.bias), w);
            const sb = k.f16_wino_scratch_bytes(cin, cout);
            const scratch = ar.alloc(sb * parts);
            const got = runWinograd(ar, k, c, parts, (v, vstride, m, mstride, tiles) => {
              for (let t = 0; t < parts; t++) {
                const byRows = trial % 2 === 1;
                const [m0, m1] = byRows ? splitRange(tiles, parts, t, tile) : [0, tiles];
                const [n0, n1] = byRows ? [0, cout] : splitRange(cout, parts, t, 8);
                if (m0 < m1 && n0 < n1)
                  k.f32_f16w_wino_gemm_run(
                    tile,
                    m0,
                    m1,
                    n0,
                    n1,
                    cin,
                    cout,
                    v,
                    vstride,
                    w,
                    m,
                    mstride,
                    scratch + t * sb,
                  );
              }
            });
            ar.checkGuards();
            const what = `f32-f16w-wino-${tile}x8-${isa} ${JSON.stringify(s)} relu=${c.relu} T=${parts}`;
            for (let i = 0; i < got.length; i++)
              if (Number.isNaN(got[i]!)) throw new Error(`${what}: ${i} not written`);
            const e = nmse(got, c.ref);
            if (!(e <= QBOUNDS.f16wino)) throw new Error(`${what}: nmse ${e}`);
            if (first) sameBytes(got, first, what);
            else first = got;
          }
        }
        // The f32 Winograd layer (weights transformed at load) on the widened weights: the same bits.
        ar.reset();
        const E = 16 * Math.ceil(cout / 8) * (cin + 1) * 32;
        const wp = ar.alloc(E);
        ar.u8.fill(0, wp, wp + E);
        k.f32_wino_pack_weights(cin, cout, ar.floats(Float32Array.from(c.Wh, halfToF32)), wp);
        const f32 = runWinograd(ar, k, c, 1, (v, vstride, m, mstride, tiles) => {
          for (let e = 0; e < 16; e++)
            k.f32_gemm_run(
              4,
              0,
              tiles,
              0,
              cout,
              cin,
              v + e * vstride,
              cin * 4,
              wp + (e * E) / 16,
              m + e * mstride,
              cout * 4,
              0,
            );
        });
        sameBytes(f32, first!, `f32-wino3x3-${isa} ${JSON.stringify(s)} vs f16 Winograd`);
      }
    }
  });
});

describe("quantize, dequantize, dynamic range, int8 add, max pool, global average pool", () => {
  it("match float64 within the stated bounds, bit-identical across builds and splits", () => {
    const rand = mulberry32(77);
    const ar = new Arena(rand);
    // Each shape's output length.
    for (const [trial, sh] of kernelShapes(77, 20, QLIMITS).entries()) {
      const n = sh.oh * sh.ow * sh.cout;
      const X = Float32Array.from({ length: n }, () => (rand() * 2 - 1) * 3 + (trial % 3 === 0 ? 2 : 0));
      const s = 0.005 + rand() * 0.05;
      const z = int(rand, -128, 127);
      const A = randI8(n, rand);
      const B = randI8(n, rand);
      const qa = { s: 0.01 + rand() * 0.05, z: int(rand, -128, 127) };
      const qb = { s: 0.01 + rand() * 0.05, z: int(rand, -128, 127) };
      const qy = { s: 0.02 + rand() * 0.08, z: int(rand, -128, 0) };
      const relu = trial % 2;
      const results: Record<string, ArrayLike<number>[]> = { quant: [], dequant: [], dyn: [], add: [] };
      for (const isa of ISAS) {
        for (const T of SPLITS) {
          ar.reset();
          const k = ar.k[isa];
          const what = `${isa} n=${n} T=${T}`;
          // quantize
          const x = ar.floats(X);
          const p = ar.qp(s, z);
          const y = ar.alloc(n, true);
          for (let t = 0; t < T; t++) {
            const [i0, i1] = splitRange(n, T, t, 16);
            if (i0 < i1) k.qs8_quantize(i0, i1, x, y, p);
          }
          const q = ar.i8.slice(y, y + n);
          for (let i = 0; i < n; i++) {
            const want = refQuantize(X[i]!, s, z);
            if (Math.abs(q[i]! - want) > QBOUNDS.int8Lsb)
              throw new Error(`quantize ${what}: ${i}: ${q[i]} vs ${want}`);
          }
          results.quant!.push(q);
          // dequantize: exact f32 (q - z) * s
          const d = ar.alloc(n * 4);
          for (let t = 0; t < T; t++) {
            const [i0, i1] = splitRange(n, T, t, 16);
            if (i0 < i1) k.qs8_dequantize(i0, i1, y, d, p);
          }
          const df = ar.f32.slice(d >>> 2, (d >>> 2) + n);
          for (let i = 0; i < n; i++)
            if (df[i] !== Math.fround((q[i]! - z) * Math.fround(s)))
              throw new Error(`dequantize ${what}: ${i}`);
          results.dequant!.push(df);
          // dynamic parameters: range [min(lo,0), max(hi,0)] onto [-128, 127]
          const dq = ar.qp(1, 0);
          const pad = ar.alloc(40, true);
          k.qs8_dynamic_params(n, x, dq, pad, 40);
          const { scale: ds, zeroPoint: dz } = refDynamicParams(X);
          const dv = new DataView(ar.memory.buffer);
          if (dv.getFloat32(dq, true) !== ds || dv.getInt32(dq + 4, true) !== dz)
            throw new Error(
              `dynamic params ${what}: ${dv.getFloat32(dq, true)}/${dv.getInt32(dq + 4, true)} vs ${ds}/${dz}`,
            );
          for (let i = 0; i < 40; i++) if (ar.i8[pad + i] !== dz) throw new Error(`dynamic pad ${what}`);
          // with those parameters every value lands in range (no clipping beyond rounding)
          results.dyn!.push([ds, dz]);
          // int8 add with rescaling
          const a = ar.bytes(A);
          const b = ar.bytes(B);
          const pa = ar.qp(qa.s, qa.z);
          const pb = ar.qp(qb.s, qb.z);
          const py = ar.qp(qy.s, qy.z);
          const o = ar.alloc(n, true);
          for (let t = 0; t < T; t++) {
            const [i0, i1] = splitRange(n, T, t, 16);
            if (i0 < i1) k.qs8_add(i0, i1, a, b, o, pa, pb, py, relu);
          }
          const got = ar.i8.slice(o, o + n);
          const addRef = refQuantAdd(A, B, qa, qb, qy, relu === 1);
          for (let i = 0; i < n; i++) {
            if (Math.abs(got[i]! - addRef[i]!) > QBOUNDS.int8Lsb)
              throw new Error(`qs8-add ${what}: ${i}: ${got[i]} vs ${addRef[i]}`);
          }
          results.add!.push(got);
          ar.checkGuards();
        }
      }
      for (const [name, rs] of Object.entries(results))
        for (const r of rs.slice(1)) sameBytes(r, rs[0]!, `${name} trial ${trial}`);
    }
  });

  it("int8 max pool is exact and int8 global average pool within 1e-12 NMSE", () => {
    const rand = mulberry32(31);
    const ar = new Arena(rand);
    for (const shape of kernelShapes(31, 24, QLIMITS)) {
      const { h, w, cin: c, kh, kw, sh, sw, padding } = shape;
      const ph = padding1d(padding, h, kh, sh);
      const pw = padding1d(padding, w, kw, sw);
      const X = randI8(h * w * c, rand);
      const ref = refMaxPool(
        { shape: [h, w, c], data: Float64Array.from(X) },
        [kh, kw],
        [sh, sw],
        padding,
      ).data;
      const s = 0.01 + rand() * 0.1;
      const z = int(rand, -128, 127);
      const gapRef = refQuantGap(X, h * w, c, s, z);
      for (const isa of ISAS) {
        for (const T of SPLITS) {
          ar.reset();
          const k = ar.k[isa];
          const x = ar.bytes(X);
          const n = ph.out * pw.out * c;
          const y = ar.alloc(n, true);
          for (let t = 0; t < T; t++) {
            const [p0, p1] = splitRange(ph.out * pw.out, T, t);
            if (p0 < p1) k.qs8_maxpool(h, w, c, pw.out, kh, kw, sh, sw, ph.before, pw.before, x, y, p0, p1);
          }
          sameBytes(ar.i8.slice(y, y + n), ref, `qs8-maxpool-${isa} T=${T}`);
          const qp = ar.qp(s, z);
          const g = ar.alloc(c * 4);
          ar.f32.fill(Number.NaN, g >>> 2, (g >>> 2) + c);
          for (let t = 0; t < T; t++) {
            const [c0, c1] = splitRange(c, T, t, 4);
            if (c0 < c1) k.qs8_gap(h * w, c, x, g, c0, c1, qp);
          }
          const e = nmse(ar.f32.slice(g >>> 2, (g >>> 2) + c), gapRef);
          if (!(e <= QBOUNDS.gap)) throw new Error(`qs8-gap-${isa}: nmse ${e}`);
          ar.checkGuards();
        }
      }
    }
  });
});

describe("4-bit weight unpack (qs8_unpack_int4)", () => {
  it("gives the two's complement nibbles, even column low, for odd and even widths, on both builds", () => {
    const rand = mulberry32(41);
    for (const [rows, n] of [
      [1, 1],
      [3, 7],
      [5, 8],
      [2, 33],
    ] as const) {
      const half = Math.ceil(n / 2);
      const packed = Uint8Array.from({ length: rows * half }, () => Math.floor(rand() * 256));
      const want = unpackInt4(packed, rows, n);
      for (const isa of ISAS) {
        const ar = new Arena(rand);
        const src = ar.bytes(packed);
        const dst = ar.alloc(rows * n);
        ar.k[isa].qs8_unpack_int4(rows, n, src, dst);
        ar.checkGuards();
        const got = ar.i8.slice(dst, dst + rows * n);
        if (!Buffer.from(got.buffer).equals(Buffer.from(want.buffer)))
          throw new Error(`${isa} ${rows}x${n}: differs`);
      }
    }
  });
});
