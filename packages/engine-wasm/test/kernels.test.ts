/**
 * Kernel testers, one per op family. Every kernel (each GEMM tile, SIMD and scalar build, the
 * whole range in one call and split in the parts threads would get) runs over randomized
 * shapes against the float64 reference, with guard bytes around every buffer and the output
 * prefilled with NaN so overruns and unwritten outputs are caught. All variants must also be
 * bit-identical to each other.
 */
import { describe, it } from "vitest";
import { padding1d } from "../dist/arch.js";
import { splitRange } from "../dist/executor.js";
import { mulberry32 } from "../dist/random.js";
import {
  nmse,
  type RefTensor,
  refAdd,
  refConv2d,
  refDense,
  refGap,
  refMaxPool,
  refSoftmax,
} from "../dist/reference.js";
import { GEMM_TILES, type KernelExports } from "../dist/wasm.js";
import { GuardedArena, ISAS } from "./guarded-arena.js";
import { describeShape, kernelShapes, RESNET_3X3_SHAPES, winogradShapes } from "./kernel-shapes.js";

const THREAD_SPLITS = [1, 3];

/**
 * Error bounds (normalized MSE against float64), also stated in the README. The global average
 * pool is held to an element-wise bound instead (gapErrorBound).
 */
export const BOUNDS = { gemm: 1e-10, conv: 1e-10, wino4: 1e-9, maxpool: 0, add: 1e-13, softmax: 1e-12 };

/** Unit roundoff of float32. */
const F32_U = 2 ** -24;

/**
 * Largest error of an f32 mean of `n` values whose absolute values sum to `absSum`, with exact
 * mean `mean`: n - 1 additions in any order (the classic recursive-summation bound
 * gamma_(n-1) * sum|x|, Higham, "Accuracy and Stability of Numerical Algorithms", 4.2), the inputs'
 * own rounding to f32 excluded (the reference gets the same f32 inputs), then one scaling by 1/n
 * and the store, each within one unit roundoff of the result.
 */
export function gapErrorBound(n: number, absSum: number, mean: number): number {
  const gamma = ((n + 1) * F32_U) / (1 - (n + 1) * F32_U);
  return (gamma * absSum) / n + 2 * F32_U * Math.abs(mean);
}

function checkGapAgainst(
  got: Float32Array,
  x: Float32Array,
  hw: number,
  ref: Float64Array,
  what: string,
): void {
  const c = got.length;
  for (let ch = 0; ch < c; ch++) {
    let absSum = 0;
    for (let p = 0; p < hw; p++) absSum += Math.abs(x[p * c + ch]!);
    const bound = gapErrorBound(hw, absSum, ref[ch]!);
    const err = Math.abs(got[ch]! - ref[ch]!);
    if (!(err <= bound)) throw new Error(`${what}: channel ${ch} error ${err} > bound ${bound}`);
  }
}

function randn(n: number, rand: () => number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rand() * 2 - 1) * scale;
  return x;
}
const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

