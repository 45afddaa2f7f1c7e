/**
 * Fused multiply-add (f32x4.relaxed_madd): the fusion self-check's exact reference, cases and
 * verdict (fake unfused and wrong tiers included), the check against the module it hands out
 * (before and after V8 could tier it up), f32_fma_peak's loop, and the FMA GEMM drivers
 * (f32-fma-gemm, f32-fma-igemm, f16w-fma-igemm, f16w-fma-wino) against the float64 reference
 * element by element, over every tile, edge tiles and thread splits, bit-identical across splits.
 */
import { describe, expect, it } from "vitest";
import { splitRange } from "../dist/executor.js";
import { f16ToF32, toF16Array } from "../dist/f16.js";
import {
  checkFmaTier,
  exactFmaF32,
  type FmaTierCheck,
  fmaCheckCases,
  fmaVerdict,
  unfusedF32,
} from "../dist/fma-check.js";
import { mulberry32 } from "../dist/random.js";
import {
  fmaLanes,
  fmaStatus,
  instantiateRelaxed,
  type RelaxedKernelExports,
  relaxedKernelModule,
} from "../dist/relaxed.js";
import { createMemory, GEMM_TILES } from "../dist/wasm.js";
import { GuardedArena } from "./guarded-arena.js";

const U = 2 ** -24;