function expectBitEqual(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new Error(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

function checkAgainst(got: Float32Array, ref: Float64Array, bound: number, what: string): void {
  for (let i = 0; i < got.length; i++)
    if (Number.isNaN(got[i]!)) throw new Error(`${what}: output ${i} not written`);
  const e = nmse(got, ref);
  if (!(e <= bound)) throw new Error(`${what}: nmse ${e} > ${bound}`);
}

describe("f32 GEMM micro-kernels (f32-gemm-MRx8)", () => {
  it("every tile, SIMD and scalar, whole and split, matches float64 and each other", () => {
    const rand = mulberry32(11);
    const ar = new GuardedArena(rand);
    // Each shape as the GEMM of its convolution: M output pixels, K = taps x cin, N = cout.
    for (const [trial, s] of kernelShapes(11, 30).entries()) {
      const M = s.oh * s.ow;
      const N = s.cout;
      const K = s.kh * s.kw * s.cin;
      const relu = trial % 2;
      const A = randn(M * K, rand);
      const B = randn(K * N, rand, 0.5);
      const bias = randn(N, rand, 0.2);
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) {
        const r = refDense({ shape: [K], data: Float64Array.from(A.subarray(m * K, m * K + K)) }, B, bias, N);
        for (let n = 0; n < N; n++) want[m * N + n] = relu ? Math.max(0, r.data[n]!) : r.data[n]!;
      }
      let first: Float32Array | undefined;
      for (const isa of ISAS) {
        for (const tile of GEMM_TILES) {
          for (const T of THREAD_SPLITS) {
            ar.reset();
            const k = ar.k[isa];
            const a = ar.floats(A);
            const src = ar.floats(B);
            const bs = ar.floats(bias);
            const w = ar.alloc(Math.ceil(N / 8) * (K + 1) * 32);
            k.f32_pack_weights(K, N, src, bs, w);
            const c = ar.out(M * N);
            // Threads split along M (tiles) or N (panels) exactly as the executor does.
            for (let t = 0; t < T; t++) {
              if (trial % 2 === 0) {
                const [m0, m1] = splitRange(M, T, t, tile);
                if (m0 < m1) k.f32_gemm_run(tile, m0, m1, 0, N, K, a, K * 4, w, c, N * 4, relu);
              } else {
                const [n0, n1] = splitRange(N, T, t, 8);
                if (n0 < n1) k.f32_gemm_run(tile, 0, M, n0, n1, K, a, K * 4, w, c, N * 4, relu);
              }
            }
            ar.checkGuards();
            const got = ar.read(c, M * N);
            const what = `f32-gemm-${tile}x8-${isa} ${describeShape(s)} M=${M} N=${N} K=${K} relu=${relu} T=${T}`;
            checkAgainst(got, want, BOUNDS.gemm, what);
            if (first) expectBitEqual(got, first, what);
            else first = got;
          }
        }
      }
    }
  });
});

/** Indirection buffer of a conv, built independently of the planner. */
function indirection(
  ar: GuardedArena,
  x: number,
  h: number,
  w: number,
  cin: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  oh: number,
  ow: number,
  zero: number,
): number {
  const ind = ar.alloc(oh * ow * kh * kw * 4);
  let o = ind >>> 2;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const iy = oy * sh - pt + ky;
          const ix = ox * sw - pl + kx;
          ar.u32[o++] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x + (iy * w + ix) * cin * 4 : zero;
        }
  return ind;
}

describe("f32 conv via IGEMM (f32-igemm-MRx8) and 1x1 GEMM", () => {
  it("random kernel sizes, strides, paddings and odd shapes match float64, all variants bit-identical", () => {
    const rand = mulberry32(23);
    const ar = new GuardedArena(rand);
    for (const [trial, s] of kernelShapes(23, 30).entries()) {
      const { h, w, cin, cout, kh, kw, sh, sw, padding } = s;
      const ph = padding1d(padding, h, kh, sh);
      const pw = padding1d(padding, w, kw, sw);
      const relu = trial % 2 === 1;
      const X = randn(h * w * cin, rand);
      const Wt = randn(kh * kw * cin * cout, rand, 0.4);
      const bias = randn(cout, rand, 0.1);
      const want = refConv2d(
        { shape: [h, w, cin], data: Float64Array.from(X) },
        Wt,
        bias,
        [kh, kw],
        [sh, sw],
        padding,
        cout,
        relu,
      );
      const M = ph.out * pw.out;
      const K = kh * kw * cin;
      let first: Float32Array | undefined;
      for (const isa of ISAS) {
        for (const tile of GEMM_TILES) {
          for (const T of THREAD_SPLITS) {
            ar.reset();
            const k = ar.k[isa];
            const x = ar.floats(X);
            const zero = ar.floats(new Float32Array(cin));
            const src = ar.floats(Wt);
            const bs = ar.floats(bias);
            const wp = ar.alloc(Math.ceil(cout / 8) * (K + 1) * 32);
            k.f32_pack_weights(K, cout, src, bs, wp);
            const ind = indirection(
              ar,
              x,
              h,
              w,
              cin,
              kh,
              kw,
              sh,
              sw,
              ph.before,
              pw.before,
              ph.out,
              pw.out,
              zero,
            );
            const c = ar.out(M * cout);
            for (let t = 0; t < T; t++) {
              const [m0, m1] = splitRange(M, T, t, tile);
              if (m0 < m1)
                k.f32_igemm_run(tile, m0, m1, 0, cout, cin, kh * kw, ind, wp, c, cout * 4, relu ? 1 : 0);
            }
            ar.checkGuards();
            const got = ar.read(c, M * cout);
            const what = `f32-igemm-${tile}x8-${isa} ${describeShape(s)} T=${T}`;
            checkAgainst(got, want.data, BOUNDS.conv, what);
            if (first) expectBitEqual(got, first, what);
            else first = got;
            if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
              // 1x1 stride 1: plain GEMM on the input rows gives the same bits.
              const c2 = ar.out(M * cout);
              k.f32_gemm_run(tile, 0, M, 0, cout, cin, x, cin * 4, wp, c2, cout * 4, relu ? 1 : 0);
              ar.checkGuards();
              expectBitEqual(ar.read(c2, M * cout), got, `${what} as GEMM`);
            }
          }
        }
      }
    }
  });
});

type K = KernelExports;

/** The f32 Winograd forms: output tile n, E = (n + 2)^2 GEMMs, the kernels of each. */
const WINOGRAD_FORMS = [
  {
    n: 2,
    bound: BOUNDS.conv,
    names: ["f32_wino_input", "f32_wino_output"],
    pack: (k: K, ...a: Parameters<K["f32_wino_pack_weights"]>) => k.f32_wino_pack_weights(...a),
    input: (k: K, ...a: Parameters<K["f32_wino_input"]>) => k.f32_wino_input(...a),
    output: (k: K, ...a: Parameters<K["f32_wino_output"]>) => k.f32_wino_output(...a),
  },
  {
    n: 4,
    bound: BOUNDS.wino4,
    names: ["f32_wino4_input", "f32_wino4_output"],
    pack: (k: K, ...a: Parameters<K["f32_wino4_pack_weights"]>) => k.f32_wino4_pack_weights(...a),
    input: (k: K, ...a: Parameters<K["f32_wino4_input"]>) => k.f32_wino4_input(...a),
    output: (k: K, ...a: Parameters<K["f32_wino4_output"]>) => k.f32_wino4_output(...a),
  },
];

for (const form of WINOGRAD_FORMS) {
  const { n } = form;
  const E = (n + 2) ** 2;
  describe(`f32 conv 3x3 via Winograd F(${n}x${n},3x3) (${form.names[0]}, ${E} x f32-gemm-MRx8, ${form.names[1]})`, () => {
    it(`odd image sizes and channel counts match float64 within NMSE ${form.bound}, all variants bit-identical`, () => {
      const rand = mulberry32(31);
      const ar = new GuardedArena(rand);
      const shapes = winogradShapes(31, 25, undefined, n === 4 ? RESNET_3X3_SHAPES : []);
      for (const [trial, s] of shapes.entries()) {
        const { h, w, cin, cout } = s;
        const relu = trial % 2 === 1;
        const X = randn(h * w * cin, rand);
        const Wt = randn(9 * cin * cout, rand, 0.4);
        const bias = randn(cout, rand, 0.1);
        const want = refConv2d(
          { shape: [h, w, cin], data: Float64Array.from(X) },
          Wt,
          bias,
          [3, 3],
          [1, 1],
          "same",
          cout,
          relu,
        );
        const tw = Math.ceil(w / n);
        const T = Math.ceil(h / n) * tw;
        const panel = Math.ceil(cout / 8) * (cin + 1) * 32;
        const big = cin * cout > 4096;
        let first: Float32Array | undefined;
        for (const isa of ISAS) {
          for (const tile of big ? [4] : [1, 4, 5, 7]) {
            for (const parts of THREAD_SPLITS) {
              ar.reset();
              const k = ar.k[isa];
              const x = ar.floats(X);
              const src = ar.floats(Wt);
              const bs = ar.floats(bias);
              const wp = ar.alloc(E * panel);
              ar.u8.fill(0, wp, wp + E * panel);
              form.pack(k, cin, cout, src, wp);
              const v = ar.out(E * T * cin);
              const m = ar.out(E * T * cout);
              const y = ar.out(h * w * cout);
              for (let t = 0; t < parts; t++) {
                const [t0, t1] = splitRange(T, parts, t);
                if (t0 < t1) form.input(k, h, w, cin, tw, x, v, T * cin * 4, t0, t1);
              }
              for (let t = 0; t < parts; t++) {
                const [n0, n1] = splitRange(cout, parts, t, 8);
                for (let e = 0; e < E && n0 < n1; e++)
                  k.f32_gemm_run(
                    tile,
                    0,
                    T,
                    n0,
                    n1,
                    cin,
                    v + e * T * cin * 4,
                    cin * 4,
                    wp + e * panel,
                    m + e * T * cout * 4,
                    cout * 4,
                    0,
                  );
              }
              for (let t = 0; t < parts; t++) {
                const [t0, t1] = splitRange(T, parts, t);
                if (t0 < t1) form.output(k, h, w, cout, tw, m, T * cout * 4, bs, y, relu ? 1 : 0, t0, t1);
              }
              ar.checkGuards();
              const got = ar.read(y, h * w * cout);
              const what = `f32-wino${n}x${n}-${tile}x8-${isa} ${describeShape(s)} relu=${relu} T=${parts}`;
              checkAgainst(got, want.data, form.bound, what);
              if (first) expectBitEqual(got, first, what);
              else first = got;
            }
          }
        }
      }
    });
  });
}