describe("fused multiply-add self-check", () => {
  it("exactFmaF32 rounds a*b+c once: equal to float64 where that is exact, ties to even, subnormals, overflow", () => {
    const rand = mulberry32(5);
    // a, b with 12-bit significands: a*b has at most 24 bits, a*b + c (exponents within 16) at
    // most 41, exact in float64; one Math.fround is then the single rounding.
    const short = (e: number) => (rand() < 0.5 ? -1 : 1) * (2048 + Math.floor(rand() * 2048)) * 2 ** (e - 11);
    for (let i = 0; i < 2000; i++) {
      const e = Math.floor(rand() * 16) - 8;
      const a = short(e);
      const b = short(-e + Math.floor(rand() * 4));
      const c = Math.fround((rand() * 2 - 1) * 2 ** Math.floor(rand() * 8));
      expect(exactFmaF32(a, b, c)).toBe(Math.fround(a * b + c));
    }
    // 1 + 2^-24 (a tie between 1 and 1 + 2^-23) rounds to 1; 1 + 3 * 2^-24 to 1 + 2^-22 (even).
    expect(exactFmaF32(1 + 2 ** -12, 2 ** -12, 1)).toBe(1 + 2 ** -12); // + 2^-24: a tie, to even
    expect(exactFmaF32(2 ** -12, 2 ** -12, 1)).toBe(1);
    expect(exactFmaF32(3 * 2 ** -13, 2 ** -11, 1)).toBe(1 + 2 ** -22);
    expect(exactFmaF32(2 ** -75, 2 ** -75, 0)).toBe(0); // 2^-150: a tie, to the even 0
    expect(exactFmaF32(3 * 2 ** -76, 2 ** -75, 0)).toBe(2 ** -149); // 1.5 * 2^-150 rounds up
    expect(exactFmaF32(2 ** 127, 4, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(exactFmaF32(-1, 0, -0), -0)).toBe(true);
    expect(Object.is(exactFmaF32(1, 1, -1), 0)).toBe(true);
  });

  it("every lane of every case has a fused result that differs from the unfused one", () => {
    const cases = fmaCheckCases();
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const t of cases) {
      expect(t.a.length % 4).toBe(0);
      for (let i = 0; i < t.a.length; i++) {
        const fused = exactFmaF32(t.a[i]!, t.b[i]!, t.c[i]!);
        expect(Object.is(fused, unfusedF32(t.a[i]!, t.b[i]!, t.c[i]!)), `${t.name} lane ${i}`).toBe(false);
        expect(Math.fround(fused)).toBe(fused);
      }
    }
  });

  const laneWise =
    (f: (a: number, b: number, c: number) => number) => (a: Float32Array, b: Float32Array, c: Float32Array) =>
      Float32Array.from(a, (x, i) => f(x, b[i]!, c[i]!));

  it("a tier that rounds twice fails the check, and the verdict declines the FMA kernels", () => {
    const unfused = checkFmaTier("liftoff", laneWise(unfusedF32));
    expect(unfused.wrongLanes).toBe(unfused.lanes);
    expect(unfused.unfusedLanes).toBe(unfused.lanes);
    expect(unfused.mismatches.length).toBe(8);
    const fused = checkFmaTier("turbofan", laneWise(exactFmaF32));
    expect(fused.wrongLanes).toBe(0);
    // Wrong in another way (neither rounding): counted, not as unfused.
    const off = checkFmaTier(
      "turbofan",
      laneWise((a, b, c) => exactFmaF32(a, b, c) * 2 + 1),
    );
    expect(off.wrongLanes).toBe(off.lanes);
    expect(off.unfusedLanes).toBe(0);

    const asTier = (c: FmaTierCheck, tier: "liftoff" | "turbofan") => ({ ...c, tier });
    const v = (lo: FmaTierCheck, tf: FmaTierCheck, liftoffRuns: boolean) =>
      fmaVerdict(asTier(lo, "liftoff"), asTier(tf, "turbofan"), liftoffRuns);
    expect(v(fused, fused, true)).toEqual({
      usable: true,
      reason: "f32x4.relaxed_madd is fused in Liftoff and TurboFan",
    });
    expect(v(fused, unfused, true).usable).toBe(false);
    expect(v(fused, unfused, true).reason).toContain(
      `rounds twice (unfused) in ${unfused.lanes} of ${unfused.lanes} lanes in the optimizing tier`,
    );
    expect(v(fused, unfused, false).usable).toBe(false);
    expect(v(unfused, fused, true).usable).toBe(false);
    expect(v(unfused, fused, true).reason).toMatch(/fused in TurboFan but rounds twice .* in Liftoff/);
    expect(v(unfused, fused, false).usable).toBe(true); // Liftoff turned off: only TurboFan runs
    expect(v(fused, off, true).reason).toMatch(/differs from the fused result/);
  });

  const status = fmaStatus();

  it("the verdict follows the per-tier results of this host", () => {
    if (status.tiers.length === 0) {
      expect(status.usable).toBe(false);
      return;
    }
    expect(status.tiers.map((t) => t.tier)).toEqual(["liftoff", "turbofan"]);
    const [lo, tf] = status.tiers as [FmaTierCheck, FmaTierCheck];
    if (tf.wrongLanes > 0) expect(status.usable).toBe(false);
    if (lo.wrongLanes === 0 && tf.wrongLanes === 0) expect(status.usable).toBe(true);
    if (status.usable) expect(relaxedKernelModule()).not.toBeNull();
  });

  it.runIf(status.usable)(
    "the module handed out is fused on every case, also after 300 000 calls (tier-up)",
    () => {
      const mem = createMemory(1 << 16);
      const k = instantiateRelaxed(relaxedKernelModule()!, mem);
      const run = fmaLanes(k, mem);
      expect(checkFmaTier("turbofan", run).wrongLanes).toBe(0);
      const one = fmaCheckCases()[0]!; // 4 lanes: run places a, b, c at 4096, +16, +32, out at +48
      run(one.a, one.b, one.c);
      for (let i = 0; i < 300_000; i++) k.relaxed_fma_check(4096, 4096 + 16, 4096 + 32, 4096 + 48, 1);
      expect(checkFmaTier("turbofan", run).wrongLanes).toBe(0);
    },
  );

  it.runIf(status.usable)("f32_fma_peak computes its loop with one rounding per step", () => {
    const k = instantiateRelaxed(relaxedKernelModule()!, createMemory(1 << 16));
    const f = Math.fround;
    for (const [iters, seed] of [
      [0, 0.5],
      [1, 0.25],
      [37, -1.5],
    ] as const) {
      const b = f(0.999999);
      const a = Array.from({ length: 12 }, (_, i) => f(seed + i));
      for (let n = 0; n < iters; n++) for (let i = 0; i < 12; i++) a[i] = exactFmaF32(a[i]!, b, seed);
      const p = (i: number, j: number) => f(a[i]! + a[j]!);
      const s = f(f(p(0, 1) + p(2, 3)) + f(p(4, 5) + p(6, 7)));
      const t = f(s + f(p(8, 9) + p(10, 11)));
      expect(k.f32_fma_peak(iters, seed)).toBe(f(f(f(t + t) + t) + t));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The FMA GEMM drivers against float64

/**
 * Element bound of an f32 dot product bias + sum_k a_k b_k of K terms evaluated with one rounding
 * per step (K fused multiply-adds onto the bias): gamma_K * (|bias| + sum |a_k b_k|) (Higham, 3.1,
 * with fused steps), the inputs' own f32 values taken as exact (the reference gets the same),
 * and one more unit roundoff for a ReLU of 0 or the store.
 */
function fmaBound(K: number, absSum: number): number {
  const gamma = (K * U) / (1 - K * U);
  return gamma * absSum + U * absSum;
}

function randn(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** GEMM shapes: edge tiles (M not a multiple of any tile), N not a multiple of 8, K = 1, long K. */
function gemmShapes(rand: () => number): [number, number, number][] {
  const fixed: [number, number, number][] = [
    [1, 1, 1],
    [7, 8, 1],
    [13, 17, 5],
    [6, 24, 64],
    [43, 9, 300],
    [29, 40, 1000],
  ];
  const random = Array.from({ length: 12 }, (): [number, number, number] => [
    1 + Math.floor(rand() * 50),
    1 + Math.floor(rand() * 40),
    1 + Math.floor(rand() * 200),
  ]);
  return [...fixed, ...random];
}

/** Thread t of T's share as the executor splits a GEMM: rows in tile granules, or panels of 8 columns. */
function share(
  byRows: boolean,
  M: number,
  N: number,
  tile: number,
  T: number,
  t: number,
): [number, number, number, number] {
  if (byRows) return [...splitRange(M, T, t, tile), 0, N] as [number, number, number, number];
  return [0, M, ...splitRange(N, T, t, 8)] as [number, number, number, number];
}

interface GemmCase {
  M: number;
  N: number;
  K: number;
  /** Rows of A (each K values); igemm: rows gathered by `rows` (ks per output row). */
  A: Float32Array;
  W: Float32Array;
  bias: Float32Array;
  relu: number;
}

/** float64 C = A W + bias (+ReLU) and each element's bound. */
function reference(
  t: GemmCase,
  rowOf: (m: number) => Float32Array,
): { want: Float64Array; bound: Float64Array } {
  const { M, N, K, W, bias } = t;
  const want = new Float64Array(M * N);
  const bound = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const a = rowOf(m);
    for (let n = 0; n < N; n++) {
      let s = bias[n]!;
      let abs = Math.abs(bias[n]!);
      for (let k = 0; k < K; k++) {
        s += a[k]! * W[k * N + n]!;
        abs += Math.abs(a[k]! * W[k * N + n]!);
      }
      want[m * N + n] = t.relu ? Math.max(0, s) : s;
      bound[m * N + n] = fmaBound(K, abs);
    }
  }
  return { want, bound };
}

function expectWithin(
  got: Float32Array,
  r: { want: Float64Array; bound: Float64Array },
  what: string,
): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - r.want[i]!);
    if (!(err <= r.bound[i]!))
      throw new Error(
        `${what}: element ${i} = ${got[i]}, float64 ${r.want[i]}, error ${err} > bound ${r.bound[i]}`,
      );
    if (r.bound[i]! > 0) worst = Math.max(worst, err / r.bound[i]!);
  }
  return worst;
}

function expectSameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++)
    if (ua[i] !== ub[i]) throw new Error(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

const SPLITS = [1, 2, 3];

describe.runIf(fmaStatus().usable)("FMA GEMM drivers (f32x4.relaxed_madd) against float64", () => {
  const rand = mulberry32(31);
  const ar = new GuardedArena(rand);
  const rk: RelaxedKernelExports = instantiateRelaxed(relaxedKernelModule()!, ar.memory);
  const simd = ar.k.wasmsimd;

  it("f32-fma-gemm: every tile, edge tiles, 1/2/3 splits by rows and by columns, within gamma_K; splits bit-identical", () => {
    for (const [trial, [M, N, K]] of gemmShapes(rand).entries()) {
      const t: GemmCase = {
        M,
        N,
        K,
        A: randn(M * K, rand),
        W: randn(K * N, rand, 0.5),
        bias: randn(N, rand, 0.2),
        relu: trial % 2,
      };
      const ref = reference(t, (m) => t.A.subarray(m * K, m * K + K));
      for (const tile of GEMM_TILES) {
        let first: Float32Array | undefined;
        for (const T of SPLITS) {
          ar.reset();
          const a = ar.floats(t.A);
          const w = ar.alloc(Math.ceil(N / 8) * (K + 1) * 32);
          simd.f32_pack_weights(K, N, ar.floats(t.W), ar.floats(t.bias), w);
          const c = ar.out(M * N);
          for (let p = 0; p < T; p++) {
            const [m0, m1, n0, n1] = share(trial % 3 !== 2, M, N, tile, T, p);
            if (m0 < m1 && n0 < n1)
              rk.f32_fma_gemm_run(tile, m0, m1, n0, n1, K, a, K * 4, w, c, N * 4, t.relu);
          }
          ar.checkGuards();
          const got = ar.read(c, M * N);
          const what = `f32-fma-gemm-${tile}x8 M=${M} N=${N} K=${K} relu=${t.relu} T=${T}`;
          expectWithin(got, ref, what);
          if (first) expectSameBits(got, first, what);
          else first = got;
        }
      }
    }
  });

  /**
   * An IGEMM case: ks taps of kc channels per output row, each tap a pointer into a pool of rows
   * (or the zero row). `halves`: weights rounded to f16 (the float64 reference gets their values).
   */
  function igemmCase(M: number, N: number, kc: number, ks: number, relu: number, f16 = false) {
    const poolRows = 1 + Math.floor(rand() * 2 * M);
    const pool = randn(poolRows * kc, rand);
    const taps = Int32Array.from({ length: M * ks }, () => Math.floor(rand() * (poolRows + 1)) - 1); // -1: the zero row
    const rowOf = (m: number) => {
      const r = new Float32Array(ks * kc);
      for (let s = 0; s < ks; s++) {
        const p = taps[m * ks + s]!;
        if (p >= 0) r.set(pool.subarray(p * kc, p * kc + kc), s * kc);
      }
      return r;
    };
    const halves = toF16Array(randn(ks * kc * N, rand, 0.4));
    const W = f16 ? Float32Array.from(halves, f16ToF32) : randn(ks * kc * N, rand, 0.4);
    const t: GemmCase = { M, N, K: ks * kc, A: pool, W, bias: randn(N, rand, 0.1), relu };
    return { t, taps, halves, ref: reference(t, rowOf) };
  }

  /** The pool, a zero row and the indirection table (ks addresses per output row) in the arena. */
  function placeIndirection(kc: number, pool: Float32Array, taps: Int32Array): number {
    const x = ar.floats(pool);
    const zero = ar.floats(new Float32Array(kc));
    const ind = ar.alloc(taps.length * 4);
    taps.forEach((p, i) => {
      ar.u32[(ind >>> 2) + i] = p < 0 ? zero : x + p * kc * 4;
    });
    return ind;
  }

  it("f32-fma-igemm: random indirection (zero-row padding), every tile, 1/2/3 splits, within gamma_K; splits bit-identical", () => {
    for (const [trial, [M, N, kc]] of gemmShapes(rand).entries()) {
      const ks = [1, 2, 9, 7][trial % 4]!;
      const { t, taps, ref } = igemmCase(M, N, Math.min(kc, 120), ks, trial % 2);
      for (const tile of GEMM_TILES) {
        let first: Float32Array | undefined;
        for (const T of SPLITS) {
          ar.reset();
          const ind = placeIndirection(t.K / ks, t.A, taps);
          const w = ar.alloc(Math.ceil(N / 8) * (t.K + 1) * 32);
          simd.f32_pack_weights(t.K, N, ar.floats(t.W), ar.floats(t.bias), w);
          const c = ar.out(M * N);
          for (let p = 0; p < T; p++) {
            const [m0, m1, n0, n1] = share(trial % 3 !== 2, M, N, tile, T, p);
            if (m0 < m1 && n0 < n1)
              rk.f32_fma_igemm_run(tile, m0, m1, n0, n1, t.K / ks, ks, ind, w, c, N * 4, t.relu);
          }
          ar.checkGuards();
          const got = ar.read(c, M * N);
          const what = `f32-fma-igemm-${tile}x8 M=${M} N=${N} kc=${t.K / ks} ks=${ks} T=${T}`;
          expectWithin(got, ref, what);
          if (first) expectSameBits(got, first, what);
          else first = got;
        }
      }
    }
  });

  it("f16w-fma-igemm: f16 weights widened per block (several blocks for wide layers), within gamma_K of float64 on the widened weights", () => {
    const shapes: [number, number, number, number][] = [
      [9, 13, 5, 9],
      [37, 300, 40, 9], // 300 columns of K = 360: several widened blocks
      [20, 8, 64, 1],
      [1, 1, 1, 1],
      [50, 33, 17, 4],
    ];
    for (const [trial, [M, N, kc, ks]] of shapes.entries()) {
      const { t, taps, halves, ref } = igemmCase(M, N, kc, ks, trial % 2, true);
      for (const tile of [1, 4, 6, 7]) {
        let first: Float32Array | undefined;
        for (const T of SPLITS) {
          ar.reset();
          const ind = placeIndirection(kc, t.A, taps);
          const w = ar.alloc(Math.ceil(N / 8) * (32 + t.K * 16));
          simd.f16_pack_weights(t.K, N, ar.bytes(halves), ar.floats(t.bias), w);
          const panel32 = (t.K + 1) * 32;
          const sb = Math.min(Math.ceil(N / 8), Math.max(1, Math.floor(131072 / panel32))) * panel32;
          const scratch = ar.alloc(sb * T);
          const c = ar.out(M * N);
          for (let p = 0; p < T; p++) {
            const [m0, m1, n0, n1] = share(trial % 2 === 0, M, N, tile, T, p);
            if (m0 < m1 && n0 < n1)
              rk.f32_f16w_fma_igemm_run(
                tile,
                m0,
                m1,
                n0,
                n1,
                kc,
                ks,
                ind,
                w,
                c,
                N * 4,
                t.relu,
                scratch + p * sb,
              );
          }
          ar.checkGuards();
          const got = ar.read(c, M * N);
          const what = `f16w-fma-igemm-${tile}x8 M=${M} N=${N} kc=${kc} ks=${ks} T=${T}`;
          expectWithin(got, ref, what);
          if (first) expectSameBits(got, first, what);
          else first = got;
        }
      }
    }
  });

  it("f16w-fma-wino: the 16 GEMMs V_e U_e within gamma_cin of float64 on the transformed widened weights; splits bit-identical", () => {
    const shapes: [number, number, number][] = [
      [6, 5, 9], // tiles, cin, cout
      [20, 40, 300], // several blocks of panels
      [7, 600, 20], // one panel a block
      [1, 1, 1],
    ];
    for (const [trial, [tiles, cin, cout]] of shapes.entries()) {
      const halves = toF16Array(randn(9 * cin * cout, rand, 0.4));
      const V = randn(16 * tiles * cin, rand);
      // U_e: the f32 Winograd weight transform of the widened weights (bit-identical to the
      // per-block transform from f16, quant-kernels.test.ts), read back from its panels.
      ar.reset();
      const panels = Math.ceil(cout / 8);
      const eBytes = panels * (cin + 1) * 32;
      const wp = ar.alloc(16 * eBytes);
      ar.u8.fill(0, wp, wp + 16 * eBytes);
      simd.f32_wino_pack_weights(cin, cout, ar.floats(Float32Array.from(halves, f16ToF32)), wp);
      const U = Array.from({ length: 16 }, (_, e) => {
        const u = new Float32Array(cin * cout);
        for (let p = 0; p < panels; p++)
          for (let k = 0; k < cin; k++)
            for (let j = 0; j < 8 && p * 8 + j < cout; j++)
              u[k * cout + p * 8 + j] =
                ar.f32[((wp + e * eBytes + p * (cin + 1) * 32 + 32 + k * 32) >>> 2) + j]!;
        return u;
      });
      const refs = U.map((u, e) =>
        reference({ M: tiles, N: cout, K: cin, A: V, W: u, bias: new Float32Array(cout), relu: 0 }, (m) =>
          V.subarray((e * tiles + m) * cin, (e * tiles + m + 1) * cin),
        ),
      );
      for (const tile of [1, 4, 6]) {
        let first: Float32Array | undefined;
        for (const T of SPLITS) {
          ar.reset();
          const w = ar.alloc(panels * (32 + 9 * cin * 16));
          simd.f16_pack_weights(9 * cin, cout, ar.bytes(halves), ar.floats(new Float32Array(cout)), w);
          const sb = simd.f16_wino_scratch_bytes(cin, cout);
          const scratch = ar.alloc(sb * T);
          const v = ar.floats(V);
          const m = ar.out(16 * tiles * cout);
          for (let p = 0; p < T; p++) {
            const [m0, m1, n0, n1] = share(trial % 2 === 1, tiles, cout, tile, T, p);
            if (m0 < m1 && n0 < n1)
              rk.f32_f16w_fma_wino_gemm_run(
                tile,
                m0,
                m1,
                n0,
                n1,
                cin,
                cout,
                v,
                tiles * cin * 4,
                w,
                m,
                tiles * cout * 4,
                scratch + p * sb,
              );
          }
          ar.checkGuards();
          const got = ar.read(m, 16 * tiles * cout);
          const what = `f16w-fma-wino-${tile}x8 tiles=${tiles} cin=${cin} cout=${cout} T=${T}`;
          for (let e = 0; e < 16; e++)
            expectWithin(got.subarray(e * tiles * cout, (e + 1) * tiles * cout), refs[e]!, `${what} e=${e}`);
          if (first) expectSameBits(got, first, what);
          else first = got;
        }
      }
    }
  });
});