describe("f32 max pool (f32-maxpool-wasmsimd / scalar)", () => {
  it("random windows, strides, paddings and channel counts are exact", () => {
    const rand = mulberry32(5);
    const ar = new GuardedArena(rand);
    for (const s of kernelShapes(5, 30)) {
      const { h, w, cin: c, kh, kw, sh, sw, padding } = s;
      const X = randn(h * w * c, rand);
      const want = refMaxPool({ shape: [h, w, c], data: Float64Array.from(X) }, [kh, kw], [sh, sw], padding);
      const [oh, ow] = want.shape as [number, number];
      const ph = padding1d(padding, h, kh, sh);
      const pw = padding1d(padding, w, kw, sw);
      for (const isa of ISAS) {
        for (const T of THREAD_SPLITS) {
          ar.reset();
          const x = ar.floats(X);
          const y = ar.out(oh * ow * c);
          for (let t = 0; t < T; t++) {
            const [p0, p1] = splitRange(oh * ow, T, t);
            if (p0 < p1)
              ar.k[isa].f32_maxpool(h, w, c, ow, kh, kw, sh, sw, ph.before, pw.before, x, y, p0, p1);
          }
          ar.checkGuards();
          const got = ar.read(y, oh * ow * c);
          checkAgainst(got, want.data, BOUNDS.maxpool, `maxpool ${isa} ${describeShape(s)} T=${T}`);
        }
      }
    }
  });
});

describe("f32 add (+ReLU), global average pool, softmax", () => {
  it("add: odd lengths, ReLU on and off, split ranges", () => {
    const rand = mulberry32(9);
    const ar = new GuardedArena(rand);
    for (const [trial, s] of kernelShapes(9, 20).entries()) {
      const n = s.oh * s.ow * s.cout;
      const relu = trial % 2 === 1;
      const A = randn(n, rand);
      const B = randn(n, rand);
      const want = refAdd(
        { shape: [n], data: Float64Array.from(A) },
        { shape: [n], data: Float64Array.from(B) },
        relu,
      );
      for (const isa of ISAS)
        for (const T of THREAD_SPLITS) {
          ar.reset();
          const a = ar.floats(A);
          const b = ar.floats(B);
          const y = ar.out(n);
          for (let t = 0; t < T; t++) {
            const [i0, i1] = splitRange(n, T, t, 16);
            if (i0 < i1) ar.k[isa].f32_vadd(i0, i1, a, b, y, relu ? 1 : 0);
          }
          ar.checkGuards();
          checkAgainst(ar.read(y, n), want.data, BOUNDS.add, `add ${isa} n=${n}`);
        }
    }
  });

  it("gap: odd pixel and channel counts", () => {
    const rand = mulberry32(10);
    const ar = new GuardedArena(rand);
    // Every shape of the table, the large one-channel stem maps included: a mean near zero is
    // ill-conditioned in relative terms, so the bound is element-wise, in units of sum |x|.
    for (const s of kernelShapes(10, 20)) {
      const { h, w, cin: c } = s;
      const X = randn(h * w * c, rand);
      const want = refGap({ shape: [h, w, c], data: Float64Array.from(X) });
      let first: Float32Array | undefined;
      for (const isa of ISAS)
        for (const T of THREAD_SPLITS) {
          ar.reset();
          const x = ar.floats(X);
          const y = ar.out(c);
          for (let t = 0; t < T; t++) {
            const [c0, c1] = splitRange(c, T, t, 4);
            if (c0 < c1) ar.k[isa].f32_gap(h * w, c, x, y, c0, c1);
          }
          ar.checkGuards();
          const got = ar.read(y, c);
          checkGapAgainst(got, X, h * w, want.data, `gap ${isa} ${describeShape(s)}`);
          if (first) expectBitEqual(got, first, `gap ${isa} T=${T}`);
          else first = got;
        }
    }
  });

  it("softmax: odd lengths and wide value ranges, SIMD and scalar bit-identical", () => {
    const rand = mulberry32(12);
    const ar = new GuardedArena(rand);
    for (let trial = 0; trial < 40; trial++) {
      const n = int(rand, 1, 41);
      const X = randn(n, rand, trial % 4 === 0 ? 80 : 6);
      const want: RefTensor = refSoftmax({ shape: [n], data: Float64Array.from(X) });
      let first: Float32Array | undefined;
      for (const isa of ISAS) {
        ar.reset();
        const x = ar.floats(X);
        const y = ar.out(n);
        ar.k[isa].f32_softmax(n, x, y);
        ar.checkGuards();
        const got = ar.read(y, n);
        checkAgainst(got, want.data, BOUNDS.softmax, `softmax ${isa} n=${n}`);
        if (first) expectBitEqual(got, first, `softmax ${isa}`);
        else first = got;
      }
    }
  });
});
